"""Lookup tables shipped as JSON files in compspec/data/ (part of the installed package)."""
from __future__ import annotations

import functools
import json
import os
from typing import Any

import compspec

# Located through the package rather than importlib.resources, which pulls tempfile and shutil into every extraction.
_DATA = os.path.join(os.path.dirname(os.path.abspath(compspec.__file__)), "data")


@functools.lru_cache(maxsize=None)
def table(name: str) -> dict[str, Any]:
    with open(os.path.join(_DATA, f"{name}.json"), encoding="utf-8") as handle:
        return json.load(handle)
