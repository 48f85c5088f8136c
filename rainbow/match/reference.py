"""The matching semantics written plainly: walk every vertex of the full graph, remember nothing.

It is the yardstick for the index matcher (tests check they agree on random graphs and jobs; the benchmark
reports how much faster the index is). It shares only the leaf rules with the engine: how one requirement reads
one value, how much one vertex provides, and the distinct-vertices check for sibling needs of one type.
"""
from __future__ import annotations

from typing import Iterator, Mapping

from compspec.compat import Mappings, check
from rainbow.graph.model import ClusterGraph, Subsystem
from rainbow.graph.settings import identity_fields
from rainbow.graph.shape import canonical
from rainbow.jobspec.model import Request
from rainbow.jobspec.needs import Group, Need

from .engine import hall, vertex_amount
from .requirements import vertex_meets


class ReferenceMatcher:
    """One cluster graph with its subsystems; `fits(request)` walks it from the root for every question."""

    def __init__(self, graph: ClusterGraph, subsystems: Mapping[str, Subsystem] | None = None,
                 mappings: Mappings | None = None) -> None:
        self.graph = graph
        self.mappings = mappings
        skip = identity_fields()
        self.attachments: dict[str, dict[str, list[dict[str, str]]]] = {}
        for name, sub in (subsystems or {}).items():
            for label, targets in sub.attachments.items():
                metas = self.attachments.setdefault(label, {}).setdefault(name, [])
                for target in targets:
                    metas.append({k: canonical(v) for k, v in sub.vertices[target].metadata.items() if k not in skip})
        self.requires: dict = {}

    def fits(self, request: Request) -> bool:
        self.requires = request.requires
        root = self.graph.root
        return all(self._group_ok_at(self._top_candidates(root, group.type), group) for group in request.groups)

    def _usable(self, label: str) -> bool:
        vertex = self.graph.vertices[label]
        if vertex.type != "node" or not self.requires:
            return True
        return not check(self.requires, vertex.properties, self.mappings)

    def _below(self, label: str, vtype: str) -> Iterator[str]:
        """Topmost usable vertices of `vtype` strictly below `label`."""
        stack = list(reversed(self.graph.children[label]))
        while stack:
            current = stack.pop()
            if not self._usable(current):
                continue
            if self.graph.vertices[current].type == vtype:
                yield current
            else:
                stack.extend(reversed(self.graph.children[current]))

    def _top_candidates(self, root: str, vtype: str) -> list[str]:
        if not self._usable(root):
            return []
        if self.graph.vertices[root].type == vtype:
            return [root]
        return list(self._below(root, vtype))

    def _qualifies(self, label: str, need: Need) -> bool:
        vertex = self.graph.vertices[label]
        attached = self.attachments.get(label, {})
        for req in need.requires + need.identity:
            if not vertex_meets(vertex.properties, lambda name: attached.get(name, ()), req):
                return False
        return all(self._group_ok_at(list(self._below(label, group.type)), group) for group in need.groups)

    def _group_ok_at(self, candidates: list[str], group: Group) -> bool:
        vector: dict[int, int] = {}
        for label in candidates:
            vertex = self.graph.vertices[label]
            mask = 0
            for i, need in enumerate(group.needs):
                if self._qualifies(label, need):
                    mask |= 1 << i
            if mask:
                amount = vertex_amount(vertex.size, vertex.unit, vertex.type, group.needs[0])
                vector[mask] = vector.get(mask, 0) + amount
        return hall(vector, [need.demand for need in group.needs])
