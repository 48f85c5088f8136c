"""Turn JGF documents into validated ClusterGraph and Subsystem objects.

Schemas catch wrong JSON types; the checks here catch what a schema cannot: edges to missing vertices, a
containment hierarchy that is not a single tree. networkx does the graph questions (roots, cycles) once, at load;
it is imported where it is used, so reading a jobspec (which shares the graph settings) never loads it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from .errors import GraphError
from .jgf import RawGraph, load_json, read_graph
from .model import ClusterGraph, Subsystem
from .settings import max_depth

if TYPE_CHECKING:
    import networkx as nx


def _check_endpoints(raw: RawGraph, known, what: str) -> None:
    for i, source, target, _ in raw.edges:
        for end, label in (("source", source), ("target", target)):
            if label not in known:
                raise GraphError(f"{what}: edge {i} ({source} -> {target}): {end} {label} is not a vertex")


def _cycle_text(graph: nx.DiGraph, reverse: bool = False) -> str:
    """One cycle as 'a -> b -> c -> a', starting at its smallest label (`reverse`: edges point child to parent)."""
    import networkx as nx

    labels = [edge[0] for edge in nx.find_cycle(graph)]
    if reverse:
        labels.reverse()
    start = labels.index(min(labels))
    labels = labels[start:] + labels[:start]
    return " -> ".join(labels + [labels[0]])


def _tree(raw: RawGraph, what: str) -> tuple[str, dict[str, list[str]], dict[str, str]]:
    """The containment tree: each vertex's children and parent, after checking it is one rooted tree."""
    children: dict[str, list[str]] = {label: [] for label in raw.vertices}
    parent: dict[str, str] = {}
    for i, source, target, relation in raw.edges:
        if relation != "contains":
            continue
        if source == target:
            raise GraphError(f"{what}: edge {i} ({source} -> {target}): a vertex cannot contain itself")
        known = parent.get(target)
        if known is not None:
            if known == source:
                continue
            raise GraphError(f"{what}: vertex {target} is contained by more than one vertex ({known}, {source})")
        parent[target] = source
        children[source].append(target)
    roots = sorted(label for label in raw.vertices if label not in parent)
    limit = max_depth()
    if len(roots) == 1:
        seen = 1
        level = [roots[0]]
        depth = 0
        while level:
            depth += 1
            if depth > limit:
                raise GraphError(f"{what}: containment deeper than {limit} levels below {roots[0]}")
            level = [kid for label in level for kid in children[label]]
            seen += len(level)
        if seen == len(raw.vertices):
            return roots[0], children, parent
    # not one tree: say why, with networkx finding the cycle if there is one
    import networkx as nx

    tree = nx.DiGraph(list(parent.items()))
    if not nx.is_directed_acyclic_graph(tree):
        raise GraphError(f"{what}: containment cycle {_cycle_text(tree, reverse=True)}")
    shown = ", ".join(roots[:5]) + (", ..." if len(roots) > 5 else "")
    raise GraphError(f"{what}: expected exactly one containment root (a vertex nothing contains), "
                     f"found {len(roots)}: {shown}")


def _outside_containment(raw: RawGraph) -> dict[str, tuple[str, ...]]:
    """Vertices that only other subsystems hold (their `paths` name subsystems, none of them containment)."""
    out: dict[str, tuple[str, ...]] = {}
    for label, vertex in raw.vertices.items():
        paths = vertex.metadata.get("paths")
        if paths and isinstance(paths, (dict, Mapping)) and "containment" not in paths:
            out[label] = tuple(paths)
    return out


def _embedded_subsystems(raw: RawGraph, others: dict[str, tuple[str, ...]], what: str) -> dict[str, Subsystem]:
    """Each non-containment subsystem of one file, registered as the cluster's subsystem of that name.

    A subsystem vertex is attached to every containment vertex one of that subsystem's edges joins it to (either
    direction: Fluxion's power edges run from the supply to the node); one pass over the edges.
    """
    vertices: dict[str, dict] = {}
    attachments: dict[str, dict[str, dict[str, None]]] = {}
    for label, names in others.items():
        for name in names:
            vertices.setdefault(name, {})[label] = raw.vertices[label]
    for i, source, target, subsystem in raw.links:
        source_out, target_out = source in others, target in others
        if source_out == target_out:
            continue  # inside the subsystem, or between two containment vertices: nothing to attach
        dominant, member = (target, source) if source_out else (source, target)
        vertices.setdefault(subsystem, {})[member] = raw.vertices[member]
        attachments.setdefault(subsystem, {}).setdefault(dominant, {})[member] = None
    for i, source, target, _ in raw.edges:
        if (source in others) != (target in others):
            raise GraphError(f"{what}: edge {i} ({source} -> {target}): a containment edge joins a vertex outside "
                             f"containment (its paths name only {', '.join(others.get(source) or others[target])})")
    return {name: Subsystem(name=name, vertices=members,
                            attachments={label: list(kids) for label, kids in attachments.get(name, {}).items()})
            for name, members in sorted(vertices.items()) if attachments.get(name)}


