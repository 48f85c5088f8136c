"""The switches and paths the reliability tests share.

`make test` runs every test here in its short variant; `make soak` sets RAINBOW_SOAK=1 and the same tests run
their long variants (more kill points, more jobs, more inputs, the 30-minute mixed load).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

SOAK = os.environ.get("RAINBOW_SOAK", "") not in ("", "0", "false", "no")

TESTS = Path(__file__).resolve().parents[1]
UPSTREAM_DATA = Path(__file__).resolve().parents[1] / "data" / "upstream"

if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))


def pick(short: T, long: T) -> T:
    """The short variant under `make test`, the long one when RAINBOW_SOAK is set."""
    return long if SOAK else short
