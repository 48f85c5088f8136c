"""What the kernel says about the CPUs: /proc/cpuinfo, the sysfs topology, and the machine name.

Shared by the system and nfd extractors; each result is computed once per host.

/proc/cpuinfo has one layout per architecture. Most print one `processor : N` block per CPU and sometimes a
machine-wide block (Arm boards, POWER, LoongArch). s390x prints a machine header and per-CPU `cpu number` blocks
(older kernels only `processor N: version = ...` lines); sparc64 prints one machine-wide block; 32-bit Arm kernels
before 3.8 put the implementer and part in one block after the processors. `parse_cpuinfo` turns all of them into
one dict per CPU.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from compspec.extractors.data import table
from compspec.extractors.host import Host

#: uname machine → the architecture name (Go/OCI style, i386 for 32-bit x86) reported in system.arch.name.
ARCH_NAMES = {
    "x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
    "i386": "i386", "i486": "i386", "i586": "i386", "i686": "i386",
    "ppc64le": "ppc64le", "ppc64": "ppc64", "ppc": "ppc", "s390x": "s390x", "s390": "s390",
    "riscv64": "riscv64", "riscv32": "riscv32", "armv7l": "arm", "armv6l": "arm", "armv5tel": "arm",
    "loongarch64": "loong64", "mips64": "mips64", "sparc64": "sparc64",
}

#: Machine-wide cpuinfo fields that describe every CPU (s390x header, old 32-bit Arm trailer, sparc64 block):
#: copied into each processor that lacks them.
_SHARED_FIELDS = (
    "vendor_id", "features", "model_name", "cpu_implementer", "cpu_architecture", "cpu_variant", "cpu_part",
    "cpu_revision", "cpu", "fpu", "type", "cpucaps",
)

_S390_CPU_LINE = re.compile(r"^processor_([0-9]+)$")
_SPARC_CPU_STATE = re.compile(r"^cpu([0-9]+)$")


def _number(value: str) -> bool:
    """A CPU number: ASCII digits only (str.isdigit also takes "²", which int() refuses)."""
    return value.isascii() and value.isdigit()


def normalise_key(key: str) -> str:
    return key.strip().lower().replace(" ", "_")


def parse_cpuinfo(text: str) -> tuple[list[dict[str, str]], dict[str, str]]:
    """One dict per CPU (keys lower-cased, spaces to `_`, `processor` always the CPU number) and the
    machine-wide fields (Hardware, Revision, the s390x header, the sparc64 block).

    Blocks are separated by blank lines; the last block counts too.
    """
    processors: list[dict[str, str]] = []
    common: dict[str, str] = {}
    current: dict[str, str] = {}

    def flush() -> None:
        if not current:
            return
        if _number(current.get("processor", "")):
            processors.append(dict(current))
        elif _number(current.get("cpu_number", "")):  # s390x per-CPU block
            processors.append({"processor": current["cpu_number"], **current})
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
        key, value = normalise_key(key), value.strip()
        if key == "processor" and not _number(value):
            # 32-bit Arm before 3.8: "Processor : ARMv7 Processor rev 10 (v7l)" names the model of every CPU.
            common.setdefault("model_name", value)
            continue
        current[key] = value
    flush()
    if not processors:
        processors = _machine_wide_processors(common)
    shared = {key: common[key] for key in _SHARED_FIELDS if key in common}
    if shared:
        processors = [{**{k: v for k, v in shared.items() if k not in proc}, **proc} for proc in processors]
    processors.sort(key=lambda proc: int(proc["processor"]))
    return processors, common


def _machine_wide_processors(common: dict[str, str]) -> list[dict[str, str]]:
    """CPUs of layouts that have no per-CPU blocks: s390x's `processor N:` lines, sparc64's `CPUn: online`."""
    found: list[dict[str, str]] = []
    for key, value in common.items():
        match = _S390_CPU_LINE.match(key)
        if match:  # "version = FF,  identification = 0133E8,  machine = 3906"
            proc = {"processor": match.group(1)}
            for part in value.split(","):
                name, sep, field = part.partition("=")
                if sep:
                    proc[normalise_key(name)] = field.strip()
            found.append(proc)
    if found:
        return found
    for key, value in common.items():
        match = _SPARC_CPU_STATE.match(key)
        if match and value == "online":
            found.append({"processor": match.group(1)})
    if not found and _number(common.get("ncpus_active", "")):
        found = [{"processor": str(i)} for i in range(int(common["ncpus_active"]))]
    return found


def processors(host: Host) -> list[dict[str, str]]:
    return parsed(host)[0]


def parsed(host: Host) -> tuple[list[dict[str, str]], dict[str, str]]:
    def load() -> tuple[list[dict[str, str]], dict[str, str]]:
        text = host.read("/proc/cpuinfo")
        return parse_cpuinfo(text) if text else ([], {})

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


def parse_cpu_mask(text: str | None) -> list[int]:
    """The kernel's CPU mask format ("ff,0000000f": 32-bit hex words, highest first) as a sorted list."""
    digits = (text or "").strip().replace(",", "")
    try:
        value = int(digits, 16) if digits else 0
    except ValueError:
        return []
    return [bit for bit in range(value.bit_length()) if value >> bit & 1]


