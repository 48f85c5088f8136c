"""A cluster's match index: its graph folded into shapes, its node classes, and summaries for quick rejection.

The index is all the matcher keeps in memory per cluster; the full graph stays in the store. It pickles to a flat
list of shapes and is re-interned on load, so indexes read back share shapes with the ones already in memory.
"""
from __future__ import annotations

import functools

from collections import Counter
from dataclasses import dataclass, field
from typing import Mapping

from .errors import GraphError
from .jgf import Vertex
from .model import ClusterGraph, Subsystem
from .settings import device_properties, identity_fields, identity_properties
from .shape import Entry, Identity, Shape, canonical, group_children, intern_shape


@dataclass(frozen=True)
class NodeClass:
    """Nodes of one shape and how many the cluster has."""

    shape: Shape
    count: int


@dataclass
class Summary:
    """Cluster-wide bounds a job can be rejected on before any class is looked at."""

    nodes: int = 0
    max_per_node: dict[str, int] = field(default_factory=dict)
    property_values: dict[str, frozenset[str]] = field(default_factory=dict)


class ClusterIndex:
    """What matching needs of one cluster: the root entry of its shape tree, node classes and a summary."""

    def __init__(self, name: str, top: Entry, vertex_count: int, subsystems: tuple[str, ...]) -> None:
        self.name = name
        self.top = top
        self.vertex_count = vertex_count
        self.subsystems = subsystems
        self.classes, self.summary = _classify(top.shape)
        # The flat view: node classes as parallel tuples, so a job is judged with a few C-level loops; valid for
        # needs whose type no vertex outside the nodes has (`outer_types`).
        flat = sorted(self.classes, key=lambda c: c.shape.uid)
        self.class_shapes = tuple(c.shape for c in flat)
        self.class_uids = tuple(c.shape.uid for c in flat)
        self.class_counts = tuple(c.count for c in flat)
        self.outer_types = _outer_types(top.shape)
        self.outer_child_types = _outer_child_types(top.shape)
        self.key = (top.shape.uid, top.members)

    @property
    def root(self) -> Shape:
        return self.top.shape

    @property
    def node_count(self) -> int:
        return self.summary.nodes

    @functools.cached_property
    def totals(self) -> dict[str, int]:
        """How much of each vertex type the whole cluster has (nodes, cores, GPUs...): what free figures are
        shares of."""
        return amounts_below(self.top.shape)

    def __repr__(self) -> str:
        return f"ClusterIndex({self.name!r}, nodes={self.node_count}, classes={len(self.classes)})"

    def __getstate__(self) -> dict:
        order = list(self.top.shape.walk())
        position = {shape.uid: i for i, shape in enumerate(order)}
        table = [(s.type, s.size, s.unit, s.props, s.subsys,
                  tuple((position[e.shape.uid], e.count, e.members) for e in s.entries)) for s in order]
        return {"name": self.name, "shapes": table, "top_members": self.top.members,
                "vertex_count": self.vertex_count, "subsystems": self.subsystems}

    def __setstate__(self, state: dict) -> None:
        built: list[Shape] = []
        for vtype, size, unit, props, subsys, entries in state["shapes"]:
            children = tuple(Entry(built[i], count, members) for i, count, members in entries)
            built.append(intern_shape(vtype, size, unit, props, subsys, children))
        self.__init__(state["name"], Entry(built[-1], 1, state["top_members"]), state["vertex_count"],
                      state["subsystems"])


def _classify(root: Shape) -> tuple[list[NodeClass], Summary]:
    counts: Counter[int] = Counter()
    shapes: dict[int, Shape] = {}
    stack: list[tuple[Shape, int]] = [(root, 1)]
    while stack:
        shape, times = stack.pop()
        if shape.type == "node":
            counts[shape.uid] += times
            shapes[shape.uid] = shape
            continue
        for entry in shape.entries:
            stack.append((entry.shape, times * entry.count))
    classes = sorted((NodeClass(shapes[uid], n) for uid, n in counts.items()),
                     key=lambda c: (-c.count, c.shape.props, c.shape.uid))
    summary = Summary(nodes=sum(counts.values()))
    values: dict[str, set[str]] = {}
    for cls in classes:
        for vtype, amount in amounts_below(cls.shape).items():
            if amount > summary.max_per_node.get(vtype, -1):
                summary.max_per_node[vtype] = amount
        for key, value in cls.shape.props:
            values.setdefault(key, set()).add(value)
    summary.property_values = {key: frozenset(v) for key, v in values.items()}
    return classes, summary


def _outer_types(root: Shape) -> frozenset[str]:
    """Types of the vertices not inside any node (the root, racks, anything hung off them)."""
    types: set[str] = set()
    for shape in root.walk_until("node"):
        types.add(shape.type)
    return frozenset(types)


def _outer_child_types(root: Shape) -> frozenset[str]:
    """Types of the direct children of the vertices outside the nodes (where a slot outside the nodes may sit)."""
    return frozenset(entry.shape.type for shape in root.walk_until("node") for entry in shape.entries)


