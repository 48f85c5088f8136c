"""CPU, memory and OS facts of a live machine without /proc/cpuinfo (macOS, BSD, Windows), from psutil and
py-cpuinfo.

Both libraries are imported here only: Linux extraction never loads them (py-cpuinfo alone costs more than the
whole /proc path).
"""
from __future__ import annotations

from compspec.extractors.host import Host

#: py-cpuinfo's `arch` → the uname machine name archspec and system.arch use.
_MACHINES = {"X86_64": "x86_64", "X86_32": "i686", "ARM_8": "aarch64", "ARM_7": "armv7l", "PPC_64": "ppc64le",
             "PPC_32": "ppc", "S390X": "s390x", "RISCV_64": "riscv64", "LOONG_64": "loongarch64"}


def applies(host: Host) -> bool:
    """True on a live host whose kernel has no /proc/cpuinfo."""
    return host.live and not host.exists("/proc/cpuinfo")


def cpu_info(host: Host) -> dict:
    def load() -> dict:
        import cpuinfo  # py-cpuinfo

        return cpuinfo.get_cpu_info()

    return host.cached("py-cpuinfo", load)


def machine(host: Host) -> str:
    info = cpu_info(host)
    raw = str(info.get("arch_string_raw", ""))
    if raw in ("arm64", "aarch64"):
        return "aarch64"
    if raw.lower() in ("amd64", "x86_64"):
        return "x86_64"
    return _MACHINES.get(str(info.get("arch", "")), raw)


def cpu(host: Host) -> dict[str, str]:
    import platform

    import psutil

    from compspec.extractors.microarch import from_description

    info = cpu_info(host)
    logical = psutil.cpu_count(logical=True) or int(info.get("count") or 0)
    physical = psutil.cpu_count(logical=False) or logical
    out = {
        "cores": str(logical),
        "physical_cores": str(physical),
        "threads_per_core": str(max(1, logical // physical)) if physical else "1",
    }
    vendor = str(info.get("vendor_id_raw", ""))
    brand = str(info.get("brand_raw", ""))
    if vendor:
        out["vendor"] = vendor
    elif brand.startswith("Apple"):
        out["vendor"] = "Apple"
    if brand:
        out["model"] = brand
    arch = machine(host)
    if arch:
        flags = {str(flag) for flag in info.get("flags", [])}
        target = from_description(arch, platform.system(), vendor, flags, brand)
        out["target"] = target.name
        out["target_generic"] = target.generic
    host.warn("sockets unknown: psutil does not count them")
    return out


def memory(host: Host) -> dict[str, str]:
    import psutil

    mem = psutil.virtual_memory()
    return {"memtotal": f"{mem.total // 1024} kB", "memavailable": f"{mem.available // 1024} kB"}


def os_facts(host: Host) -> dict[str, str]:
    import platform

    system = platform.system()
    if system == "Darwin":
        version = platform.mac_ver()[0]
        return {"name": f"macOS {version}".strip(), "version": version, "vendor": "apple", "release": version}
    if system == "Windows":
        version = platform.version()
        return {"name": f"Windows {platform.release()}", "version": version, "vendor": "microsoft",
                "release": version}
    release = platform.release()
    return {"name": f"{system} {release}".strip(), "version": release, "vendor": system.lower(),
            "release": release}
