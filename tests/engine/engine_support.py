"""Shared helpers for the engine tests: the upstream sample data and small cluster builders."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from rainbow.graph import build_index, parse_graph, parse_subsystem
from rainbow.graph.generate import NodeKind, make_graph, make_subsystem
from rainbow.jobspec import parse_jobspec
from rainbow.match import Matcher
from rainbow.match.reference import ReferenceMatcher

UPSTREAM = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "upstream"


def upstream_text(name: str) -> str:
    return (UPSTREAM / name).read_text(encoding="utf-8")


def upstream_json(name: str) -> Any:
    return json.loads(upstream_text(name))


def index_of(doc: Mapping, subsystems: Mapping[str, Mapping] | None = None):
    graph = parse_graph(dict(doc))
    subs = {name: parse_subsystem(dict(sub), name, graph) for name, sub in (subsystems or {}).items()}
    return build_index(graph, subs)


def both(doc: Mapping, jobspec: Any, subsystems: Mapping[str, Mapping] | None = None) -> tuple[bool, bool, str]:
    """(index matcher verdict, reference verdict, reason) for one cluster."""
    graph = parse_graph(dict(doc))
    subs = {name: parse_subsystem(dict(sub), name, graph) for name, sub in (subsystems or {}).items()}
    request = parse_jobspec(jobspec)
    matcher = Matcher()
    matcher.set("c", build_index(graph, subs))
    matched, reasons = matcher.match(request)
    return bool(matched), ReferenceMatcher(graph, subs).fits(request), reasons.get("c", "")


__all__ = ["NodeKind", "UPSTREAM", "both", "index_of", "make_graph", "make_subsystem", "upstream_json",
           "upstream_text"]
