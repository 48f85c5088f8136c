"""The CPU microarchitecture (archspec's name for it) of the node at a host root.

archspec's `host()` inspects the machine Python runs on; we need the node behind the host root, which may be
another architecture (a recorded POWER node read on x86). archspec reads that machine through three names in its
`detect` module: `open` (for /proc/cpuinfo), `_machine()` (uname -m) and `platform` (the operating system). For
the length of one detection we point those names at the node, and run archspec's own detection unchanged: its
cpuinfo parser, its compatibility checks per family and its choice of the most specific target.

Outside Linux (a laptop without /proc/cpuinfo) the partial description comes from py-cpuinfo instead of a
cpuinfo file; the rest is archspec's again.

The swap changes module globals, so detections must not run in parallel threads; extraction runs them one at a
time.
"""
from __future__ import annotations

import contextlib
import io
import threading
import types
from dataclasses import dataclass
from typing import Any, Callable, Iterator

_LOCK = threading.Lock()


@dataclass(frozen=True)
class Target:
    name: str
    #: x86_64: the best generic level (x86_64_v3...); other families: the family name (aarch64, ppc64le...).
    generic: str


@contextlib.contextmanager
def _node_view(machine: str, cpuinfo_text: str = "", info: Any = None, system: str = "Linux") -> Iterator[Any]:
    """archspec's detect module, seeing the node: its uname machine, its cpuinfo (or a description made from
    py-cpuinfo), its operating system."""
    from archspec.cpu import detect

    def opener(path: str, *args: Any, **kwargs: Any) -> io.StringIO:
        if path != "/proc/cpuinfo":
            raise FileNotFoundError(path)
        return io.StringIO(cpuinfo_text)

    saved = {name: detect.__dict__.get(name) for name in ("open", "_machine", "platform", "detected_info")}
    replacements: dict[str, Callable[..., Any] | types.SimpleNamespace] = {
        "open": opener,
        "_machine": lambda: machine,
        "platform": types.SimpleNamespace(system=lambda: system, machine=lambda: machine),
    }
    if info is not None:
        replacements["detected_info"] = lambda: info
    with _LOCK:
        try:
            detect.__dict__.update(replacements)
            yield detect
        finally:
            for name, value in saved.items():
                if value is None:
                    detect.__dict__.pop(name, None)
                else:
                    detect.__dict__[name] = value


def _target(chosen: Any) -> Target:
    family = str(chosen.family)
    if family != "x86_64":
        return Target(chosen.name, family)
    generic = max((t for t in [chosen, *chosen.ancestors] if t.vendor == "generic"),
                  key=lambda t: (len(t.ancestors), len(t.features)))
    return Target(chosen.name, generic.name)


def from_cpuinfo(machine: str, cpuinfo_text: str) -> Target:
    """The target archspec detects on a Linux machine `machine` whose /proc/cpuinfo reads `cpuinfo_text`."""
    with _node_view(machine, cpuinfo_text) as detect:
        chosen = detect.host.__wrapped__()  # the uncached detection: host() caches the running machine's
    return _target(chosen)


def from_description(machine: str, system: str, vendor: str, features: set[str], brand: str = "") -> Target:
    """The target archspec picks for a CPU that py-cpuinfo describes (vendor, flags, brand string).

    On macOS py-cpuinfo's flags are sysctl's, and archspec reads the same sysctl keys: its own macOS readers turn
    them into a partial description (Linux flag names; the Apple M generation from the brand).
    """
    from archspec.cpu import detect

    info = None
    if system == "Darwin":
        sysctl = {"machdep.cpu.brand_string": brand, "machdep.cpu.vendor": vendor,
                  "machdep.cpu.features": " ".join(sorted(features))}
        reader = getattr(detect, "_sysctl_info_apple" if brand.startswith("Apple") else "_sysctl_info_x86_64", None)
        if reader is not None:
            info = reader(sysctl)
    if info is None:
        info = detect.partial_uarch(vendor=vendor or "generic", features={f.lower() for f in features})
    with _node_view(machine, system=system if system == "Darwin" else "Linux", info=info) as view:
        chosen = view.host.__wrapped__()
    return _target(chosen)
