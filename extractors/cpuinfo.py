"""What the kernel says about the CPUs: /proc/cpuinfo, the sysfs topology, and the machine name.

Shared by the system and nfd extractors; each result is computed once per host.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from compspec.extractors.data import table
from compspec.extractors.host import Host

#: uname machine → the architecture name (Go/OCI style, i386 for 32-bit x86) reported in system.arch.name.
ARCH_NAMES = {
    "x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
    "i386": "i386", "i486": "i386", "i586": "i386", "i686": "i386",
    "ppc64le": "ppc64le", "ppc64": "ppc64", "s390x": "s390x", "riscv64": "riscv64",
    "armv7l": "arm", "armv6l": "arm", "loongarch64": "loong64", "mips64": "mips64",
}


def normalise_key(key: str) -> str:
    return key.strip().lower().replace(" ", "_")


def parse_cpuinfo(text: str) -> tuple[list[dict[str, str]], dict[str, str]]:
    """Split /proc/cpuinfo into one dict per processor (keys lower-cased, spaces to `_`) and the trailing
    machine-wide block some Arm kernels print (Hardware, Revision, Serial).

    Blocks are separated by blank lines; the last block counts too (upstream dropped it).
    """
    processors: list[dict[str, str]] = []
    common: dict[str, str] = {}
    current: dict[str, str] = {}

    def flush() -> None:
        if not current:
            return
        if "processor" in current and current["processor"].isdigit():
            processors.append(dict(current))
        else:
            common.update(current)
        current.clear()

    for line in text.splitlines():
        if not line.strip():
            flush()
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        current[normalise_key(key)] = value.strip()
    flush()
    return processors, common


def processors(host: Host) -> list[dict[str, str]]:
    def load() -> list[dict[str, str]]:
        text = host.read("/proc/cpuinfo")
        return parse_cpuinfo(text)[0] if text else []

    return host.cached("cpuinfo", load)


def parse_cpu_list(text: str | None) -> list[int]:
    """The kernel's CPU list format ("0-3,8-11,16") as a sorted list."""
    cpus: set[int] = set()
    for part in (text or "").strip().split(","):
        part = part.strip()
        if not part:
            continue
        first, _, last = part.partition("-")
        try:
            lo, hi = int(first), int(last or first)
        except ValueError:
            continue
        cpus.update(range(lo, hi + 1))
    return sorted(cpus)


def online_cpus(host: Host) -> list[int]:
    """CPUs the kernel has online: sysfs, else every processor in /proc/cpuinfo."""
    online = parse_cpu_list(host.value("/sys/devices/system/cpu/online"))
    if online:
        return online
    return sorted(int(p["processor"]) for p in processors(host))


def usable_cpus(host: Host) -> int:
    """Logical CPUs this process may run on (its affinity), which is what a job started here gets.

    On the live host that is sched_getaffinity; under another root, the Cpus_allowed_list recorded in
    /proc/self/status, else the online CPUs.
    """
    if host.live and hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    status = host.read("/proc/self/status") or ""
    for line in status.splitlines():
        if line.startswith("Cpus_allowed_list:"):
            allowed = parse_cpu_list(line.partition(":")[2])
            if allowed:
                return len(allowed)
    return len(online_cpus(host))


@dataclass(frozen=True)
class Topology:
    logical: int
    physical_cores: int
    sockets: int
    threads_per_core: int


def topology(host: Host) -> Topology:
    """Sockets, physical cores and SMT width of the online CPUs.

    sysfs topology first (it covers every architecture); /proc/cpuinfo's physical id / core id on x86 when sysfs
    is absent; otherwise one socket with one thread per core, which is what Arm servers without PPTT report.
    """
    return host.cached("topology", lambda: _topology(host))


