"""The system extractor: CPU summary and microarchitecture, every processor, architecture, memory, OS."""
from __future__ import annotations

import os

from compspec.extractors import cpuinfo, portable
from compspec.extractors.host import Host
from compspec.extractors.osrelease import full_release, os_release
from compspec.extractors.registry import SectionUnavailable, extractor

SYSTEM = extractor("system", "generic system facts: CPU, processors, architecture, memory and operating system")


def hostname(host: Host) -> str:
    """The node's name: what names it in a cluster graph."""
    if host.live:
        return os.uname().nodename
    for path in ("/proc/sys/kernel/hostname", "/etc/hostname"):
        text = host.read(path)
        if text and text.strip():
            return text.strip().splitlines()[0].strip()
    return ""


@SYSTEM.section("cpu", "usable and physical cores, sockets, threads per core, offline CPUs, P- and E-cores, "
                       "vendor, model, archspec target")
def cpu(host: Host) -> dict[str, str]:
    if portable.applies(host):
        return portable.cpu(host)
    if not cpuinfo.processors(host):
        raise SectionUnavailable("no processors in /proc/cpuinfo")
    topo = cpuinfo.topology(host)
    ident = cpuinfo.identity(host)
    out = {
        "cores": str(cpuinfo.usable_cpus(host)),
        "physical_cores": str(topo.physical_cores),
        "threads_per_core": str(topo.threads_per_core),
    }
    if topo.sockets is not None:
        out["sockets"] = str(topo.sockets)
    for kind, count in topo.core_kinds:
        out[f"{kind}_cores"] = str(count)
    if topo.offline:
        out["offline_cpus"] = str(len(topo.offline))
        out["offline_cpu_list"] = cpuinfo.format_cpu_list(list(topo.offline))
    if ident.vendor:
        out["vendor"] = ident.vendor
    if ident.model:
        out["model"] = ident.model
    machine = cpuinfo.machine(host)
    if machine:
        from compspec.extractors.microarch import from_cpuinfo

        target = from_cpuinfo(machine, host.read("/proc/cpuinfo") or "")
        out["target"] = target.name
        out["target_generic"] = target.generic
    return out


@SYSTEM.section("processor", "every processor in /proc/cpuinfo: normalized vendor, features, family, model, and raw keys")
def processor(host: Host) -> dict[str, str]:
    procs = cpuinfo.processors(host)
    if not procs and portable.applies(host):
        raise SectionUnavailable("no /proc/cpuinfo on this system (the cpu section has what py-cpuinfo tells)")
    if not procs:
        raise SectionUnavailable("no processors in /proc/cpuinfo")
    out: dict[str, str] = {}
    for proc in procs:
        uid = proc["processor"]
        if "cpu_implementer" in proc:
            vendor = cpuinfo.arm_names(proc["cpu_implementer"])[0]
        else:
            vendor = proc.get("vendor_id", "") or cpuinfo.identity(host).vendor
        normalized = {
            "vendor": vendor,
            "features": proc.get("flags", proc.get("features", "")),
            "family": proc.get("cpu_family", proc.get("cpu_architecture", "")),
            "model": proc.get("model_name", proc.get("cpu", proc.get("cpu_variant", ""))),
        }
        if "bogomips" in proc:
            normalized["botomips"] = proc["bogomips"]  # upstream's spelling, kept for its readers
            normalized["bogomips"] = proc["bogomips"]
        for key, value in normalized.items():
            out[f"{uid}.normalized.{key}"] = value
        for key, value in proc.items():
            out[f"{uid}.raw.{key}"] = value
    return out


@SYSTEM.section("arch", "architecture name (amd64, arm64, ...) and machine (x86_64, aarch64, ...)")
def arch(host: Host) -> dict[str, str]:
    machine = portable.machine(host) if portable.applies(host) else cpuinfo.machine(host)
    if not machine:
        raise SectionUnavailable(cpuinfo.machine_unknown_reason(host) or "cannot tell the machine architecture")
    return {"name": cpuinfo.ARCH_NAMES.get(machine, machine), "arch": machine}


@SYSTEM.section("memory", "every /proc/meminfo entry, value with its unit")
def memory(host: Host) -> dict[str, str]:
    if portable.applies(host):
        return portable.memory(host)
    text = host.read("/proc/meminfo")
    if not text:
        raise SectionUnavailable("cannot read /proc/meminfo")
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip().lower().replace("(", "_").replace(")", "").replace(" ", "_")
        out[key] = value.strip()
    return out


@SYSTEM.section("os", "distribution name, version, vendor (ID) and full release from os-release")
def os_section(host: Host) -> dict[str, str]:
    fields = os_release(host)
    if not fields and portable.applies(host):
        return portable.os_facts(host)
    if not fields:
        raise SectionUnavailable("no /etc/os-release or /usr/lib/os-release")
    out = {
        "name": fields.get("PRETTY_NAME") or fields.get("NAME", ""),
        "version": fields.get("VERSION_ID", ""),
        "vendor": fields.get("ID", ""),
        "release": full_release(host, fields),
    }
    return {key: value for key, value in out.items() if value}
