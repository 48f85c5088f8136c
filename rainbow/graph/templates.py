"""Node templates: the nodes an elastic cluster starts on demand, folded into its match index as identical nodes.

A template (an autoscaler's node group or node pool) stands for up to `max_nodes` nodes of one kind. The index of
a cluster with templates is its fixed graph plus, per template, a synthetic rack (property `template=NAME`) holding
as many identical nodes as the cluster may still start: `max_nodes` less those the cluster reports in use (state
`templates.NAME.in_use`), and no more than the cluster's `limits` leave room for. A template that fails one of the
cluster's `requirements` gets no rack. The matcher then judges the job exactly as on a graph; rainbow.match.elastic
says which template fell short and plans the nodes a job would start, for selection.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Mapping

from compspec import documents

from .errors import GraphError
from .index import ClusterIndex, build_index
from .shape import Entry, Shape, intern_shape

TEMPLATES = "templates"  # the subsystem name a cluster registers its templates under
LIMIT_KEYS = ("cores", "memory_gib", "gpus")


def in_use_key(template: str) -> str:
    """The state key a cluster reports how many nodes of a template it runs already."""
    return f"{TEMPLATES}.{template}.in_use"


@dataclass(frozen=True)
class Template:
    name: str
    instance_type: str
    cores: int
    max_nodes: int
    sockets: int = 1
    memory_gib: int = 0
    gpus: int = 0
    gpu_model: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    properties: tuple[tuple[str, str], ...] = ()
    cost_per_hour: float = 0.0
    min_nodes: int = 0
    startup_seconds: float = 0.0

    def node_properties(self) -> dict[str, str]:
        """The properties each of its nodes carries, which compatibility requirements and constraints read."""
        return {**dict(self.labels), **dict(self.properties), "template": self.name,
                "instance_type": self.instance_type}

    def facts(self) -> dict[str, str]:
        """What a cluster requirement's key may name: the node properties plus the template's sizes."""
        facts = self.node_properties()
        facts.update({"name": self.name, "instance_family": self.instance_type.split(".", 1)[0],
                      "cores": str(self.cores), "memory_gib": str(self.memory_gib), "gpus": str(self.gpus)})
        if self.gpu_model:
            facts["gpu_model"] = self.gpu_model
        return facts

    def per_node(self, key: str) -> int:
        return {"cores": self.cores, "memory_gib": self.memory_gib, "gpus": self.gpus}[key]


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()

    def holds(self, facts: Mapping[str, str]) -> bool:
        from rainbow.match.requirements import OPERATORS  # the jobspec's operators, with their meaning

        return OPERATORS[self.operator](facts.get(self.key), self.values)

    def describe(self) -> str:
        if self.operator in ("Exists", "DoesNotExist"):
            return f"{self.key} {self.operator}"
        return f"{self.key} {self.operator} [{', '.join(self.values)}]"


@dataclass(frozen=True)
class TemplateSet:
    """A cluster's templates, its limits over all of them, and the requirements a template must meet."""

    templates: tuple[Template, ...]
    limits: tuple[tuple[str, int], ...] = ()
    requirements: tuple[Requirement, ...] = ()


def parse_templates(data: str | bytes | Mapping[str, Any], what: str = "templates") -> TemplateSet:
    """A node templates document (JSON or YAML), checked against schemas/node-templates.json and for what a
    schema cannot say (unique names, cores a multiple of sockets, min_nodes <= max_nodes)."""
    doc = documents.load(data, what, schema="node-templates", package="compspec", kind=dict, error=GraphError)
    templates = []
    seen: set[str] = set()
    for i, entry in enumerate(doc["templates"]):
        where = f"{what}: templates[{i}]"
        if entry["name"] in seen:
            raise GraphError(f"{where}.name: {entry['name']} is given twice")
        seen.add(entry["name"])
        sockets = entry.get("sockets", 1)
        if entry["cores"] % sockets:
            raise GraphError(f"{where}.cores: {entry['cores']} is not a multiple of sockets ({sockets})")
        if entry.get("min_nodes", 0) > entry["max_nodes"]:
            raise GraphError(f"{where}.min_nodes: {entry['min_nodes']} is more than max_nodes ({entry['max_nodes']})")
        if entry.get("gpu_model") and not entry.get("gpus"):
            raise GraphError(f"{where}.gpu_model: given for a template without gpus")
        templates.append(Template(
            name=entry["name"], instance_type=entry["instance_type"], cores=entry["cores"],
            max_nodes=entry["max_nodes"], sockets=sockets, memory_gib=entry.get("memory_gib", 0),
            gpus=entry.get("gpus", 0), gpu_model=entry.get("gpu_model", ""),
            labels=tuple(sorted(entry.get("labels", {}).items())),
            properties=tuple(sorted(entry.get("properties", {}).items())),
            cost_per_hour=float(entry.get("cost_per_hour", 0.0)), min_nodes=entry.get("min_nodes", 0),
            startup_seconds=float(entry.get("startup_seconds", 0.0))))
    requirements = tuple(Requirement(r["key"], r["operator"], tuple(r.get("values", ())))
                         for r in doc.get("requirements", ()))
    return TemplateSet(tuple(templates), tuple(sorted(doc.get("limits", {}).items())), requirements)


