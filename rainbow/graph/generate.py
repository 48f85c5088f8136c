"""Synthetic cluster graphs from a short description of their node kinds, for benchmarks, tests and demos.

The graphs are what `compspec create nodes` makes (cluster -> rack -> node -> socket -> core, memory and GPU
vertices, node properties), written in the rainbow or the fluxion dialect by compspec.jgf's writers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from compspec.jgf import VertexRow, build_from_rows, vertex_row


@dataclass(frozen=True)
class NodeKind:
    """`count` nodes with this shape; `gpu_on_socket` hangs the GPUs off socket 0 instead of the node."""

    count: int
    sockets: int = 1
    cores_per_socket: int = 4
    memory_gib: int = 0
    gpus: int = 0
    gpu_model: str = ""
    gpu_on_socket: bool = False
    properties: dict[str, str] = field(default_factory=dict)


class _Rows:
    """The vertices of a synthetic graph as rows for compspec.jgf's writers (uniq ids in creation order)."""

    def __init__(self, name: str, dialect: str) -> None:
        self.name = name
        self.dialect = dialect
        self.rows: list[VertexRow] = []
        self.counters: dict[str, int] = {}

    def add(self, vtype: str, parent: tuple[int, str] | None, size: int = 1, unit: str = "",
            properties: dict[str, str] | None = None, basename: str | None = None) -> tuple[int, str]:
        uid = len(self.rows)
        index = self.counters.get(vtype, 0)
        self.counters[vtype] = index + 1
        base = basename or vtype
        path = f"{parent[1] if parent else ''}/{base}{index}"
        self.rows.append(vertex_row(uid, parent[0] if parent else -1, vtype, base, f"{base}{index}", index, path,
                                    size, unit, -1, properties))
        return uid, path

    def document(self) -> dict[str, Any]:
        return build_from_rows(self.rows, self.name, self.dialect)


def make_graph(name: str, kinds: Sequence[NodeKind], racks: int = 1, dialect: str = "rainbow",
               hostnames: bool = True) -> dict[str, Any]:
    """A cluster graph document with the given node kinds, nodes spread over `racks` in turn."""
    writer = _Rows(name, dialect)
    root = writer.add("cluster", None, basename=name)
    rack_vertices = [writer.add("rack", root) for _ in range(max(1, racks))]
    number = 0
    for kind in kinds:
        for _ in range(kind.count):
            props = dict(kind.properties)
            if hostnames:
                props["hostname"] = f"{name}-n{number}"
            if kind.gpus:
                props.setdefault("gpu.count", str(kind.gpus))
                if kind.gpu_model:
                    props.setdefault("gpu.model", kind.gpu_model)
            node = writer.add("node", rack_vertices[number % len(rack_vertices)], properties=props)
            number += 1
            sockets = [writer.add("socket", node) for _ in range(kind.sockets)]
            for socket in sockets:
                for _ in range(kind.cores_per_socket):
                    writer.add("core", socket)
            if kind.memory_gib:
                writer.add("memory", node, size=kind.memory_gib, unit="GiB")
            gpu_parent = sockets[0] if kind.gpu_on_socket and sockets else node
            gpu_props = {"model": kind.gpu_model} if kind.gpu_model else None
            for _ in range(kind.gpus):
                writer.add("gpu", gpu_parent, properties=gpu_props)
    return writer.document()


def make_subsystem(name: str, attach: dict[str, Sequence[dict[str, Any]]]) -> dict[str, Any]:
    """A subsystem graph (rainbow dialect) hanging vertices with the given metadata off dominant labels."""
    nodes: dict[str, Any] = {f"{name}0": {"label": f"{name}0", "metadata": {
        "type": name, "basename": name, "name": f"{name}0", "id": 0, "uniq_id": 0, "size": 1,
        "paths": {"containment": f"/{name}0"}}}}
    edges = []
    for label in sorted(attach):
        for meta in attach[label]:
            vid = f"{name}{len(nodes)}"
            full = {"basename": meta.get("type", name), "name": vid, "id": len(nodes), "uniq_id": len(nodes),
                    "size": 1, "paths": {"containment": f"/{name}0/{vid}"}}
            full.update(meta)
            nodes[vid] = {"label": vid, "metadata": full}
            edges.append({"source": label, "target": vid, "relation": "contains"})
            edges.append({"source": vid, "target": label, "relation": "in"})
    return {"graph": {"directed": True, "nodes": nodes, "edges": edges}}
