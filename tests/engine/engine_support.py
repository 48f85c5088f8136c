"""Shared helpers for the engine tests: where the upstream sample data is, and the graph builders."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rainbow.graph.generate import NodeKind, make_graph, make_subsystem

UPSTREAM = Path(__file__).resolve().parents[1] / "data" / "upstream"


def upstream_text(name: str) -> str:
    return (UPSTREAM / name).read_text(encoding="utf-8")


def upstream_json(name: str) -> Any:
    return json.loads(upstream_text(name))


__all__ = ["NodeKind", "UPSTREAM", "make_graph", "make_subsystem", "upstream_json", "upstream_text"]