def format_cpu_list(cpus: list[int]) -> str:
    """The kernel's list format for a sorted list ([0, 1, 2, 5] → "0-2,5")."""
    ranges: list[str] = []
    start = prev = None
    for cpu in cpus + [None]:  # type: ignore[operator]
        if start is not None and (cpu is None or cpu != prev + 1):
            ranges.append(str(start) if start == prev else f"{start}-{prev}")
            start = None
        if cpu is not None and start is None:
            start = cpu
        prev = cpu
    return ",".join(ranges)


def online_cpus(host: Host) -> list[int]:
    """CPUs the kernel has online: sysfs, else every processor in /proc/cpuinfo."""
    online = parse_cpu_list(host.value("/sys/devices/system/cpu/online"))
    if online:
        return online
    return [int(p["processor"]) for p in processors(host)]


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
    #: None when the kernel does not know the packages (physical_package_id -1).
    sockets: int | None
    threads_per_core: int
    #: Present but offline CPUs: not counted in the figures above.
    offline: tuple[int, ...] = ()
    #: Hybrid parts: physical cores of each kind, e.g. {"performance": 8, "efficiency": 8}; empty otherwise.
    core_kinds: tuple[tuple[str, int], ...] = ()


def topology(host: Host) -> Topology:
    """Sockets, physical cores and SMT width of the online CPUs, counted as lscpu counts them.

    A core is a distinct set of thread siblings and a socket a distinct set of package siblings, as the kernel
    lists them: counting (package id, core id) pairs goes wrong where core ids restart inside each cluster, die or
    book. Trees recorded without sibling lists fall back to those pairs (sysfs, else /proc/cpuinfo's physical id
    and core id on x86); with neither, one socket with one thread per core, which is what Arm servers without
    PPTT report.
    """
    return host.cached("topology", lambda: _topology(host))


def _topology(host: Host) -> Topology:
    cpus = online_cpus(host)
    present = parse_cpu_list(host.value("/sys/devices/system/cpu/present"))
    offline = tuple(cpu for cpu in present if cpu not in set(cpus))
    logical = len(cpus) or len(processors(host))
    found = _from_sibling_lists(host, cpus) or _from_id_pairs(host, cpus)
    if found is None:
        return Topology(logical, logical, 1 if logical else 0, 1, offline)
    cores, sockets, threads, unknown_package = found
    if unknown_package:
        host.warn("sockets unknown: the kernel gives physical_package_id -1")
        sockets = None
    return Topology(logical, cores, sockets, threads, offline, _core_kinds(host, cpus))


