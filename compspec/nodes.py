"""Read node extraction files and reduce each to what a cluster graph needs.

A cluster graph of 10,000 nodes is built from 10,000 extraction files that are each far larger than what the graph
keeps, so every file is read once, reduced at once to a small `NodeInfo` (hostname, properties, socket and core
counts, memory, GPUs) and dropped. The graph writers (compspec.jgf) work from those summaries only.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from compspec import documents
from compspec.schemas import FormatError

# The gpu extractor's sections that name real devices, in the order their devices are listed; `pci` only counts
# when neither found anything (it sees the same cards through their PCI class).
GPU_EXTRACTOR = "gpu"
GPU_SECTIONS = ("nvidia", "amd")
GPU_FALLBACK_SECTION = "pci"
GPU_SECTION_VENDORS = {"nvidia": "NVIDIA", "amd": "AMD"}

_DEVICE_KEY = re.compile(r"^device\.(\d+)\.")
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]i?[bB]?|[bB])?\s*$")
_MEMORY_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


class NodeFileError(FormatError):
    """A file in the node folder is not a node extraction; the message says why."""


@dataclass(frozen=True)
class Gpu:
    vendor: str = ""
    model: str = ""
    memory_mib: str = ""
    uuid: str = ""
    pci_bus_id: str = ""
    socket: int | None = None

    def properties(self) -> dict[str, str]:
        """The GPU's known facts, for its vertex's `properties`."""
        out = {"vendor": self.vendor, "model": self.model, "memory_mib": self.memory_mib, "uuid": self.uuid,
               "pci_bus_id": self.pci_bus_id}
        return {k: v for k, v in out.items() if v}


@dataclass
class NodeInfo:
    """One node as the graph sees it."""

    source: str
    hostname: str
    properties: dict[str, str]
    sockets: int
    cores: int
    memory_gib: int | None
    gpus: list[Gpu] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def cores_per_socket(self) -> list[int]:
        """Split the cores over the sockets as evenly as possible, the first sockets taking the remainder."""
        base, extra = divmod(self.cores, self.sockets)
        return [base + (1 if i < extra else 0) for i in range(self.sockets)]


def property_sources() -> dict[str, list[str]]:
    """Node property name → candidate extraction fields, from compspec/data/node-properties.yaml."""
    return documents.package_data("compspec", "node-properties.yaml")["properties"]


def field_aliases() -> dict[str, list[str]]:
    """Old-style field name → normalized fields to try, from compspec/data/field-aliases.yaml."""
    return documents.package_data("compspec", "field-aliases.yaml")["aliases"]


def results_of(extraction: Mapping[str, Any]) -> Mapping[str, Any]:
    """The extractor results of a document, whichever top-level key its writer used."""
    results = extraction.get("results")
    if results is None:
        results = extraction.get("extractors")
    return results if isinstance(results, dict) else {}


def split_field(name: str) -> tuple[str, str, str]:
    """`extractor.section.key` → its three parts (the key may itself contain dots)."""
    parts = name.split(".", 2)
    if len(parts) != 3 or not all(parts):
        raise FormatError(f"{name}: a field is named extractor.section.key")
    return parts[0], parts[1], parts[2]


def section_of(extraction: Mapping[str, Any], extractor: str, section: str) -> Mapping[str, str]:
    """One section's keys ({} when absent: Go writes empty sections as null, old files may lack `sections`)."""
    ext = results_of(extraction).get(extractor)
    if not isinstance(ext, dict):
        return {}
    sections = ext.get("sections")
    if not isinstance(sections, dict):
        return {}
    found = sections.get(section)
    return found if isinstance(found, dict) else {}


def get_field(extraction: Mapping[str, Any], name: str, *, aliases: bool = True) -> str | None:
    """The value of field `extractor.section.key`, or None. Old-style names fall back to their aliases."""
    extractor, section, key = split_field(name)
    value = section_of(extraction, extractor, section).get(key)
    if value is None and aliases:
        for alias in field_aliases().get(name, ()):
            value = get_field(extraction, alias, aliases=False)
            if value is not None:
                break
    return None if value is None else str(value)


