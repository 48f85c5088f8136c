"""Node templates documents (schemas/node-templates.json): what `compspec create template` writes and rainbow reads.

A template describes nodes a cloud cluster starts on demand, in the terms autoscalers use (an instance type, its
cores, memory and GPUs, labels, a price and how many may run); the sizes may come from a node extraction file of
one such node, so a template says what the real node says.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from compspec import documents
from compspec.nodes import NodeInfo
from compspec.schemas import FormatError, validate

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
# node properties that name one machine, not the kind of node a template stands for
_MACHINE_PROPERTIES = ("hostname", "gpu.count", "gpu.model", "gpu.vendor")


def from_node(node: NodeInfo) -> dict[str, Any]:
    """The fields a node extraction gives a template: sockets, cores, memory, GPUs and the node's properties."""
    entry: dict[str, Any] = {"cores": node.cores}
    if node.sockets > 1 and node.cores % node.sockets == 0:  # a template's sockets hold equal shares of its cores
        entry["sockets"] = node.sockets
    if node.memory_gib:
        entry["memory_gib"] = node.memory_gib
    if node.gpus:
        entry["gpus"] = len(node.gpus)
        models = sorted({g.model for g in node.gpus if g.model})
        if models:
            entry["gpu_model"] = ",".join(models)
    props = {k: v for k, v in node.properties.items() if k not in _MACHINE_PROPERTIES}
    if props:
        entry["properties"] = props
    return entry


def parse_requirement(text: str) -> dict[str, Any]:
    """'instance_type In c5,m5', 'gpu_model Exists', 'cores Gt 4' as a requirement entry."""
    parts = text.split(None, 2)
    if len(parts) < 2 or parts[1] not in OPERATORS:
        raise FormatError(f"requirement {text!r}: expected 'KEY OPERATOR [VALUE,...]' with OPERATOR one of "
                          f"{', '.join(OPERATORS)}")
    entry: dict[str, Any] = {"key": parts[0], "operator": parts[1]}
    if len(parts) == 3:
        entry["values"] = [v.strip() for v in parts[2].split(",") if v.strip()]
    return entry


def document(template: Mapping[str, Any], *, base: Mapping[str, Any] | None = None,
             limits: Mapping[str, int] | None = None, requirements: Sequence[Mapping[str, Any]] = ()) -> dict:
    """A templates document holding `template` (replacing one of the same name in `base`), checked against the
    schema before anyone writes it."""
    doc: dict[str, Any] = {"version": 1, "templates": []}
    if base:
        doc.update(base)
        doc["templates"] = [t for t in base.get("templates", []) if t.get("name") != template.get("name")]
    doc["templates"].append(dict(template))
    if limits:
        doc["limits"] = {**doc.get("limits", {}), **limits}
    if requirements:
        doc["requirements"] = [*doc.get("requirements", []), *requirements]
    validate("node-templates", doc, "templates")
    seen: set[str] = set()
    for i, entry in enumerate(doc["templates"]):
        if entry["name"] in seen:
            raise FormatError(f"templates: templates[{i}].name: {entry['name']} is given twice")
        seen.add(entry["name"])
        if entry["cores"] % entry.get("sockets", 1):
            raise FormatError(f"templates: templates[{i}].cores: {entry['cores']} is not a multiple of sockets "
                              f"({entry.get('sockets', 1)})")
        if entry.get("min_nodes", 0) > entry["max_nodes"]:
            raise FormatError(f"templates: templates[{i}].min_nodes: more than max_nodes ({entry['max_nodes']})")
    return doc


def read(path: str) -> dict[str, Any]:
    """An existing templates document, checked."""
    return documents.read(path, path, schema="node-templates", kind=dict)
