"""Lenient semantic versions for subsystem `min`/`max` ranges (`1`, `1.2`, `v1.2.3` are all versions)."""
from __future__ import annotations

import functools
import re

_VERSION = re.compile(
    r"^[vV]?(?P<major>0|[1-9]\d*|\d+)(?:\.(?P<minor>\d+))?(?:\.(?P<patch>\d+))?"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)


@functools.lru_cache(maxsize=8192)
def parse(text: str) -> tuple | None:
    """A sortable key for `text`, or None when it is not a version; pre-releases sort before their release."""
    found = _VERSION.match(text.strip())
    if not found:
        return None
    try:
        core = (int(found["major"]), int(found["minor"] or 0), int(found["patch"] or 0))
        pre = found["pre"]
        if pre is None:
            return core + (1, ())
        ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    except ValueError:  # more digits than Python converts to an int: not a version anyone means
        return None
    return core + (0, ids)


def is_prerelease(key: tuple) -> bool:
    return key[3] == 0


def in_range(value: str, low: str | None, high: str | None) -> bool:
    """Inclusive range check; a pre-release only satisfies a range whose bounds themselves name a pre-release."""
    key = parse(value)
    if key is None:
        return False
    bounds = [parse(b) for b in (low, high) if b is not None]
    if is_prerelease(key) and not any(b is not None and is_prerelease(b) for b in bounds):
        return False
    low_key = parse(low) if low is not None else None
    high_key = parse(high) if high is not None else None
    if low_key is not None and key < low_key:
        return False
    if high_key is not None and key > high_key:
        return False
    return True
