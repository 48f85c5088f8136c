"""The CPU microarchitecture (archspec's name for it) of the node at a host root.

archspec's own `host()` inspects the machine Python runs on; we need the node behind the host root, which may
be another architecture (a recorded arm64 node read on x86). So we feed archspec's target database with what
/proc/cpuinfo says and apply the same rules archspec uses: a target is compatible when it belongs to the node's
family, its vendor is the node's (or generic) and the node has all its features (Arm: its part number too;
POWER: its generation). The node's target is the most specific compatible target that descends from the best
generic level.
"""
from __future__ import annotations

from dataclasses import dataclass

from compspec.extractors.cpuinfo import Identity

#: archspec families, keyed by uname machine names.
FAMILIES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64",
            "ppc64le": "ppc64le", "ppc64": "ppc64", "riscv64": "riscv64"}


@dataclass(frozen=True)
class Target:
    name: str
    generic: str


def detect(machine: str, ident: Identity) -> Target:
    """Most specific archspec target and its generic level (x86_64_v3...) or family (aarch64...)."""
    family_name = FAMILIES.get(machine)
    if family_name is None:
        return Target(machine, machine)
    from archspec.cpu import TARGETS  # 30 ms to import: only sections that need a target pay for it
    from archspec.cpu.detect import partial_uarch

    family = TARGETS[family_name]
    vendor = ident.vendor  # Arm vendor names in compspec/data/arm-cpus.json are spelled as archspec spells them
    # archspec's constructor completes the flag set the way its own detection does (ssse3 implies sse3).
    features = partial_uarch(vendor=vendor, features=set(ident.features)).features

    def compatible(target) -> bool:
        if target != family and family not in target.ancestors:
            return False
        if family_name == "x86_64":
            return target.vendor in (vendor, "generic") and target.features.issubset(features)
        if family_name == "aarch64":
            if target.vendor == "generic" and target != family:
                return False
            return target.vendor in (vendor, "generic") and target.features.issubset(features)
        if family_name in ("ppc64le", "ppc64"):
            return target.generation <= ident.generation
        return target == family or target.name == ident.name_hint or target.vendor == "generic"

    candidates = [t for t in TARGETS.values() if compatible(t)] or [family]

    def depth(target) -> tuple[int, int]:
        return len(target.ancestors), len(target.features)

    best_generic = max((t for t in candidates if t.vendor == "generic"), key=depth, default=family)
    if ident.cpu_part and any(t.cpu_part == ident.cpu_part for t in candidates):
        candidates = [t for t in candidates if t.cpu_part == ident.cpu_part]
    specific = [t for t in candidates if best_generic in t.ancestors]
    chosen = max(specific, key=depth) if specific else best_generic
    generic = best_generic.name if family_name == "x86_64" else family_name
    return Target(chosen.name, generic)

