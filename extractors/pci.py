"""PCI devices from /sys/bus/pci/devices, and their names from the pci.ids database when the node has one."""
from __future__ import annotations

from dataclasses import dataclass

from compspec.extractors.host import Host

PCI_DEVICES = "/sys/bus/pci/devices"
PCI_IDS = ("/usr/share/hwdata/pci.ids", "/usr/share/misc/pci.ids", "/usr/share/pci.ids")


@dataclass(frozen=True)
class PciDevice:
    address: str          # 0000:18:00.0
    class_code: str       # 030200 (six hex digits, no 0x)
    vendor: str           # 10de
    device: str           # 2330
    subsystem_vendor: str
    subsystem_device: str

    @property
    def class_id(self) -> str:
        """Base class and subclass (0300, 0302...), what NFD and lspci -n show."""
        return self.class_code[:4]


def _hex(value: str | None) -> str:
    value = (value or "").strip().lower()
    return value[2:] if value.startswith("0x") else value


def devices(host: Host) -> list[PciDevice]:
    def load() -> list[PciDevice]:
        found = []
        for address in host.listdir(PCI_DEVICES):
            base = f"{PCI_DEVICES}/{address}"
            class_code = _hex(host.value(f"{base}/class"))
            vendor = _hex(host.value(f"{base}/vendor"))
            if not class_code or not vendor:
                continue
            found.append(PciDevice(
                address=address,
                class_code=class_code,
                vendor=vendor,
                device=_hex(host.value(f"{base}/device")),
                subsystem_vendor=_hex(host.value(f"{base}/subsystem_vendor")),
                subsystem_device=_hex(host.value(f"{base}/subsystem_device")),
            ))
        return found

    return host.cached("pci-devices", load)


def device_name(host: Host, vendor: str, device: str) -> str:
    """The device's name from pci.ids ("GH100 [H100 SXM5 80GB]"), or "" when unknown or no database."""
    names = host.cached("pci-ids", lambda: _load_ids(host))
    return names.get((vendor, device), "")


def _load_ids(host: Host) -> dict[tuple[str, str], str]:
    text = next((t for t in (host.read(p) for p in PCI_IDS) if t), None)
    if not text:
        return {}
    wanted = {"10de", "1002", "8086"}  # GPU vendors only: the file is large and we name nothing else
    names: dict[tuple[str, str], str] = {}
    vendor = None
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("C "):
            break  # the class list follows the vendor list
        if not line.startswith("\t"):
            code = line[:4].lower()
            vendor = code if code in wanted else None
            continue
        if vendor and not line.startswith("\t\t"):
            code, _, name = line.strip().partition(" ")
            names[(vendor, code.lower())] = name.strip()
    return names


def normalise_address(address: str) -> str:
    """A PCI address as sysfs names it: NVIDIA tools print the domain with 8 digits (00000000:19:00.0)."""
    domain, sep, rest = address.strip().lower().rpartition(":")
    if not sep:
        return address
    parts = domain.split(":")
    if len(parts) == 2:
        try:
            return f"{int(parts[0], 16):04x}:{parts[1]}:{rest}"
        except ValueError:
            return address
    return f"0000:{domain}:{rest}"


def placement(host: Host, address: str) -> dict[str, str]:
    """The NUMA node and CPU socket a PCI device hangs off, where sysfs says so (-1 means the platform does not)."""
    node = host.value(f"{PCI_DEVICES}/{normalise_address(address)}/numa_node")
    if node is None or not node.isdigit():
        return {}
    out = {"numa_node": node}
    from compspec.extractors.cpuinfo import parse_cpu_list

    cpus = parse_cpu_list(host.value(f"/sys/devices/system/node/node{node}/cpulist"))
    if cpus:
        socket = host.value(f"/sys/devices/system/cpu/cpu{cpus[0]}/topology/physical_package_id")
        if socket is not None and socket.isdigit():
            out["socket"] = socket
    return out
