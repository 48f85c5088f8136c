"""The matching semantics written plainly: walk every vertex of the full graph, remember nothing.

It is the yardstick for the index matcher (tests check they agree on random graphs and jobs; the benchmark
reports how much faster the index is). It shares only the leaf rules with the engine: how one requirement reads
one value, how much one vertex provides, and the distinct-vertices check for sibling needs of one type.
"""
from __future__ import annotations

from typing import Iterator, Mapping

from compspec.compat import Mappings, check
from rainbow.graph.index import all_subsystems
from rainbow.graph.model import ClusterGraph, Subsystem
from rainbow.graph.index import split_properties
from rainbow.graph.settings import device_properties, identity_fields, identity_properties
from rainbow.graph.shape import canonical
from rainbow.jobspec.model import Request
from rainbow.jobspec.needs import Group, Need

from .engine import hall, vertex_amount, withheld
from .requirements import vertex_meets


class ReferenceMatcher:
    """One cluster graph with its subsystems; `fits(request)` walks it from the root for every question."""

    def __init__(self, graph: ClusterGraph, subsystems: Mapping[str, Subsystem] | None = None,
                 mappings: Mappings | None = None) -> None:
        self.graph = graph
        self.mappings = mappings
        skip = identity_fields()
        self.attachments: dict[str, dict[str, list[dict[str, str]]]] = {}
        for name, sub in all_subsystems(graph, subsystems).items():
            for label, targets in sub.attachments.items():
                metas = self.attachments.setdefault(label, {}).setdefault(name, [])
                for target in targets:
                    metas.append({k: canonical(v) for k, v in sub.vertices[target].metadata.items() if k not in skip})
        keys, dropped = identity_properties(), device_properties()
        self.properties = {label: split_properties(v, keys, dropped) for label, v in graph.vertices.items()}
        self.requires: dict = {}
        self.constraint = None

    def fits(self, request: Request) -> bool:
        self.requires = request.requires
        self.constraint = request.constraint
        root = self.graph.root
        return all(self._group_ok_at(self._top_candidates(root, group), group, parent=None)
                   for group in request.groups)

    def _usable(self, label: str) -> bool:
        """A node the job may use: it meets the compatibility requirements and the constraint."""
        vertex = self.graph.vertices[label]
        if vertex.type != "node":
            return True
        props, identity = self.properties[label]
        if self.requires and check(self.requires, props, self.mappings):
            return False
        return self.constraint is None or self.constraint.holds(props, identity)

    def _is_target(self, label: str, group: Group) -> bool:
        """A vertex of the group's type; for a slot, a vertex with a direct child of one of the slot's types."""
        if group.mode == "slots":
            hosts = group.needs[0].hosts
            return any(self.graph.vertices[kid].type in hosts for kid in self.graph.children[label])
        return self.graph.vertices[label].type == group.type

    def _below(self, label: str, group: Group) -> Iterator[str]:
        """Topmost usable vertices the group counts, strictly below `label`."""
        stack = list(reversed(self.graph.children[label]))
        while stack:
            current = stack.pop()
            if not self._usable(current):
                continue
            if self._is_target(current, group):
                yield current
            else:
                stack.extend(reversed(self.graph.children[current]))

    def _top_candidates(self, root: str, group: Group) -> list[str]:
        if not self._usable(root):
            return []
        if self._is_target(root, group):
            return [root]
        return list(self._below(root, group))

    def _qualifies(self, label: str, need: Need) -> bool:
        vertex = self.graph.vertices[label]
        attached = self.attachments.get(label, {})
        props, identity = self.properties[label]
        values = {**props, **identity}
        for req in need.requires + need.identity:
            if not vertex_meets(values, lambda name: attached.get(name, ()), req):
                return False
        return all(self._group_ok_at(list(self._below(label, group)), group, parent=label) for group in need.groups)

    def _slots_at(self, label: str, need: Need) -> int:
        """How many whole slots fit under `label`: the most k such that k copies of every part do."""
        best = None
        for group in need.groups:
            candidates = list(self._below(label, group))
            k = 0
            while self._group_ok_at(candidates, group, k + 1, parent=label):
                k += 1
            best = k if best is None else min(best, k)
        return best or 0

    def _withheld(self, parent: str | None, group: Group, times: int) -> int:
        """What the group's exclusive siblings take whole, below `parent` (None: the whole cluster)."""
        total = 0
        for need in group.exclusive:
            items = []
            stack = [self.graph.root] if parent is None else list(self.graph.children[parent])
            while stack:
                current = stack.pop()
                if not self._usable(current):
                    continue
                vertex = self.graph.vertices[current]
                if vertex.type != need.type:
                    stack.extend(self.graph.children[current])
                    continue
                if not self._qualifies(current, need):
                    continue
                held = 0
                for inner in self._below(current, group):
                    if any(self._qualifies(inner, other) for other in group.needs):
                        kid = self.graph.vertices[inner]
                        held += vertex_amount(kid.size, kid.unit, kid.type, group.needs[0])
                items.append((held, vertex_amount(vertex.size, vertex.unit, vertex.type, need), 1))
            total += withheld(items, need.demand * times)
        return total

    def _group_ok_at(self, candidates: list[str], group: Group, times: int = 1, parent: str | None = None) -> bool:
        """Distinct candidates meet `times` copies of every need of the group and its siblings' reserve."""
        vector: dict[int, int] = {}
        for label in candidates:
            vertex = self.graph.vertices[label]
            if group.mode == "slots":
                amount = self._slots_at(label, group.needs[0])
                if amount:
                    vector[1] = vector.get(1, 0) + amount
                continue
            mask = 0
            for i, need in enumerate(group.needs):
                if self._qualifies(label, need):
                    mask |= 1 << i
            if mask:
                amount = vertex_amount(vertex.size, vertex.unit, vertex.type, group.needs[0])
                vector[mask] = vector.get(mask, 0) + amount
        reserve = group.reserve * times
        if group.exclusive:
            reserve += self._withheld(parent, group, times)
        return hall(vector, [need.demand * times for need in group.needs], reserve)