#: Intel hybrid parts publish one PMU per kind of core, each listing its CPUs.
_CORE_KINDS = (("performance", "/sys/devices/cpu_core/cpus"), ("efficiency", "/sys/devices/cpu_atom/cpus"))


def _core_kinds(host: Host, online: list[int]) -> tuple[tuple[str, int], ...]:
    """Physical cores of each kind on a hybrid CPU (P-cores and E-cores), counted by thread-sibling sets."""
    kinds = []
    for kind, path in _CORE_KINDS:
        cpus = set(parse_cpu_list(host.value(path))) & set(online)
        if not cpus:
            return ()
        cores = {_sibling_set(host, f"/sys/devices/system/cpu/cpu{cpu}/topology", ("core_cpus", "thread_siblings"))
                 or frozenset([cpu]) for cpu in cpus}
        kinds.append((kind, len(cores)))
    return tuple(kinds)


def _sibling_set(host: Host, base: str, names: tuple[str, ...]) -> frozenset[int] | None:
    for name in names:
        text = host.value(f"{base}/{name}_list")
        if text is not None:
            return frozenset(parse_cpu_list(text))
        text = host.value(f"{base}/{name}")
        if text is not None:
            return frozenset(parse_cpu_mask(text))
    return None


def _from_sibling_lists(host: Host, cpus: list[int]) -> tuple[int, int, int, bool] | None:
    cores: set[frozenset[int]] = set()
    packages: set[frozenset[int]] = set()
    unknown_package = False
    for cpu in cpus:
        base = f"/sys/devices/system/cpu/cpu{cpu}/topology"
        threads = _sibling_set(host, base, ("core_cpus", "thread_siblings"))
        package = _sibling_set(host, base, ("package_cpus", "core_siblings"))
        if threads is None or package is None:
            return None
        cores.add(threads or frozenset([cpu]))
        packages.add(package or frozenset([cpu]))
        unknown_package = unknown_package or host.value(f"{base}/physical_package_id") == "-1"
    if not cores:
        return None
    return len(cores), len(packages), max(len(core) for core in cores), unknown_package


def _from_id_pairs(host: Host, cpus: list[int]) -> tuple[int, int, int, bool] | None:
    pairs: dict[int, tuple[str, str]] = {}
    for cpu in cpus:
        base = f"/sys/devices/system/cpu/cpu{cpu}/topology"
        package = host.value(f"{base}/physical_package_id")
        core = host.value(f"{base}/core_id")
        if package is None or core is None:
            pairs.clear()
            break
        pairs[cpu] = (package, core)
    if not pairs:
        for proc in processors(host):
            if "physical_id" in proc and "core_id" in proc:
                pairs[int(proc["processor"])] = (proc["physical_id"], proc["core_id"])
        if len(pairs) != len(processors(host)):
            pairs.clear()
    if not pairs:
        return None
    per_core: dict[tuple[str, str], int] = {}
    for pair in pairs.values():
        per_core[pair] = per_core.get(pair, 0) + 1
    sockets = len({package for package, _ in per_core})
    unknown = any(package == "-1" for package, _ in per_core)
    return len(per_core), sockets, max(per_core.values()), unknown


def machine(host: Host) -> str:
    """The uname machine name (x86_64, aarch64, ...) of the node at the host root; "" when it cannot be told
    (`machine_unknown_reason` says why)."""
    return host.cached("machine", lambda: _machine(host))[0]


def machine_unknown_reason(host: Host) -> str:
    return host.cached("machine", lambda: _machine(host))[1]


#: Programs whose ELF header tells the userland's architecture when nothing records the kernel's.
_SYSTEM_BINARIES = ("/bin/sh", "/usr/bin/sh", "/bin/busybox", "/usr/bin/env", "/sbin/init", "/bin/ls")


