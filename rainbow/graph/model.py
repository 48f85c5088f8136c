"""A validated cluster graph and subsystem graphs, as plain containment trees."""
from __future__ import annotations

from dataclasses import dataclass, field

from .jgf import Vertex


@dataclass
class ClusterGraph:
    """The dominant (containment) graph of one cluster: vertices, each vertex's children, and the one root."""

    name: str
    dialect: str
    vertices: dict[str, Vertex]
    children: dict[str, list[str]]
    parent: dict[str, str]
    root: str
    node_count: int = 0
    # the other subsystems the same file held, by name (registered as the cluster's subsystems)
    subsystems: dict[str, "Subsystem"] = field(default_factory=dict)

    @property
    def vertex_count(self) -> int:
        return len(self.vertices)


@dataclass
class Subsystem:
    """A subsystem graph (io, spack, ...): its vertices, and which of them hang off each dominant vertex."""

    name: str
    vertices: dict[str, Vertex]
    attachments: dict[str, list[str]] = field(default_factory=dict)
