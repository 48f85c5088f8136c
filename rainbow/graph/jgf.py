"""Read JSON Graph Format documents in the three dialects found in the wild into plain vertices and edges.

rainbow (JGF v2, nodes keyed by label, `relation` on edges), fluxion (JGF v1, nodes as a list, edge subsystems) and
compspec's Python JsonGraph (nodes keyed by label, the relation under `metadata.name`). What differs is only how
vertices are listed and how an edge says it is a containment edge; everything after this module is dialect-free.
"""
from __future__ import annotations

from collections import abc
from dataclasses import dataclass, field
from typing import Any, Mapping

from compspec import documents
from compspec.schemas import FormatError, validate

from .errors import GraphError

# Parsed JSON is made of dicts: checking for dict first keeps the ABC check off the per-vertex path.
_MAPPINGS = (dict, abc.Mapping)


@dataclass(slots=True)
class Vertex:
    """One vertex as read (not frozen: a frozen dataclass's __init__ costs a third of reading a large graph)."""

    label: str
    type: str
    size: int
    unit: str
    properties: dict[str, str]
    metadata: dict[str, Any]


@dataclass
class RawGraph:
    """A document's vertices and its containment edges, before any semantic check."""

    dialect: str
    name: str
    vertices: dict[str, Vertex]
    edges: list[tuple[int, str, str, str | None]] = field(default_factory=list)
    # edges of the other subsystems (power, network, io...): (index, source, target, subsystem)
    links: list[tuple[int, str, str, str]] = field(default_factory=list)


def load_json(data: str | bytes | Mapping, what: str) -> dict[str, Any]:
    """A graph document's text (or an already parsed mapping) as a dict; a repeated key (a vertex label given
    twice) is refused rather than silently kept once."""
    return documents.load(data, what, syntax="json", kind=dict, unique_keys=True, error=GraphError)


def _edge_subsystem(metadata: Mapping[str, Any]) -> str:
    """The subsystem an edge belongs to: `metadata.subsystem` (Fluxion's current JGF) or the one key of
    `metadata.name` (its older `{"name": {"power": "supplies-to"}}`); containment when neither says."""
    subsystem = metadata.get("subsystem")
    if isinstance(subsystem, str) and subsystem:
        return subsystem
    named = metadata.get("name")
    if isinstance(named, _MAPPINGS) and len(named) == 1:
        return next(iter(named))
    return "containment"


def _edge_relation(edge: Mapping[str, Any]) -> tuple[str, str | None]:
    """The edge's subsystem, and for containment edges 'contains', 'in' or None (not part of the hierarchy)."""
    metadata = edge.get("metadata")
    relation = edge.get("relation")
    if not metadata:
        return "containment", (relation if relation in ("contains", "in") else
                               ("contains" if relation is None else None))
    subsystem = _edge_subsystem(metadata)
    if subsystem != "containment":
        return subsystem, None
    if relation is None:
        named = metadata.get("name")
        if isinstance(named, _MAPPINGS):
            relation = named.get("containment")
    if relation is None or relation == "contains":
        return subsystem, "contains"
    if relation == "in":
        return subsystem, "in"
    return subsystem, None


def _properties(label: str, metadata: Mapping[str, Any]) -> dict[str, str]:
    props = metadata.get("properties")
    if type(props) is dict and all(type(v) is str for v in props.values()):  # the common case, no ABC checks
        return dict(props)
    if props is None:
        attributes = metadata.get("attributes")
        # compspec's JsonGraph keeps free-form attributes; only a flat string mapping reads as properties
        if attributes is not None and isinstance(attributes, _MAPPINGS) and all(
                isinstance(v, str) for v in attributes.values()):
            props = attributes
    if props is None:
        return {}
    if not isinstance(props, _MAPPINGS) or not all(isinstance(v, str) for v in props.values()):
        raise GraphError(f"vertex {label}: metadata.properties must map names to strings")
    return dict(props)


def _vertex(label: str, metadata: Any) -> Vertex:
    if not isinstance(metadata, _MAPPINGS):
        raise GraphError(f"vertex {label}: metadata must be an object")
    vtype = metadata.get("type")
    if not isinstance(vtype, str) or not vtype:
        raise GraphError(f"vertex {label}: metadata.type must be a non-empty string")
    size = metadata.get("size", 1)
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise GraphError(f"vertex {label}: metadata.size must be a non-negative integer, got {size!r}")
    unit = metadata.get("unit", "") or ""
    if not isinstance(unit, str):
        raise GraphError(f"vertex {label}: metadata.unit must be a string")
    return Vertex(label, vtype, size, unit, _properties(label, metadata), metadata)


def read_graph(doc: Mapping[str, Any], what: str) -> RawGraph:
    """Detect the dialect, validate against its schema, and list vertices and containment edges."""
    graph = doc.get("graph")
    if not isinstance(graph, _MAPPINGS):
        raise GraphError(f"{what}: graph: missing or not an object")
    nodes = graph.get("nodes")
    try:
        if isinstance(nodes, list):
            dialect = "fluxion"
            validate("jgf-fluxion", doc, what, fast=True)
        else:
            validate("jgf-rainbow", doc, what, fast=True)
            edges = graph.get("edges") or []
            dialect = "compspec" if edges and all("relation" not in e for e in edges) else "rainbow"
    except GraphError:
        raise
    except FormatError as exc:
        raise GraphError(str(exc)) from None

    vertices: dict[str, Vertex] = {}
    if dialect == "fluxion":
        for item in nodes:
            label = item["id"]
            if label in vertices:
                raise GraphError(f"{what}: vertex {label}: duplicate id")
            vertices[label] = _vertex(label, item["metadata"])
    else:
        for key, item in nodes.items():
            label = item.get("label", key)
            if label != key:
                raise GraphError(f"{what}: vertex {key}: label {label!r} differs from its key")
            vertices[key] = _vertex(key, item["metadata"])

    raw = RawGraph(dialect=dialect, name=doc.get("name") or "", vertices=vertices)
    append_edge, append_link = raw.edges.append, raw.links.append
    for i, edge in enumerate(graph.get("edges") or []):
        subsystem, relation = _edge_relation(edge)
        if subsystem == "containment":
            append_edge((i, edge["source"], edge["target"], relation))
        else:
            append_link((i, edge["source"], edge["target"], subsystem))
    return raw