def _machine(host: Host) -> tuple[str, str]:
    if host.live:
        return os.uname().machine, ""
    recorded = host.value("/proc/sys/kernel/arch")
    if recorded:
        return recorded, ""
    ran = host.command("uname-m", ["uname", "-m"])
    if ran and ran.strip():
        return ran.strip().splitlines()[0].strip(), ""
    procs, common = parsed(host)
    first = procs[0] if procs else {}
    for path in _SYSTEM_BINARIES:
        from_elf = elf_machine(host.read_bytes(path, 64) or b"", first.get("cpu_architecture", ""))
        if from_elf:
            return from_elf, ""
    found, reason = _machine_from_cpuinfo(first, common)
    if not found and re.match(r"POWER\d", first.get("cpu", "").upper()):
        order = auxv_byte_order(host.read_bytes("/proc/self/auxv", 4096) or b"")
        if order:
            return ("ppc64le" if order == "little" else "ppc64"), ""
    return found, reason


def auxv_byte_order(data: bytes) -> str:
    """The byte order of a 64-bit auxiliary vector (/proc/PID/auxv), "" when it does not read as one.

    Its entries are (type, value) pairs of native words ending with AT_NULL; types are small numbers (AT_PAGESZ 6,
    AT_HWCAP 16), so only the machine's own byte order gives a vector of small types ending in a zero pair.
    """
    if len(data) < 32 or len(data) % 16:
        return ""
    for order in ("little", "big"):
        types = [int.from_bytes(data[i:i + 8], order) for i in range(0, len(data), 16)]  # type: ignore[arg-type]
        ends = types.index(0) if 0 in types else -1
        if ends > 0 and all(0 < t < 64 for t in types[:ends]):
            return order
    return ""


#: ELF e_machine → uname machine, by (machine, 64-bit, little-endian).
_ELF_MACHINES = {
    (3, False, True): "i686", (62, True, True): "x86_64", (183, True, True): "aarch64",
    (20, False, False): "ppc", (21, True, False): "ppc64", (21, True, True): "ppc64le",
    (22, True, False): "s390x", (22, False, False): "s390", (243, True, True): "riscv64",
    (243, False, True): "riscv32", (258, True, True): "loongarch64", (43, True, False): "sparc64",
    (8, True, False): "mips64", (8, True, True): "mips64",
}


def elf_machine(header: bytes, arm_architecture: str = "") -> str:
    """The uname machine an ELF binary was built for (its class, byte order and e_machine), or ""."""
    if len(header) < 20 or header[:4] != b"\x7fELF" or header[4] not in (1, 2) or header[5] not in (1, 2):
        return ""
    wide, little = header[4] == 2, header[5] == 1
    code = int.from_bytes(header[18:20], "little" if little else "big")
    if code == 40 and not wide:  # 32-bit Arm: the architecture version is in cpuinfo
        return {"6": "armv6l", "5TEJ": "armv5tel"}.get(arm_architecture, "armv7l")
    return _ELF_MACHINES.get((code, wide, little), "")