@dataclass(frozen=True)
class Pool:
    """One template as a cluster can use it now."""

    template: Template
    in_use: int
    available: int  # nodes matching may count on
    capped: str  # the limit that keeps `available` under max_nodes - in_use ("limits.cores 24"), or ""
    excluded: str  # the requirement the template fails ("instance_type In [c5]"), or ""

    @property
    def name(self) -> str:
        return self.template.name

    @property
    def idle(self) -> int:
        """Nodes of min_nodes that run already without work: a job using them waits for no start-up."""
        return max(0, self.template.min_nodes - self.in_use)

    def held_back(self) -> str:
        """Why no more than `available` nodes: 'max_nodes 3', 'max_nodes 4, 1 in use', 'limits.cores 24'."""
        if self.capped:
            return self.capped
        if self.in_use:
            return f"max_nodes {self.template.max_nodes}, {self.in_use} in use"
        return f"max_nodes {self.template.max_nodes}"


def _count(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, (int, float)) and math.isfinite(value):
        return max(0, int(value))
    if isinstance(value, str):
        try:
            return max(0, int(float(value)))
        except ValueError:
            return 0
    return 0


def pools(tset: TemplateSet, state: Mapping[str, Any] | None = None) -> tuple[Pool, ...]:
    """Each template's usable nodes given the cluster's state; the limits count the nodes in use of every
    template, excluded ones too."""
    state = state or {}
    in_use = {t.name: min(t.max_nodes, _count(state.get(in_use_key(t.name)))) for t in tset.templates}
    limits = dict(tset.limits)
    left = {key: limit - sum(in_use[t.name] * t.per_node(key) for t in tset.templates) for key, limit in limits.items()}
    out = []
    for t in tset.templates:
        facts = t.facts()
        failed = next((r for r in tset.requirements if not r.holds(facts)), None)
        room = t.max_nodes - in_use[t.name]
        available, capped = room, ""
        for key in LIMIT_KEYS:
            per = t.per_node(key)
            if key in left and per:
                allowed = max(0, left[key]) // per
                if allowed < available:
                    available, capped = allowed, f"limits.{key} {limits[key]}" + (
                        f" with {limits[key] - left[key]} in use" if left[key] != limits[key] else "")
        out.append(Pool(t, in_use[t.name], 0 if failed else available, capped if not failed else "",
                        failed.describe() if failed else ""))
    return tuple(out)


@functools.lru_cache(maxsize=1024)
def node_shape(template: Template) -> Shape:
    """The shape of one node of the template, made as a graph node of that kind would be."""
    from .generate import NodeKind, make_graph
    from .load import parse_graph

    kind = NodeKind(count=1, sockets=template.sockets, cores_per_socket=template.cores // template.sockets,
                    memory_gib=template.memory_gib, gpus=template.gpus, gpu_model=template.gpu_model,
                    properties=template.node_properties())
    index = build_index(parse_graph(make_graph("template", [kind], hostnames=False)))
    return index.classes[0].shape


class ElasticIndex(ClusterIndex):
    """A cluster index with template nodes in it; keeps the fixed part and the pools to re-count them."""

    def __init__(self, base: ClusterIndex, tset: TemplateSet, pool_list: tuple[Pool, ...],
                 counts: Mapping[str, int]) -> None:
        self.base = base
        self.tset = tset
        self.pools = pool_list
        self.counts = dict(counts)
        racks = []
        added = 0
        for pool in pool_list:
            count = self.counts.get(pool.name, 0)
            if count <= 0:
                continue
            shape = node_shape(pool.template)
            rack = intern_shape("rack", 1, "", (("template", pool.name),), (), (Entry(shape, count, None),))
            racks.append(Entry(rack, 1, None))
            added += 1 + count * (1 + _vertices_below(shape))
        root = base.root
        entries = tuple(sorted(root.entries + tuple(racks),
                               key=lambda e: (e.shape.type, e.shape.size, e.shape.props, e.shape.uid)))
        top = Entry(intern_shape(root.type, root.size, root.unit, root.props, root.subsys, entries), 1,
                    base.top.members)
        super().__init__(base.name, top, base.vertex_count + added, base.subsystems)

    def with_counts(self, counts: Mapping[str, int]) -> "ElasticIndex":
        """The same cluster with other numbers of template nodes (for planning and explanations)."""
        return ElasticIndex(self.base, self.tset, self.pools, counts)

    def available(self) -> dict[str, int]:
        return {pool.name: pool.available for pool in self.pools}

    def __reduce__(self):
        return (ElasticIndex, (self.base, self.tset, self.pools, self.counts))


def _vertices_below(shape: Shape) -> int:
    return sum(entry.count * (1 + _vertices_below(entry.shape)) for entry in shape.entries)


def elastic_index(base: ClusterIndex, tset: TemplateSet, state: Mapping[str, Any] | None = None) -> ElasticIndex:
    """The cluster's index with each template's usable nodes added beside the fixed graph."""
    pool_list = pools(tset, state)
    return ElasticIndex(base, tset, pool_list, {pool.name: pool.available for pool in pool_list})


def cluster_index(graph, subsystems: Mapping[str, str], state: Mapping[str, Any] | None = None) -> ClusterIndex:
    """A cluster's index from its graph and stored subsystem texts, the `templates` one read as node templates."""
    from .load import parse_subsystem

    texts = dict(subsystems)
    templates = texts.pop(TEMPLATES, None)
    index = build_index(graph, {sub: parse_subsystem(text, sub, graph) for sub, text in texts.items()})
    if templates is None:
        return index
    return elastic_index(index, parse_templates(templates), state)
