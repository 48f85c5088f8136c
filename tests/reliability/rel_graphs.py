"""Cluster graphs, subsystem graphs and jobspecs of a chosen size, built in code for load and fuzz tests.

The reliability tests need graphs of many shapes (one node, hundreds of nodes, with memory and properties) that
the upstream samples do not cover; generating them keeps every shape valid by construction (rainbow JGF dialect:
string labels, `contains` and `in` edges, root of type `cluster`), so a refusal can only come from the server.
"""
from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import yaml


class _Builder:
    """Hands out labels and uniq ids in order, as `compspec create nodes` does."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: list[dict[str, Any]] = []
        self.counters: dict[str, int] = {}

    def vertex(self, vtype: str, basename: str, path: str, parent: str | None, *, size: int = 1, unit: str = "",
               properties: Mapping[str, str] | None = None, root: bool = False) -> tuple[str, str]:
        label = str(len(self.nodes))
        index = self.counters.get(vtype, 0)
        self.counters[vtype] = index + 1
        name = f"{basename}{index}"
        full = f"{path}/{name}"
        meta: dict[str, Any] = {
            "type": vtype, "basename": basename, "name": name, "id": 0 if root else str(index),
            "uniq_id": len(self.nodes), "rank": -1, "exclusive": False, "unit": unit, "size": size,
            "paths": {"containment": full},
        }
        if properties:
            meta["properties"] = dict(properties)
        self.nodes[label] = {"label": label, "metadata": meta}
        if parent is not None:
            self.edges.append({"source": parent, "target": label, "relation": "contains", "metadata": {}})
            self.edges.append({"source": label, "target": parent, "relation": "in", "metadata": {}})
        return label, full


def cluster_graph(name: str, nodes: int = 2, *, sockets: int = 1, cores: int = 4, memory_gib: int = 0,
                  gpus: int = 0, racks: int = 1, properties: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A rainbow-dialect JGF cluster: `nodes` nodes spread over racks, each with sockets x cores."""
    b = _Builder()
    root, root_path = b.vertex("cluster", name, "", None, root=True)
    rack_labels = [b.vertex("rack", "rack", root_path, root) for _ in range(max(1, racks))]
    for n in range(nodes):
        rack, rack_path = rack_labels[n % len(rack_labels)]
        props = {"hostname": f"{name}-n{n}"}
        props.update(properties or {})
        node, node_path = b.vertex("node", "node", rack_path, rack, properties=props)
        for _ in range(sockets):
            sock, sock_path = b.vertex("socket", "socket", node_path, node)
            for _ in range(cores):
                b.vertex("core", "core", sock_path, sock)
        if memory_gib:
            b.vertex("memory", "memory", node_path, node, size=memory_gib, unit="GiB")
        for _ in range(gpus):
            b.vertex("gpu", "gpu", node_path, node)
    return {"graph": {"directed": True, "nodes": b.nodes, "edges": b.edges}, "name": name}


def node_labels(graph: Mapping[str, Any]) -> list[str]:
    """Labels of the node vertices of a graph made by cluster_graph, in label order."""
    found = [label for label, v in graph["graph"]["nodes"].items() if v["metadata"]["type"] == "node"]
    return sorted(found, key=int)


def io_subsystem(graph: Mapping[str, Any], kinds: Sequence[str] = ("shm", "nvme"),
                 attach: Sequence[str] | None = None) -> dict[str, Any]:
    """An `io` subsystem graph hanging one vertex per kind off each chosen dominant label (default: every node)."""
    targets = list(attach) if attach is not None else node_labels(graph)
    nodes: dict[str, dict[str, Any]] = {
        "io0": {"label": "io0", "metadata": {"type": "io", "basename": "io", "name": "io0", "id": 0, "uniq_id": 0,
                                             "size": 1, "exclusive": False, "paths": {"containment": "/io0"}}}}
    edges: list[dict[str, Any]] = []
    for dominant in targets:
        for kind in kinds:
            i = len(nodes)
            label = f"io{i}"
            nodes[label] = {"label": label, "metadata": {
                "type": kind, "basename": kind, "name": f"{kind}{i}", "id": i, "uniq_id": i, "size": 1,
                "exclusive": True, "paths": {"containment": f"/io0/{kind}{i}"}}}
            edges.append({"source": dominant, "target": label, "relation": "contains"})
            edges.append({"source": label, "target": dominant, "relation": "in"})
    return {"graph": {"directed": True, "nodes": nodes, "edges": edges}}