def _machine_from_cpuinfo(first: dict[str, str], common: dict[str, str]) -> tuple[str, str]:
    """The machine when /proc/cpuinfo leaves no doubt; otherwise "" and why."""
    vendor = first.get("vendor_id", "") or common.get("vendor_id", "")
    if vendor.startswith("IBM/S390"):
        return "s390x", ""
    if vendor and "flags" in first:
        return ("x86_64" if " lm " in f" {first['flags']} " else "i686"), ""
    if "cpu_implementer" in first:
        version = first.get("cpu_architecture", "")
        if version in ("8", "AArch64") and "model_name" not in first:
            return "aarch64", ""
        if version == "8":
            return "", "a 32-bit Arm model name on an Armv8 CPU: an AArch32 kernel or an AArch64 one in compat mode"
        return {"6": "armv6l", "5TEJ": "armv5tel"}.get(version, "armv7l"), ""
    cpu = first.get("cpu", "")
    power = re.match(r"POWER(\d+)", cpu.upper())
    if power:
        if int(power.group(1)) <= 7:
            return "ppc64", ""  # POWER7 and earlier run big-endian only
        return "", (f"{power.group(0)} runs big- or little-endian kernels and nothing under the host root says which "
                    "(/proc/sys/kernel/arch, .commands/uname-m.txt, an ELF binary such as /bin/sh, "
                    "or /proc/self/auxv)")
    if cpu.upper().startswith(("PPC970", "CELL", "POWER")):
        return "ppc64", ""
    if re.match(r"(74[0-9]{2}|7[45]0|e[356]00|8[23]xx|MPC)", cpu, re.IGNORECASE):
        return "ppc", ""
    isa = first.get("isa", "")
    if isa.startswith("rv64"):
        return "riscv64", ""
    if isa.startswith("rv32"):
        return "riscv32", ""
    if "loongarch64" in isa.split() or first.get("cpu_family", "").startswith("Loongson-64"):
        return "loongarch64", ""
    if "ncpus_probed" in common:
        return "sparc64", ""
    return "", "cannot tell the machine architecture from /proc/cpuinfo and nothing records uname -m"


def arm_names(implementer: str, part: str = "") -> tuple[str, str]:
    """(vendor, model) for an Arm implementer code and part number; unknown codes come back as given."""
    entry = table("arm-cpus")["implementers"].get(implementer.lower())
    if entry is None:
        return implementer, ""
    return entry["vendor"], entry["parts"].get(part.lower(), "")


@dataclass(frozen=True)
class CpuIdentity:
    vendor: str
    model: str
    family: str
    model_id: str
    features: frozenset[str]
    cpu_part: str


def identity(host: Host) -> CpuIdentity:
    """Vendor, model name and feature flags of the first processor (nodes are assumed homogeneous)."""
    return host.cached("identity", lambda: _identity(*parsed(host)))


def _identity(procs: list[dict[str, str]], common: dict[str, str]) -> CpuIdentity:
    if not procs:
        return CpuIdentity("", "", "", "", frozenset(), "")
    first = procs[0]
    if "cpu_implementer" in first:
        part = first.get("cpu_part", "")
        vendor, model = arm_names(first["cpu_implementer"], part)
        return CpuIdentity(
            vendor=vendor,
            model=model or first.get("model_name", ""),  # the part's name, as lscpu shows it
            family=first.get("cpu_architecture", ""),
            model_id=str(int(part, 16)) if part.startswith("0x") else part,
            features=frozenset(first.get("features", "").split()),
            cpu_part=part,
        )
    vendor_id = first.get("vendor_id", "")
    if vendor_id.startswith("IBM/S390"):
        machine_type = first.get("machine", "")
        return CpuIdentity(vendor_id, machine_type, "", machine_type, frozenset(first.get("features", "").split()), "")
    cpu = first.get("cpu", "")
    if re.match(r"POWER\d", cpu.upper()):
        return CpuIdentity("IBM", cpu, "", "", frozenset(), "")
    if first.get("isa", "").startswith("rv"):
        return CpuIdentity(
            vendor=first.get("mvendorid", ""), model=first.get("model_name") or first.get("uarch", ""),
            family="", model_id="", features=frozenset(), cpu_part="",
        )
    loongson = first.get("model_name") or first.get("cpu_model", "")
    if "loongarch64" in first.get("isa", "").split() or loongson.startswith("Loongson"):
        return CpuIdentity("Loongson", loongson, first.get("cpu_family", ""), "",
                        frozenset(first.get("features", "").split()), "")
    if "ncpus_probed" in common:
        return CpuIdentity("", cpu, "", "", frozenset(first.get("cpucaps", "").split(",")) - {""}, "")
    return CpuIdentity(
        vendor=vendor_id,
        model=first.get("model_name", "") or cpu,
        family=first.get("cpu_family", ""),
        model_id=first.get("model", ""),
        features=frozenset(first.get("flags", "").split()),
        cpu_part="",
    )
