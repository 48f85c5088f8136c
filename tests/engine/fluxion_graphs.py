"""Cluster graphs in Fluxion's JGF (RFC 4 with Fluxion's vertex metadata), written the way its readers read them.

`tiny` follows the shape of Fluxion's small test graph: a cluster with one rack of two nodes; each node has two
sockets, each socket four cores, one GPU and four memory vertices of 2 GB (Fluxion's GB: 2^30 bytes). Vertices
carry only what Fluxion needs (`type`, `paths`), plus `name`/`rank` on nodes and `size`/`unit` on memory. A power
subsystem (a PDU feeding both nodes) can share the file, with its edges in the old `name` or the new `subsystem`
spelling.
"""
from __future__ import annotations

from typing import Any


class _Jgf:
    def __init__(self, old_edges: bool = False) -> None:
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self.old = old_edges

    def vertex(self, metadata: dict[str, Any]) -> str:
        label = str(len(self.nodes))
        self.nodes.append({"id": label, "metadata": metadata})
        return label

    def edge(self, source: str, target: str, subsystem: str = "containment", relation: str = "contains") -> None:
        metadata = {"name": {subsystem: relation}} if self.old else {"subsystem": subsystem}
        self.edges.append({"source": source, "target": target, "metadata": metadata})

    def document(self) -> dict[str, Any]:
        return {"graph": {"nodes": self.nodes, "edges": self.edges}}


def tiny(nodes: int = 2, sockets: int = 2, cores: int = 4, memory: tuple[int, ...] = (2, 2, 2, 2), gpus: int = 1,
         power: bool = False, old_edges: bool = False, properties: dict[int, dict[str, str]] | None = None,
         ranks: bool = True) -> dict[str, Any]:
    g = _Jgf(old_edges)
    cluster = g.vertex({"type": "cluster", "paths": {"containment": "/tiny0"}})
    rack = g.vertex({"type": "rack", "paths": {"containment": "/tiny0/rack0"}})
    g.edge(cluster, rack)
    pdu = g.vertex({"type": "pdu", "basename": "pdu", "paths": {"power": "/pdu0"}}) if power else None
    for n in range(nodes):
        meta: dict[str, Any] = {"type": "node", "name": f"node{n}",
                                "paths": {"containment": f"/tiny0/rack0/node{n}"}}
        if ranks:
            meta["rank"] = n
        if power:
            meta["paths"]["power"] = f"/pdu0/node{n}"
        if properties and n in properties:
            meta["properties"] = properties[n]
        node = g.vertex(meta)
        g.edge(rack, node)
        if pdu is not None:
            g.edge(pdu, node, "power", "supplies-to")
        for s in range(sockets):
            base = f"/tiny0/rack0/node{n}/socket{s}"
            socket = g.vertex({"type": "socket", "paths": {"containment": base}})
            g.edge(node, socket)
            for c in range(cores):
                g.edge(socket, g.vertex({"type": "core", "paths": {"containment": f"{base}/core{c}"}}))
            for i in range(gpus):
                g.edge(socket, g.vertex({"type": "gpu", "paths": {"containment": f"{base}/gpu{i}"}}))
            for i, size in enumerate(memory):
                g.edge(socket, g.vertex({"type": "memory", "size": size, "unit": "GB",
                                         "paths": {"containment": f"{base}/memory{i}"}}))
    return g.document()
