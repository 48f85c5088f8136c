"""The nfd extractor: the features Kubernetes Node Feature Discovery reports, under the same names.

Upstream compspec-go links NFD's Go sources; we read the same files NFD reads (through the host root, like NFD's
/host-sys mounts) and flatten them the way compspec-go does: attributes as `<feature>.<name>`, flags as
`<feature>.<name>` = "true", instances as `<feature>.<index>.<attribute>`.
"""
from __future__ import annotations

from compspec.extractors import cpuinfo, pci
from compspec.extractors.data import table
from compspec.extractors.host import Host
from compspec.extractors.kernel import config_text, parse_config, release
from compspec.extractors.osrelease import os_release
from compspec.extractors.registry import SectionUnavailable, extractor

NFD = extractor(
    "nfd",
    "node feature discovery: cpu, kernel, local, memory, network, pci, storage, system and usb features",
    default_sections=("cpu", "memory", "network", "storage", "system"),
)

_X86_VENDORS = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD", "HygonGenuine": "Hygon"}


@NFD.section("cpu", "cpuid flags (NFD's names), vendor/family/model ids, topology, cstate, pstate")
def cpu(host: Host) -> dict[str, str]:
    ident = cpuinfo.identity(host)
    if not ident.vendor and not ident.features:
        raise SectionUnavailable("no processors in /proc/cpuinfo")
    renames = table("nfd-cpuid")["linux_to_cpuid"]
    out = {f"cpuid.{renames.get(flag, flag.upper())}": "true" for flag in sorted(ident.features)}
    out["model.vendor_id"] = _X86_VENDORS.get(ident.vendor, ident.vendor)
    if ident.family:
        out["model.family"] = ident.family
    if ident.model_id:
        out["model.id"] = ident.model_id
    topo = cpuinfo.topology(host)
    out["topology.hardware_multithreading"] = "true" if topo.threads_per_core > 1 else "false"
    if topo.sockets is not None:
        out["topology.socket_count"] = str(topo.sockets)
    max_cstate = host.value("/sys/module/intel_idle/parameters/max_cstate")
    if max_cstate is not None:
        out["cstate.enabled"] = "true" if max_cstate.isdigit() and int(max_cstate) > 0 else "false"
    status = host.value("/sys/devices/system/cpu/intel_pstate/status")
    if status is not None:
        out["pstate.status"] = status
        no_turbo = host.value("/sys/devices/system/cpu/intel_pstate/no_turbo")
        if no_turbo is not None:
            out["pstate.turbo"] = "false" if no_turbo == "1" else "true"
    governor = host.value("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    if governor is not None:
        out["pstate.scaling_governor"] = governor
    if host.value("/sys/module/kvm_amd/parameters/sev") in ("1", "Y"):
        out["security.sev.enabled"] = "true"
    if "sgx" in ident.features and host.exists("/dev/sgx_enclave"):
        out["security.sgx.enabled"] = "true"
    return out


@NFD.section("kernel", "kernel version, config options, loaded and enabled modules, SELinux")
def kernel(host: Host) -> dict[str, str]:
    full = release(host)
    if not full:
        raise SectionUnavailable("cannot read the kernel release (/proc/sys/kernel/osrelease)")
    out = {"version.full": full}
    numbers = full.split("-")[0].split(".")
    for key, value in zip(("major", "minor", "revision"), numbers):
        out[f"version.{key}"] = value
    text = config_text(host)
    if text is not None:
        for key, value in parse_config(text).items():
            out[f"config.{key[len('CONFIG_'):]}"] = "true" if value == "y" else value
    loaded = [line.split()[0] for line in (host.read("/proc/modules") or "").splitlines() if line.strip()]
    for module in loaded:
        out[f"loadedmodule.{module}"] = "true"
        out[f"enabledmodule.{module}"] = "true"
    builtin = host.read(f"/lib/modules/{full}/modules.builtin") or ""
    for line in builtin.splitlines():
        name = line.strip().rsplit("/", 1)[-1]
        if name.endswith(".ko"):
            out[f"enabledmodule.{name[:-3].replace('-', '_')}"] = "true"
    out["selinux.enabled"] = "true" if host.value("/sys/fs/selinux/enforce") == "1" else "false"
    return out


@NFD.section("local", "labels and features from /etc/kubernetes/node-feature-discovery/features.d")
def local(host: Host) -> dict[str, str]:
    folder = "/etc/kubernetes/node-feature-discovery/features.d"
    names = host.listdir(folder)
    if not names:
        raise SectionUnavailable(f"no feature files in {folder}")
    out: dict[str, str] = {}
    for name in names:
        for line in (host.read(f"{folder}/{name}") or "").splitlines():
            line = line.strip()
            if not line or line.startswith("#") or line.startswith("-"):
                continue
            key, sep, value = line.partition("=")
            key = key.strip()
            value = value.strip() if sep else "true"
            out[f"label.{key}"] = value
            out[f"feature.{key}"] = value
    return out


@NFD.section("memory", "NUMA nodes and non-volatile memory devices")
def memory(host: Host) -> dict[str, str]:
    nodes = [n for n in host.listdir("/sys/devices/system/node") if n.startswith("node") and n[4:].isdigit()]
    if not nodes and not host.exists("/sys/devices/system"):
        raise SectionUnavailable("no /sys/devices/system")
    count = max(len(nodes), 1)
    out = {"numa.is_numa": "true" if count > 1 else "false", "numa.node_count": str(count)}
    for index, name in enumerate(d for d in host.listdir("/sys/bus/nd/devices") if d.startswith("region")):
        base = f"/sys/bus/nd/devices/{name}"
        out[f"nv.{index}.name"] = name
        for attr in ("devtype", "mode", "size"):
            value = host.value(f"{base}/{attr}")
            if value is not None:
                out[f"nv.{index}.{attr}"] = value
    return out


@NFD.section("network", "physical and virtual interfaces: state, speed, SR-IOV")
def network(host: Host) -> dict[str, str]:
    names = host.listdir("/sys/class/net")
    if not names:
        raise SectionUnavailable("no /sys/class/net")
    out: dict[str, str] = {}
    counters = {"device": 0, "virtual": 0}
    for name in names:
        base = f"/sys/class/net/{name}"
        kind = "device" if host.exists(f"{base}/device") else "virtual"
        index = counters[kind]
        counters[kind] += 1
        out[f"{kind}.{index}.name"] = name
        for attr in ("operstate", "speed"):
            value = host.value(f"{base}/{attr}")  # speed refuses a read on links that are down
            if attr == "speed" and value is not None and value.startswith("-"):
                value = None  # -1 is the kernel's SPEED_UNKNOWN, not a speed
            if value is not None:
                out[f"{kind}.{index}.{attr}"] = value
        if kind == "device":
            for attr in ("sriov_numvfs", "sriov_totalvfs"):
                value = host.value(f"{base}/device/{attr}")
                if value is not None:
                    out[f"{kind}.{index}.{attr}"] = value
    return out


@NFD.section("pci", "every PCI device: class, vendor, device, subsystem ids")
def pci_section(host: Host) -> dict[str, str]:
    found = pci.devices(host)
    if not found:
        raise SectionUnavailable("no PCI devices in /sys/bus/pci/devices")
    out: dict[str, str] = {}
    for index, dev in enumerate(found):
        out[f"device.{index}.class"] = dev.class_id
        out[f"device.{index}.vendor"] = dev.vendor
        out[f"device.{index}.device"] = dev.device
        if dev.subsystem_vendor:
            out[f"device.{index}.subsystem_vendor"] = dev.subsystem_vendor
        if dev.subsystem_device:
            out[f"device.{index}.subsystem_device"] = dev.subsystem_device
    return out


#: Block devices that are memory or files, not storage: NFD's users ask about disks.
_VIRTUAL_BLOCK_PREFIXES = ("loop", "ram", "zram")


@NFD.section("storage", "block devices (not loop, ram or zram): dax, rotational, zoned")
def storage(host: Host) -> dict[str, str]:
    names = [n for n in host.listdir("/sys/block") if not n.startswith(_VIRTUAL_BLOCK_PREFIXES)]
    if not names:
        raise SectionUnavailable("no block devices in /sys/block")
    out: dict[str, str] = {}
    for index, name in enumerate(names):
        out[f"block.{index}.name"] = name
        for attr in ("dax", "rotational", "nr_zones", "zoned"):
            value = host.value(f"/sys/block/{name}/queue/{attr}")
            if value is not None:
                out[f"block.{index}.{attr}"] = value
    return out


@NFD.section("system", "host name, os-release fields, DMI vendor and product")
def system(host: Host) -> dict[str, str]:
    from compspec.extractors.system import hostname

    out: dict[str, str] = {}
    name = hostname(host)
    if name:
        out["name.nodename"] = name
    fields = os_release(host)
    for key, value in fields.items():
        out[f"osrelease.{key}"] = value
    version = fields.get("VERSION_ID", "")
    if version:
        parts = version.split(".")
        out["osrelease.VERSION_ID.major"] = parts[0]
        if len(parts) > 1:
            out["osrelease.VERSION_ID.minor"] = parts[1]
    for attr in ("sys_vendor", "product_name"):
        value = host.value(f"/sys/devices/virtual/dmi/id/{attr}")
        if value is not None:
            out[f"dmiid.{attr}"] = value
    if not out:
        raise SectionUnavailable("no host name, os-release or DMI data")
    return out


@NFD.section("usb", "USB devices: class, vendor, product, serial")
def usb(host: Host) -> dict[str, str]:
    base = "/sys/bus/usb/devices"
    out: dict[str, str] = {}
    index = 0
    for name in host.listdir(base):
        vendor = host.value(f"{base}/{name}/idVendor")
        if vendor is None:
            continue  # interfaces (1-1:1.0) have no ids of their own
        device_class = host.value(f"{base}/{name}/bDeviceClass") or "00"
        if device_class == "00":
            interface = next((i for i in host.listdir(f"{base}/{name}") if ":" in i), None)
            if interface:
                device_class = host.value(f"{base}/{name}/{interface}/bInterfaceClass") or device_class
        out[f"device.{index}.class"] = device_class
        out[f"device.{index}.vendor"] = vendor
        out[f"device.{index}.device"] = host.value(f"{base}/{name}/idProduct") or ""
        serial = host.value(f"{base}/{name}/serial")
        if serial is not None:
            out[f"device.{index}.serial"] = serial
        index += 1
    if not out:
        raise SectionUnavailable("no USB devices in /sys/bus/usb/devices")
    return out