def nextgen_jobspec(nodes: int = 1, cores: int = 1, *, name: str = "", command: Sequence[str] = ("hostname",),
                    requires: Sequence[Mapping[str, Any]] = (), compat: Mapping[str, Mapping[str, str]] | None = None,
                    parameters: Mapping[str, float] | None = None) -> dict[str, Any]:
    """A nextgen v1 jobspec: `nodes` node slots, each with `cores` cores."""
    resource: dict[str, Any] = {"type": "node", "replicas": nodes, "with": [{"type": "core", "count": cores}]}
    if requires:
        resource["requires"] = [dict(r) for r in requires]
    doc: dict[str, Any] = {"version": 1, "resources": {"work": resource},
                           "tasks": [{"command": list(command), "resources": "work"}]}
    if name:
        doc["name"] = name
    if compat:
        doc["requires"] = {ns: dict(attrs) for ns, attrs in compat.items()}
    if parameters:
        doc["attributes"] = {"parameter": dict(parameters)}
    return doc


def flux_jobspec(nodes: int = 1, cores: int = 1, command: Sequence[str] = ("hostname",)) -> dict[str, Any]:
    """A Flux jobspec v1 (RFC 14): nodes x one slot x cores."""
    return {"version": 1,
            "resources": [{"type": "node", "count": nodes, "with": [
                {"type": "slot", "count": 1, "label": "default", "with": [{"type": "core", "count": cores}]}]}],
            "tasks": [{"command": list(command), "slot": "default", "count": {"per_slot": 1}}],
            "attributes": {"system": {"duration": 0}}}


def render(doc: Any, form: str) -> str:
    """A document as the text a client would send: "json" or "yaml"."""
    if form == "json":
        return json.dumps(doc, sort_keys=True)
    if form == "yaml":
        return yaml.safe_dump(doc, sort_keys=False)
    raise ValueError(f"unknown form {form!r}")


def nested_jobspec_yaml(depth: int) -> str:
    """A nextgen jobspec whose resource tree is `depth` levels of `with:` deep (a parser-recursion probe)."""
    lines = ["version: 1", "resources:", "  work:", "    type: node", "    replicas: 1"]
    indent = "    "
    for _ in range(depth):
        lines.append(f"{indent}with:")
        lines.append(f"{indent}- type: core")
        lines.append(f"{indent}  count: 1")
        indent += "  "
    lines += ["tasks:", "- command: [hostname]", "  resources: work"]
    return "\n".join(lines) + "\n"


def nested_flow_jobspec(depth: int) -> str:
    """The same probe in flow style (`[[[...]]]`), which recursive-descent parsers hit first."""
    return "version: 1\nresources:\n  work: " + "[" * depth + "]" * depth + "\n"


def nested_dash_jobspec(depth: int, indicator: str = "-") -> str:
    """The probe in compact block style (`- - - x`, or `? ? ? x` with explicit keys): two bytes a level, and no
    bracket to count."""
    return "version: 1\nresources:\n  work:\n    " + f"{indicator} " * depth + "x\n"


def alias_bomb_yaml(levels: int = 12, width: int = 9) -> str:
    """A YAML document whose aliases expand to width**levels leaves if anything walks it naively."""
    lines = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * width)
        lines.append(f"a{i}: &a{i} [{refs}]")
    lines += ["resources:", "  work:", "    type: node", "    replicas: 1",
              f"    attributes: {{bomb: *a{levels - 1}}}",
              "    with:", "    - type: core", "      count: 1",
              "tasks:", "- command: [hostname]", "  resources: work"]
    return "\n".join(lines) + "\n"