def hostname_of(extraction: Mapping[str, Any]) -> str:
    """The node's hostname from the extraction's metadata (or what NFD reported), "" when unknown."""
    metadata = extraction.get("metadata")
    if isinstance(metadata, Mapping):
        name = metadata.get("hostname")
        if isinstance(name, str) and name.strip():
            return name.strip()
    return (get_field(extraction, "nfd.system.name.nodename", aliases=False) or "").strip()


def _devices(section: Mapping[str, str]) -> list[int]:
    """Device indexes of a gpu section: from `count`, or from the `device.<i>.*` keys when count is absent."""
    count = _to_int(section.get("count"))
    if count is not None:
        return list(range(max(count, 0)))
    return sorted({int(m.group(1)) for key in section if (m := _DEVICE_KEY.match(key))})


def gpus_of(extraction: Mapping[str, Any]) -> list[Gpu] | None:
    """Every GPU of the node (None when the gpu extractor did not run, [] when it found none)."""
    if GPU_EXTRACTOR not in results_of(extraction):
        return None
    found: list[Gpu] = []
    for names in (GPU_SECTIONS, (GPU_FALLBACK_SECTION,)):
        for name in names:
            section = section_of(extraction, GPU_EXTRACTOR, name)
            vendor = section.get("vendor") or GPU_SECTION_VENDORS.get(name, "")
            for i in _devices(section):
                prefix = f"device.{i}."
                found.append(Gpu(
                    vendor=section.get(prefix + "vendor") or vendor,
                    model=section.get(prefix + "model") or section.get("model", ""),
                    memory_mib=section.get(prefix + "memory_mib") or section.get("memory_mib", ""),
                    uuid=section.get(prefix + "uuid", ""),
                    pci_bus_id=section.get(prefix + "pci_bus_id", ""),
                    socket=_to_int(section.get(prefix + "socket")),
                ))
        if found:
            break
    return found


def _joined(values: Iterable[str]) -> str:
    return ",".join(sorted({v for v in values if v}))


def node_properties(extraction: dict, attributes: Sequence[str] = ()) -> dict[str, str]:
    """The node's compatibility attributes as strings, keyed as the matcher and `match --host` expect.

    Unknown values are left out rather than written empty, so a requirement never mistakes "unknown" for a value.
    `attributes` adds any extracted field under its full name.
    """
    return _properties(extraction, attributes, gpus_of(extraction))


def _properties(extraction: Mapping[str, Any], attributes: Sequence[str], gpus: list[Gpu] | None) -> dict[str, str]:
    props: dict[str, str] = {}
    hostname = hostname_of(extraction)
    if hostname:
        props["hostname"] = hostname
    for name, candidates in property_sources().items():
        for candidate in candidates:
            value = get_field(extraction, candidate, aliases=False)
            if value is not None and value.strip():
                props[name] = value.strip()
                break
    if gpus is not None:
        props["gpu.count"] = str(len(gpus))
        if vendors := _joined(g.vendor for g in gpus):
            props["gpu.vendor"] = vendors
        if models := _joined(g.model for g in gpus):
            props["gpu.model"] = models
    for attribute in attributes:
        value = get_field(extraction, attribute)
        if value is not None:
            props[attribute] = value
    return dict(sorted(props.items()))


