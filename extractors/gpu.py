"""The gpu extractor: NVIDIA and AMD GPUs with model, memory, driver and CUDA/ROCm version; any GPU by PCI.

Every section reports `count`, `vendor`, `model` (the devices' model when they all agree, else the distinct
models joined by ", "), `memory_mib` (the smallest device's, which is what a job can count on) and per device
`device.<i>.model/memory_mib/pci_bus_id/uuid/numa_node/socket` (those known). Sources, best first:

- nvidia: NVML (nvidia-ml-py, live only), `nvidia-smi` output, /proc/driver/nvidia (no memory or CUDA there);
- amd: `rocm-smi --json` output, then /sys/class/drm (vram size, product name) and /opt/rocm/.info/version;
- pci: /sys/bus/pci/devices of class 0300/0302/0380 from NVIDIA, AMD or Intel, named through pci.ids.
"""
from __future__ import annotations

import json
import re

from compspec.extractors import pci
from compspec.extractors.data import table
from compspec.extractors.host import Host
from compspec.extractors.registry import SectionUnavailable, extractor

GPU = extractor("gpu", "GPUs: NVIDIA (NVML or nvidia-smi), AMD (rocm-smi or sysfs), any GPU on the PCI bus")


def summarise(vendor: str, devices: list[dict[str, str]], extra: dict[str, str],
              host: Host | None = None) -> dict[str, str]:
    """The section for a list of devices (each a dict of model, memory_mib, pci_bus_id, uuid).

    With a host, each device also gets the NUMA node and socket its PCI slot belongs to, which lets a cluster
    graph hang the GPU under its socket.
    """
    if host is not None:
        for dev in devices:
            if dev.get("pci_bus_id"):
                dev.update(pci.placement(host, dev["pci_bus_id"]))
    out: dict[str, str] = {"count": str(len(devices)), "vendor": vendor}
    models = list(dict.fromkeys(d["model"] for d in devices if d.get("model")))
    if models:
        out["model"] = ", ".join(models)
    memories = [int(d["memory_mib"]) for d in devices if d.get("memory_mib", "").isdigit()]
    if memories and len(memories) == len(devices):
        out["memory_mib"] = str(min(memories))
    out.update({k: v for k, v in extra.items() if v})
    for index, dev in enumerate(devices):
        for key, value in dev.items():
            if value:
                out[f"device.{index}.{key}"] = value
    return out


# ---- NVIDIA ---------------------------------------------------------------------------------------------------