def _topology(host: Host) -> Topology:
    cpus = online_cpus(host)
    pairs: dict[int, tuple[str, str]] = {}
    for cpu in cpus:
        base = f"/sys/devices/system/cpu/cpu{cpu}/topology"
        package = host.value(f"{base}/physical_package_id")
        core = host.value(f"{base}/core_id")
        if package is None or core is None:
            pairs.clear()
            break
        pairs[cpu] = ("0" if package == "-1" else package, core)
    if not pairs:
        for proc in processors(host):
            if "physical_id" in proc and "core_id" in proc:
                pairs[int(proc["processor"])] = (proc["physical_id"], proc["core_id"])
        if len(pairs) != len(processors(host)):
            pairs.clear()
    logical = len(cpus) or len(processors(host))
    if not pairs:
        return Topology(logical=logical, physical_cores=logical, sockets=1 if logical else 0, threads_per_core=1)
    per_core: dict[tuple[str, str], int] = {}
    for pair in pairs.values():
        per_core[pair] = per_core.get(pair, 0) + 1
    sockets = len({package for package, _ in per_core})
    return Topology(
        logical=logical,
        physical_cores=len(per_core),
        sockets=sockets,
        threads_per_core=max(per_core.values()),
    )


def machine(host: Host) -> str:
    """The uname machine name (x86_64, aarch64, ...) of the node at the host root."""
    return host.cached("machine", lambda: _machine(host))


def _machine(host: Host) -> str:
    if host.live:
        return os.uname().machine
    recorded = host.value("/proc/sys/kernel/arch")
    if recorded:
        return recorded
    ran = host.command("uname-m", ["uname", "-m"])
    if ran and ran.strip():
        return ran.strip().splitlines()[0].strip()
    procs = processors(host)
    first = procs[0] if procs else {}
    if "vendor_id" in first and first["vendor_id"].startswith("IBM/S390"):
        return "s390x"
    if "vendor_id" in first:
        return "x86_64" if " lm " in f" {first.get('flags', '')} " else "i686"
    if "cpu_implementer" in first:
        return "aarch64" if first.get("cpu_architecture", "8") not in ("7", "6") else "armv7l"
    if first.get("cpu", "").upper().startswith("POWER"):
        return "ppc64le"
    if first.get("isa", "").startswith("rv64"):
        return "riscv64"
    return ""


def arm_names(implementer: str, part: str = "") -> tuple[str, str]:
    """(vendor, model) for an Arm implementer code and part number; unknown codes come back as given."""
    entry = table("arm-cpus")["implementers"].get(implementer.lower())
    if entry is None:
        return implementer, ""
    return entry["vendor"], entry["parts"].get(part.lower(), "")


@dataclass(frozen=True)
class Identity:
    vendor: str
    model: str
    family: str
    model_id: str
    features: frozenset[str]
    cpu_part: str
    generation: int
    name_hint: str


def identity(host: Host) -> Identity:
    """Vendor, model name and feature flags of the first processor (nodes are assumed homogeneous)."""
    return host.cached("identity", lambda: _identity(host))


def _identity(host: Host) -> Identity:
    procs = processors(host)
    if not procs:
        return Identity("", "", "", "", frozenset(), "", 0, "")
    first = procs[0]
    if "cpu_implementer" in first:
        part = first.get("cpu_part", "")
        vendor, model = arm_names(first["cpu_implementer"], part)
        return Identity(
            vendor=vendor,
            model=first.get("model_name") or model,
            family=first.get("cpu_architecture", ""),
            model_id=str(int(part, 16)) if part.startswith("0x") else part,
            features=frozenset(first.get("features", "").split()),
            cpu_part=part,
            generation=0,
            name_hint="",
        )
    cpu = first.get("cpu", "")
    if cpu.upper().startswith("POWER"):
        digits = "".join(ch for ch in cpu[5:].split()[0] if ch.isdigit()) if cpu[5:].split() else ""
        return Identity("IBM", cpu, "", "", frozenset(), "", int(digits or 0), "")
    if "isa" in first:
        uarch = first.get("uarch", "")
        # "sifive,u74-mc" is archspec's u74mc: the part after the vendor, without dashes.
        hint = uarch.rpartition(",")[2].replace("-", "")
        return Identity(
            vendor=first.get("mvendorid", ""), model=uarch, family="", model_id="",
            features=frozenset(), cpu_part="", generation=0, name_hint=hint,
        )
    return Identity(
        vendor=first.get("vendor_id", ""),
        model=first.get("model_name", ""),
        family=first.get("cpu_family", ""),
        model_id=first.get("model", ""),
        features=frozenset(first.get("flags", "").split()),
        cpu_part="",
        generation=0,
        name_hint="",
    )
