"""Judge one request against cluster indexes, one shape at a time.

An `Evaluation` belongs to one request. It remembers, per shape, whether that shape qualifies for a need and how
much of a group it supplies, so clusters sharing node shapes (or whole trees) cost a lookup after the first.
"""
from __future__ import annotations

from compspec.compat import Mappings, check
from rainbow.graph.index import ClusterIndex
from rainbow.graph.settings import default_unit
from rainbow.graph.shape import Entry, Shape
from rainbow.jobspec.model import Request
from rainbow.jobspec.needs import Group, Need, unit_bytes

from .requirements import value_meets, vertex_meets

Vector = dict[int, int]


def hall(vector: Vector, demands: list[int]) -> bool:
    """Can disjoint vertices meet every demand? Supply by mask of needs a vertex may serve (Gale/Hall)."""
    k = len(demands)
    for subset in range(1, 1 << k):
        wanted = sum(demands[i] for i in range(k) if subset >> i & 1)
        have = sum(amount for mask, amount in vector.items() if mask & subset)
        if have < wanted:
            return False
    return True


def vertex_amount(size: int, unit: str, vtype: str, need: Need) -> int:
    """How much of `need` one vertex provides: 1 vertex, its size, or its size in bytes."""
    if need.mode == "count":
        return 1
    if need.mode == "size":
        return size
    per = unit_bytes(unit or default_unit(vtype))
    return size * (per if per is not None else unit_bytes(need.unit))


class Evaluation:
    """One request over any number of cluster indexes, with per-shape memos."""

    def __init__(self, request: Request, mappings: Mappings | None = None) -> None:
        self.request = request
        self.groups: tuple[Group, ...] = request.groups
        self.requires = request.requires
        self.mappings = mappings
        self._compat: dict[int, list[str]] = {}
        self._qualifies: dict[tuple[int, int], bool] = {}
        self._supply: dict[tuple[int, int], int] = {}
        self._vector: dict[tuple[int, int], Vector] = {}
        self._top: dict[tuple, bool] = {}

    # -- compatibility: a node failing the job's top-level requires is not used at all

    def compat_reasons(self, shape: Shape) -> list[str]:
        found = self._compat.get(shape.uid)
        if found is None:
            found = check(self.requires, shape.propmap, self.mappings) if self.requires else []
            self._compat[shape.uid] = found
        return found

    def usable(self, shape: Shape) -> bool:
        return shape.type != "node" or not self.requires or not self.compat_reasons(shape)

    # -- one shape against one need

    def meets(self, shape: Shape, need: Need) -> bool:
        return all(vertex_meets(shape.propmap, shape.attached, req) for req in need.requires)

    def qualifies(self, shape: Shape, need: Need) -> bool:
        key = (shape.uid, need.uid)
        found = self._qualifies.get(key)
        if found is None:
            found = self.usable(shape) and self.meets(shape, need) and all(
                self.group_ok(shape, group) for group in need.groups)
            self._qualifies[key] = found
        return found

    @staticmethod
    def members_meeting(entry: Entry, need: Need) -> int:
        if not need.identity:
            return entry.count
        members = entry.members or ((),) * entry.count
        return sum(1 for member in members
                   if all(value_meets(dict(member).get(req.field), req) for req in need.identity))

    # -- supply of a group below a shape

    def entry_supply(self, entry: Entry, group: Group) -> int:
        shape = entry.shape
        if shape.type == group.type:
            need = group.needs[0]
            if not self.qualifies(shape, need):
                return 0
            return self.members_meeting(entry, need) * vertex_amount(shape.size, shape.unit, shape.type, need)
        if not self.usable(shape):
            return 0
        return entry.count * self.shape_supply(shape, group)

    def shape_supply(self, shape: Shape, group: Group) -> int:
        key = (shape.uid, group.uid)
        found = self._supply.get(key)
        if found is None:
            found = sum(self.entry_supply(entry, group) for entry in shape.entries)
            self._supply[key] = found
        return found

    def entry_vector(self, entry: Entry, group: Group) -> Vector:
        shape = entry.shape
        out: Vector = {}
        if shape.type == group.type:
            amount = vertex_amount(shape.size, shape.unit, shape.type, group.needs[0])
            base = 0
            for i, need in enumerate(group.needs):
                if self.qualifies(shape, need) and not need.identity:
                    base |= 1 << i
            identity = [(i, need) for i, need in enumerate(group.needs) if need.identity and self.qualifies(shape, need)]
            if not identity:
                if base:
                    out[base] = entry.count * amount
                return out
            members = entry.members or ((),) * entry.count
            for member in members:
                values = dict(member)
                mask = base
                for i, need in identity:
                    if all(value_meets(values.get(req.field), req) for req in need.identity):
                        mask |= 1 << i
                if mask:
                    out[mask] = out.get(mask, 0) + amount
            return out
        if not self.usable(shape):
            return out
        for mask, amount in self.shape_vector(shape, group).items():
            out[mask] = amount * entry.count
        return out

    def shape_vector(self, shape: Shape, group: Group) -> Vector:
        key = (shape.uid, group.uid)
        found = self._vector.get(key)
        if found is None:
            found = {}
            for entry in shape.entries:
                for mask, amount in self.entry_vector(entry, group).items():
                    found[mask] = found.get(mask, 0) + amount
            self._vector[key] = found
        return found

    def group_ok(self, shape: Shape, group: Group) -> bool:
        if len(group.needs) == 1:
            return self.shape_supply(shape, group) >= group.needs[0].demand
        return hall(self.shape_vector(shape, group), [need.demand for need in group.needs])

    def top_group_ok(self, top: Entry, group: Group) -> bool:
        if len(group.needs) == 1:
            return self.entry_supply(top, group) >= group.needs[0].demand
        return hall(self.entry_vector(top, group), [need.demand for need in group.needs])

    # -- a whole cluster

    def fits(self, index: ClusterIndex) -> bool:
        top = index.top
        key = (top.shape.uid, top.members)
        found = self._top.get(key)
        if found is None:
            found = all(self.top_group_ok(top, group) for group in self.groups)
            self._top[key] = found
        return found

    def quick_reject(self, index: ClusterIndex) -> bool:
        """Bounds from the summary: more nodes than the cluster has, or more of something than its largest node."""
        summary = index.summary
        wanted = 0
        for group in self.groups:
            if group.type != "node" or group.mode != "count":
                continue
            for need in group.needs:
                wanted += need.demand
                for child in need.groups:
                    if child.mode == "size" and len(child.needs) == 1 and \
                            child.needs[0].demand > summary.max_per_node.get(child.type, 0):
                        return True
        return wanted > summary.nodes

