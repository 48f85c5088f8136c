"""Versions as upstream writes them (lenient semantic versions), ordered by one rule.

A version is an optional `v`, one or more dot-separated numbers (`22`, `22.04`, `4.1.5`, `2021.8.0.1`), an optional
pre-release (`1.2.0-rc.1`, or letters straight after the numbers: `4.1.2a1`) and optional build metadata after `+`
(ignored). Numbers compare as numbers (`22.04` is 22.4, so `22.10` is later), missing trailing numbers count as 0,
and a pre-release sorts before its release (numeric identifiers before alphanumeric ones, as in semver).

Two questions use that order: is a version inside an inclusive range (subsystem `min`/`max` requirements), and is
it in the series a required version names and not older (compatibility `os.version`, `mpi.version`).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_VERSION = re.compile(
    r"^[vV]?(?P<release>\d+(?:\.\d+)*)"
    r"(?:-?(?P<pre>[A-Za-z][0-9A-Za-z-]*(?:\.[0-9A-Za-z-]+)*)|-(?P<dashed>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)


@dataclass(frozen=True)
class Version:
    """A parsed version: its release numbers and its pre-release identifiers (empty for a release)."""

    release: tuple[int, ...]
    pre: tuple[tuple[int, int, str], ...] = ()

    @property
    def is_prerelease(self) -> bool:
        return bool(self.pre)

    def key(self, width: int) -> tuple:
        """A sort key comparable with other versions' keys of the same `width` (release padded with zeros)."""
        release = self.release + (0,) * (width - len(self.release))
        return release + ((0, self.pre) if self.pre else (1, ()))


@functools.lru_cache(maxsize=8192)
def parse(text: str) -> Version | None:
    """The version `text` names, or None when it is not one."""
    found = _VERSION.match(text.strip())
    if not found:
        return None
    pre_text = found["pre"] or found["dashed"]
    try:
        release = tuple(int(part) for part in found["release"].split("."))
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre_text.split(".")) if pre_text else ()
    except ValueError:  # more digits than Python converts to an int: not a version anyone means
        return None
    return Version(release, pre)


def compare(a: Version, b: Version) -> int:
    """-1, 0 or 1 as `a` is older than, the same as, or newer than `b`."""
    width = max(len(a.release), len(b.release))
    left, right = a.key(width), b.key(width)
    return (left > right) - (left < right)


def in_range(value: str, low: str | None, high: str | None) -> bool:
    """Inclusive range check; a pre-release only satisfies a range whose bounds themselves name a pre-release."""
    version = parse(value)
    if version is None:
        return False
    bounds = [parse(b) for b in (low, high) if b is not None]
    if version.is_prerelease and not any(b is not None and b.is_prerelease for b in bounds):
        return False
    low_version = parse(low) if low is not None else None
    high_version = parse(high) if high is not None else None
    if low_version is not None and compare(version, low_version) < 0:
        return False
    if high_version is not None and compare(version, high_version) > 0:
        return False
    return True


def in_series(have: str, required: str) -> bool:
    """`have` is in the series `required` names and not older: a required version of k numbers is met by a version
    whose first k-1 numbers are equal and which is at least the required one (`4.1.2` by `4.1.5`, not `4.2.0`;
    `22.04` by `22.04.3` and `22.10`, not `24.04`). Text that is not a version only meets itself."""
    want, got = parse(required), parse(have)
    if want is None or got is None:
        return have.strip() == required.strip()
    prefix = len(want.release) - 1
    padded = got.release + (0,) * max(0, prefix - len(got.release))
    return padded[:prefix] == want.release[:prefix] and compare(got, want) >= 0