def split_properties(vertex: Vertex, identity_keys: frozenset[str], dropped: frozenset[str]
                     ) -> tuple[dict[str, str], dict[str, str]]:
    """A vertex's properties that describe its kind, and those that name it (kept per member).

    A node is named by its `hostname` property, else by its vertex name (Fluxion's JGF names nodes by host), and
    by its broker rank when the graph gives one: the names hostlist and ranks constraints read.
    """
    props = {k: v for k, v in vertex.properties.items() if k not in identity_keys and k not in dropped}
    identity = {k: v for k, v in vertex.properties.items() if k in identity_keys}
    if vertex.type == "node":
        name = vertex.metadata.get("name")
        if "hostname" not in identity and isinstance(name, str) and name:
            identity["hostname"] = name
        rank = vertex.metadata.get("rank")
        if isinstance(rank, int) and not isinstance(rank, bool) and rank >= 0:
            identity["rank"] = str(rank)
    return props, identity


def amounts_below(shape: Shape) -> dict[str, int]:
    """Total size of each vertex type anywhere below `shape` (not counting itself)."""
    totals: Counter[str] = Counter()
    stack: list[tuple[Shape, int]] = [(shape, 1)]
    while stack:
        current, times = stack.pop()
        for entry in current.entries:
            totals[entry.shape.type] += times * entry.count * entry.shape.size
            stack.append((entry.shape, times * entry.count))
    return dict(totals)


def _attachments(subsystems: Mapping[str, Subsystem] | None) -> dict[str, list[tuple[str, tuple]]]:
    """dominant label -> [(subsystem name, canonical metadata of one attached vertex)]."""
    skip = identity_fields()
    out: dict[str, list[tuple[str, tuple]]] = {}
    for name in sorted(subsystems or {}):
        sub = subsystems[name]
        for label, targets in sub.attachments.items():
            for target in targets:
                meta = tuple(sorted((k, canonical(v)) for k, v in sub.vertices[target].metadata.items()
                                    if k not in skip))
                out.setdefault(label, []).append((name, meta))
    return out


def _subsys(attached: list[tuple[str, tuple]] | None) -> tuple:
    if not attached:
        return ()
    by_name: dict[str, set[tuple]] = {}
    for name, meta in attached:
        by_name.setdefault(name, set()).add(meta)
    return tuple((name, tuple(sorted(metas))) for name, metas in sorted(by_name.items()))


def all_subsystems(graph: ClusterGraph, registered: Mapping[str, Subsystem] | None) -> dict[str, Subsystem]:
    """The graph's own subsystems with the registered ones; a name in both holds the vertices of both."""
    out = dict(graph.subsystems)
    for name, sub in (registered or {}).items():
        mine = out.get(name)
        if mine is None:
            out[name] = sub
            continue
        attachments = {label: list(kids) for label, kids in mine.attachments.items()}
        for label, kids in sub.attachments.items():
            attachments.setdefault(label, []).extend(k for k in kids if k not in attachments[label])
        out[name] = Subsystem(name=name, vertices={**mine.vertices, **sub.vertices}, attachments=attachments)
    return out


def build_index(graph: ClusterGraph, subsystems: Mapping[str, Subsystem] | None = None) -> ClusterIndex:
    """Fold a validated graph (and its subsystems) into shapes; cost is one pass over the vertices.

    The subsystems the graph's own file held count as registered ones of the same name.
    """
    identity_keys = identity_properties()
    dropped = device_properties()
    subsystems = all_subsystems(graph, subsystems)
    attached = _attachments(subsystems)
    for label in attached:
        if label not in graph.vertices:
            raise GraphError(f"subsystem: attaches to vertex {label}, which cluster {graph.name} lacks")
    made: dict[str, tuple[Shape, Identity]] = {}
    children, vertices = graph.children, graph.vertices
    # Most vertices are plain leaves (cores, GPUs, memory) of a few kinds: each kind is interned once.
    plain_leaves: dict[tuple[str, int, str], tuple[Shape, Identity]] = {}

    def fold(label: str, entries: tuple[Entry, ...]) -> tuple[Shape, Identity]:
        vertex = vertices[label]
        own, named = split_properties(vertex, identity_keys, dropped)
        shape = intern_shape(vertex.type, vertex.size, vertex.unit, tuple(sorted(own.items())),
                             _subsys(attached.get(label)), entries)
        return shape, tuple(sorted(named.items()))

    stack: list[tuple[str, bool]] = [(graph.root, False)]
    while stack:
        label, expanded = stack.pop()
        kids = children[label]
        if expanded:
            made[label] = fold(label, group_children([made.pop(kid) for kid in kids]))
            continue
        stack.append((label, True))
        for kid in kids:
            if children[kid]:
                stack.append((kid, False))
                continue
            vertex = vertices[kid]
            if vertex.properties or vertex.type == "node" or kid in attached:
                made[kid] = fold(kid, ())
                continue
            key = (vertex.type, vertex.size, vertex.unit)
            found = plain_leaves.get(key)
            if found is None:
                found = plain_leaves[key] = fold(kid, ())
            made[kid] = found
    root_shape, root_identity = made[graph.root]
    top = Entry(root_shape, 1, (root_identity,) if root_identity else None)
    return ClusterIndex(graph.name, top, graph.vertex_count, tuple(sorted(subsystems or {})))