def _nvml(host: Host) -> dict[str, str] | None:
    if not (host.live or host.run_commands):
        return None
    try:
        import pynvml  # the nvidia-ml-py distribution (extra "gpu")
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # NVMLError: no driver, no device
        return None
    try:
        def text(value) -> str:
            return value.decode() if isinstance(value, bytes) else str(value)

        driver = text(pynvml.nvmlSystemGetDriverVersion())
        cuda = pynvml.nvmlSystemGetCudaDriverVersion_v2()
        devices = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            devices.append({
                "model": text(pynvml.nvmlDeviceGetName(handle)),
                "memory_mib": str(pynvml.nvmlDeviceGetMemoryInfo(handle).total // (1 << 20)),
                "pci_bus_id": text(pynvml.nvmlDeviceGetPciInfo(handle).busId),
                "uuid": text(pynvml.nvmlDeviceGetUUID(handle)),
            })
        return summarise("NVIDIA", devices, {
            "driver_version": driver,
            "cuda_version": f"{cuda // 1000}.{cuda % 1000 // 10}" if cuda else "",
            "source": "nvml",
        }, host) if devices else None
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def parse_nvidia_smi_query(text: str) -> tuple[list[dict[str, str]], str]:
    """Rows of `--query-gpu=index,name,memory.total,driver_version,pci.bus_id,uuid --format=csv,noheader,nounits`."""
    devices: list[tuple[int, dict[str, str]]] = []
    driver = ""
    for line in text.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 6 or not fields[0].isdigit():
            continue
        memory = fields[2].split()[0] if fields[2] else ""
        devices.append((int(fields[0]), {
            "model": fields[1],
            "memory_mib": memory if memory.isdigit() else "",
            "pci_bus_id": fields[4],
            "uuid": fields[5],
        }))
        driver = driver or fields[3]
    return [d for _, d in sorted(devices, key=lambda pair: pair[0])], driver


_CUDA = re.compile(r"CUDA Version:\s*([\d.]+)")
_DRIVER = re.compile(r"Driver Version:\s*([\d.]+)")


def _nvidia_smi(host: Host) -> dict[str, str] | None:
    query = host.command("nvidia-smi-query", [
        "nvidia-smi", "--query-gpu=index,name,memory.total,driver_version,pci.bus_id,uuid",
        "--format=csv,noheader,nounits",
    ])
    if not query:
        return None
    devices, driver = parse_nvidia_smi_query(query)
    if not devices:
        return None
    header = host.command("nvidia-smi", ["nvidia-smi"]) or ""
    cuda = _CUDA.search(header)
    if not driver:
        match = _DRIVER.search(header)
        driver = match.group(1) if match else ""
    return summarise("NVIDIA", devices, {
        "driver_version": driver,
        "cuda_version": cuda.group(1) if cuda else "",
        "source": "nvidia-smi",
    }, host)


def _nvidia_proc(host: Host) -> dict[str, str] | None:
    """The driver's own files: model, UUID and bus of each GPU, and the driver version; no memory, no CUDA."""
    buses = host.listdir("/proc/driver/nvidia/gpus")
    if not buses:
        return None
    devices = []
    for bus in buses:
        info: dict[str, str] = {}
        for line in (host.read(f"/proc/driver/nvidia/gpus/{bus}/information") or "").splitlines():
            key, sep, value = line.partition(":")
            if sep:
                info[key.strip()] = value.strip()
        devices.append({
            "model": info.get("Model", ""),
            "pci_bus_id": info.get("Bus Location", bus),
            "uuid": info.get("GPU UUID", ""),
            "minor": info.get("Device Minor", ""),
        })
    devices.sort(key=lambda d: int(d["minor"]) if d["minor"].isdigit() else 1 << 30)
    for dev in devices:
        dev.pop("minor")
    version = host.read("/proc/driver/nvidia/version") or ""
    match = re.search(r"Kernel Module\s+(?:for \S+\s+)?([\d.]+)", version)
    return summarise("NVIDIA", devices, {"driver_version": match.group(1) if match else "", "source": "procfs"},
                     host)


@GPU.section("nvidia", "NVIDIA GPUs: count, model, memory, driver and CUDA version, per-device bus id and UUID")
def nvidia(host: Host) -> dict[str, str]:
    for source in (_nvml, _nvidia_smi, _nvidia_proc):
        found = source(host)
        if found:
            return found
    raise SectionUnavailable("no NVIDIA GPU (no NVML, nvidia-smi or /proc/driver/nvidia)")


# ---- AMD ------------------------------------------------------------------------------------------------------

def parse_rocm_smi(text: str) -> tuple[list[dict[str, str]], str]:
    """`rocm-smi --showproductname --showmeminfo vram --showdriverversion --json`: cards and driver version."""
    try:
        data = json.loads(text[text.index("{"):])
    except (ValueError, json.JSONDecodeError):
        return [], ""
    devices = []
    cards = sorted((k for k in data if k.startswith("card") and k[4:].isdigit()), key=lambda k: int(k[4:]))
    for card in cards:
        info = data[card]
        vram = str(info.get("VRAM Total Memory (B)", ""))
        devices.append({
            "model": str(info.get("Card Series") or info.get("Card series") or info.get("Card model") or ""),
            "memory_mib": str(int(vram) // (1 << 20)) if vram.isdigit() else "",
            "pci_bus_id": str(info.get("PCI Bus", "")),
        })
    driver = str(data.get("system", {}).get("Driver version", ""))
    return devices, driver


def _rocm_version(host: Host) -> str:
    text = host.value("/opt/rocm/.info/version") or ""
    match = re.match(r"\d+(?:\.\d+)*", text)
    return match.group(0) if match else ""


def _amd_sysfs(host: Host) -> list[dict[str, str]]:
    devices = []
    for card in host.listdir("/sys/class/drm"):
        if not re.fullmatch(r"card\d+", card):
            continue
        base = f"/sys/class/drm/{card}/device"
        if host.value(f"{base}/vendor") != "0x1002":
            continue
        vram = host.value(f"{base}/mem_info_vram_total") or ""
        model = host.value(f"{base}/product_name") or pci.device_name(
            host, "1002", (host.value(f"{base}/device") or "").removeprefix("0x"))
        uevent = host.read(f"{base}/uevent") or ""
        slot = re.search(r"PCI_SLOT_NAME=(\S+)", uevent)
        devices.append({
            "model": model,
            "memory_mib": str(int(vram) // (1 << 20)) if vram.isdigit() else "",
            "pci_bus_id": slot.group(1) if slot else "",
        })
    return devices


@GPU.section("amd", "AMD GPUs: count, model, memory, driver and ROCm version")
def amd(host: Host) -> dict[str, str]:
    output = host.command("rocm-smi", [
        "rocm-smi", "--showproductname", "--showmeminfo", "vram", "--showdriverversion", "--json",
    ])
    devices, driver = parse_rocm_smi(output) if output else ([], "")
    source = "rocm-smi"
    sysfs = _amd_sysfs(host)
    if not devices:
        devices, source = sysfs, "sysfs"
    elif len(sysfs) == len(devices):
        # rocm-smi numbers cards as the DRM subsystem does; take the bus ids it did not print from there.
        for dev, card in zip(devices, sysfs):
            dev["pci_bus_id"] = dev["pci_bus_id"] or card["pci_bus_id"]
    if not devices:
        raise SectionUnavailable("no AMD GPU (no rocm-smi output, no AMD card in /sys/class/drm)")
    if not driver:
        driver = host.value("/sys/module/amdgpu/version") or ""
    return summarise("AMD", devices, {"driver_version": driver, "rocm_version": _rocm_version(host),
                                      "source": source}, host)


# ---- PCI ------------------------------------------------------------------------------------------------------

@GPU.section("pci", "GPUs on the PCI bus by class and vendor id, whatever their driver (count is 0 when none)")
def pci_gpus(host: Host) -> dict[str, str]:
    found = pci.devices(host)
    if not found and not host.isdir(pci.PCI_DEVICES):
        raise SectionUnavailable(f"no {pci.PCI_DEVICES}")
    known = table("pci-vendors")
    gpus = [d for d in found if d.class_id in known["gpu_classes"] and d.vendor in known["gpu_vendors"]]
    if not gpus:
        return {"count": "0"}
    devices = [{
        "model": pci.device_name(host, d.vendor, d.device),
        "pci_bus_id": d.address,
        "vendor_id": d.vendor,
        "device_id": d.device,
    } for d in gpus]
    vendors = ", ".join(dict.fromkeys(known["gpu_vendors"][d.vendor] for d in gpus))
    return summarise(vendors, devices, {}, host)