def _to_int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def memory_gib(text: str | None) -> int | None:
    """`"263741396 kB"` → whole GiB (rounded down: a job must not be promised memory the node lacks), at least 1."""
    if not text:
        return None
    m = _MEMORY.match(text)
    if not m:
        return None
    unit = (m.group(2) or "").lower()[:1]
    total = float(m.group(1)) * _MEMORY_UNITS[unit]
    return max(1, int(total // 1024**3)) if total > 0 else None


def _processor_sockets(extraction: Mapping[str, Any]) -> int | None:
    section = section_of(extraction, "system", "processor")
    ids = {v for k, v in section.items() if k.endswith(".raw.physical_id")}
    return len(ids) or None


def _processor_count(extraction: Mapping[str, Any]) -> int | None:
    section = section_of(extraction, "system", "processor")
    ids = {k.split(".", 1)[0] for k in section}
    return len(ids) or None


def describe_node(extraction: dict, source: str = "", attributes: Sequence[str] = ()) -> NodeInfo:
    """Reduce one (already checked) extraction document to the node the graph will hold."""
    warnings: list[str] = []
    cpu = section_of(extraction, "system", "cpu")
    cores = _to_int(cpu.get("cores"))
    if cores is None:
        cores = _processor_count(extraction)
    if cores is None or cores < 0:
        warnings.append(f"{source}: no core count (system.cpu.cores); the node gets no cores")
        cores = 0
    sockets = _to_int(cpu.get("sockets"))
    if sockets is None:
        sockets = _to_int(section_of(extraction, "nfd", "cpu").get("topology.socket_count"))
    if sockets is None:
        sockets = _processor_sockets(extraction)
    if sockets is None or sockets < 1:
        sockets = 1
    found = gpus_of(extraction)
    gpus = [g if g.socket is None or 0 <= g.socket < sockets else replace(g, socket=None) for g in found or []]
    return NodeInfo(
        source=source,
        hostname=hostname_of(extraction),
        properties=_properties(extraction, attributes, found),
        sockets=sockets,
        cores=cores,
        memory_gib=memory_gib(section_of(extraction, "system", "memory").get("memtotal")),
        gpus=gpus,
        warnings=warnings,
    )


def read_node_file(path: str | Path, attributes: Sequence[str] = ()) -> NodeInfo:
    """Read one extraction file and reduce it; NodeFileError says why a file is not usable."""
    path = Path(path)
    doc = documents.read(path, path.name, syntax="json", kind=dict, schema="node-extraction", fast=True,
                         error=NodeFileError)
    return describe_node(doc, path.name, attributes)


def node_files(directory: str | Path) -> list[Path]:
    """The candidate files of a node folder: regular, not hidden, in name order."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FormatError(f"{directory}: not a directory")
    with os.scandir(directory) as it:
        names = sorted(e.name for e in it if not e.name.startswith(".") and e.is_file())
    return [directory / n for n in names]


def read_node_files(files: Iterable[Path], attributes: Sequence[str] = (), *,
                    warn: Callable[[str], None] | None = None) -> list[NodeInfo]:
    """Every usable node among `files`, ordered by hostname then file name (so the same folder gives the same
    graph). Files that are not node extractions are reported through `warn` and skipped."""
    nodes: list[NodeInfo] = []
    for path in files:
        try:
            node = read_node_file(path, attributes)
        except NodeFileError as exc:
            if warn:
                warn(f"skipping {exc}")
            continue
        if warn:
            for message in node.warnings:
                warn(message)
        nodes.append(node)
    nodes.sort(key=lambda n: (n.hostname, n.source))
    return nodes


def read_node_dir(directory: str | Path, attributes: Sequence[str] = (), *,
                  warn: Callable[[str], None] | None = None) -> list[NodeInfo]:
    """Every usable node of a folder (see read_node_files)."""
    return read_node_files(node_files(directory), attributes, warn=warn)


def duplicate_hostnames(nodes: Sequence[NodeInfo]) -> dict[str, list[str]]:
    """Hostnames that more than one file claims (→ those files), which the graph must name apart."""
    sources: dict[str, list[str]] = {}
    for node in nodes:
        if node.hostname:
            sources.setdefault(node.hostname, []).append(node.source)
    return {host: files for host, files in sources.items() if len(files) > 1}