def parse_graph(data: str | bytes | dict, what: str = "graph") -> "ClusterGraph":
    """Load and validate a cluster graph in any of the three JGF dialects; messages start with `what` (the file or
    the request field the graph came in).

    A file holding several subsystems (Fluxion writes containment with power, network, io...) gives the
    containment tree as the cluster graph and every other subsystem as one of the cluster's subsystems.
    """
    raw = read_graph(load_json(data, what), what)
    _check_endpoints(raw, raw.vertices, what)
    for i, source, target, _ in raw.links:
        for end, label in (("source", source), ("target", target)):
            if label not in raw.vertices:
                raise GraphError(f"{what}: edge {i} ({source} -> {target}): {end} {label} is not a vertex")
    others = _outside_containment(raw)
    subsystems = _embedded_subsystems(raw, others, what) if others else {}
    if others:
        raw = RawGraph(dialect=raw.dialect, name=raw.name,
                       vertices={k: v for k, v in raw.vertices.items() if k not in others},
                       edges=[e for e in raw.edges if e[1] not in others])
    root, children, parent = _tree(raw, what)
    top = raw.vertices[root]
    name = raw.name or str(top.metadata.get("basename") or top.metadata.get("name") or root)
    nodes = sum(1 for v in raw.vertices.values() if v.type == "node")
    return ClusterGraph(name=name, dialect=raw.dialect, vertices=raw.vertices, children=children, parent=parent,
                        root=root, node_count=nodes, subsystems=subsystems)


def parse_subsystem(data: str | bytes | dict, name: str, graph: ClusterGraph) -> Subsystem:
    """Load a subsystem graph whose edges hang its vertices off labels of `graph`: its containment edges from a
    cluster vertex, or its own subsystem's edges in either direction (a PDU's edge to the node it feeds)."""
    what = f"subsystem {name}"
    if not name:
        raise GraphError("subsystem: a name is required")
    raw = read_graph(load_json(data, what), what)
    clashes = sorted(set(raw.vertices) & set(graph.vertices))
    if clashes:
        raise GraphError(f"{what}: vertex label {clashes[0]} is also a cluster graph label")
    known = raw.vertices.keys() | graph.vertices.keys()
    _check_endpoints(raw, known, what)
    for i, source, target, _ in raw.links:
        for end, label in (("source", source), ("target", target)):
            if label not in known:
                raise GraphError(f"{what}: edge {i} ({source} -> {target}): {end} {label} is not a vertex")
    import networkx as nx

    internal = nx.DiGraph()
    internal.add_nodes_from(raw.vertices)
    attachments: dict[str, dict[str, None]] = {}
    for i, source, target, relation in raw.edges:
        if relation != "contains":
            continue
        if target not in raw.vertices:
            raise GraphError(f"{what}: edge {i} ({source} -> {target}): a subsystem cannot contain a cluster vertex")
        if source in raw.vertices:
            internal.add_edge(source, target)
        else:
            attachments.setdefault(source, {})[target] = None
    for i, source, target, _ in raw.links:  # edges in the subsystem's own name (Fluxion's power edges)
        if source in raw.vertices and target in raw.vertices:
            continue
        if source not in raw.vertices and target not in raw.vertices:
            raise GraphError(f"{what}: edge {i} ({source} -> {target}): joins two cluster vertices")
        dominant, member = (source, target) if target in raw.vertices else (target, source)
        attachments.setdefault(dominant, {})[member] = None
    if not nx.is_directed_acyclic_graph(internal):
        raise GraphError(f"{what}: containment cycle {_cycle_text(internal)}")
    return Subsystem(name=name, vertices=raw.vertices,
                     attachments={label: list(kids) for label, kids in attachments.items()})


def parse_subsystems(items: Mapping[str, str | bytes | dict], graph: ClusterGraph) -> dict[str, Subsystem]:
    return {name: parse_subsystem(data, name, graph) for name, data in items.items()}
