"""Judge one request against cluster indexes, one shape at a time.

An `Evaluation` belongs to one request. It remembers, per shape, whether that shape qualifies for a need and how
much of a group it supplies, so clusters sharing node shapes (or whole trees) cost a lookup after the first.
"""
from __future__ import annotations

from functools import partial
from itertools import compress, repeat
from operator import mul, not_
from typing import Callable

from compspec.compat import Mappings, Unmet, unmet
from rainbow.graph.index import ClusterIndex
from rainbow.graph.settings import default_unit
from rainbow.graph.shape import Entry, Shape, shape_by_uid
from rainbow.jobspec.model import Request
from rainbow.jobspec.needs import Group, Need, next_uid, unit_bytes

from .requirements import value_meets, vertex_meets

Vector = dict[int, int]


class ClassTable(dict):
    """Node class uid -> a number about one node of that class (what it gives a group, ...); filled on lookup."""

    def __init__(self, compute: Callable[[Shape], int]) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, uid: int) -> int:
        value = self[uid] = self.compute(shape_by_uid(uid))
        return value

    def total(self, index: ClusterIndex) -> int:
        """The number summed over every node of the cluster."""
        return sum(map(mul, index.class_counts, map(self.__getitem__, index.class_uids)))


def hall(vector: Vector, demands: list[int], reserve: int = 0) -> bool:
    """Can disjoint vertices meet every demand? Supply by mask of needs a vertex may serve (Gale/Hall).

    `reserve` is taken by sibling needs of other types from the vertices of any of these needs.
    """
    if reserve:
        extra = 1 << len(demands)
        vector = {mask | extra: amount for mask, amount in vector.items()}
        demands = list(demands) + [reserve]
    k = len(demands)
    for subset in range(1, 1 << k):
        wanted = sum(demands[i] for i in range(k) if subset >> i & 1)
        have = sum(amount for mask, amount in vector.items() if mask & subset)
        if have < wanted:
            return False
    return True


def withheld(items: list[tuple[int, int, int]], demand: int) -> int:
    """What an exclusive need keeps from a sibling group: the vertices it takes, fewest withheld first.

    `items` are (what one vertex holds of the sibling's type, what it gives the need, how many such vertices);
    vertices are taken, those holding least of the sibling first, until they give `demand`.
    """
    total = 0
    for content, amount, count in sorted(items, key=lambda item: (item[0], -item[1])):
        if demand <= 0:
            break
        if amount <= 0:
            continue
        taken = min(count, -(-demand // amount))
        total += taken * content
        demand -= taken * amount
    return total


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
        self._compat: dict[int, list[Unmet]] = {}
        self._qualifies: dict[tuple[int, int], bool] = {}
        self._supply: dict[tuple[int, int], int] = {}
        self._vector: dict[tuple[int, int], Vector] = {}
        self._units: dict[int, ClassTable] = {}
        self._vector_tables: dict[int, tuple[set[int], dict[int, dict[int, int]]]] = {}
        self._narrowed: dict[tuple, Group] = {}
        self._hosting: dict[tuple[int, int], bool] = {}
        self._capacity: dict[tuple[int, int], int] = {}
        self._usable: dict[int, bool] = {}
        self._members: dict[int, tuple[Entry, int]] = {}
        self._exclusive: dict[tuple, list[tuple[int, int, int]]] = {}
        # RFC 31 constraints prune nodes: on properties alone per node class, on hostnames or ranks per node
        constraint = request.constraint
        self.shape_filter = constraint if constraint is not None and not constraint.needs_identity else None
        self.member_filter = constraint if constraint is not None and constraint.needs_identity else None
        self._plain = not self.requires and constraint is None
        self._bounds = self._summary_bounds()
        # per top-level group: (group, demand, per-class table) where the flat view applies, else table None
        self._plan = []
        for group in self.groups:
            simple = len(group.needs) == 1 and not group.needs[0].identity and self.member_filter is None \
                and not group.exclusive
            table = self._units.setdefault(group.uid, ClassTable(partial(self.node_unit, group=group))) \
                if simple else None
            self._plan.append((group, group.needs[0].demand + group.reserve if simple else 0, table))
        self.explainer = None  # made by rainbow.match.explain when a cluster fails

    # -- compatibility: a node failing the job's top-level requires is not used at all

    def compat_reasons(self, shape: Shape) -> list[Unmet]:
        found = self._compat.get(shape.uid)
        if found is None:
            found = unmet(self.requires, shape.propmap, self.mappings) if self.requires else []
            self._compat[shape.uid] = found
        return found

    def usable(self, shape: Shape) -> bool:
        if self._plain or shape.type != "node":
            return True
        found = self._usable.get(shape.uid)
        if found is None:
            found = (not self.requires or not self.compat_reasons(shape)) and (
                self.shape_filter is None or self.shape_filter.holds(shape.propmap, {}))
            self._usable[shape.uid] = found
        return found

    def member_count(self, entry: Entry) -> int:
        """How many of an entry's vertices the job may use (nodes outside a hostlist/ranks constraint: none)."""
        if self.member_filter is None or entry.shape.type != "node":
            return entry.count
        found = self._members.get(id(entry))
        if found is None:
            members = entry.members or ((),) * entry.count
            props = entry.shape.propmap
            holds = self.member_filter.holds
            found = self._members[id(entry)] = (entry, sum(1 for m in members if holds(props, dict(m))))
        return found[1]

    # -- slots placed at one vertex

    def hosts(self, shape: Shape, group: Group) -> bool:
        """Is `shape` a vertex a slot of `group` may sit at (one of its direct children is of a slot type)?"""
        key = (shape.uid, group.uid)
        found = self._hosting.get(key)
        if found is None:
            types = group.needs[0].hosts
            found = self._hosting[key] = any(entry.shape.type in types for entry in shape.entries)
        return found

    def is_target(self, shape: Shape, group: Group) -> bool:
        return shape.type == group.type or (group.mode == "slots" and self.hosts(shape, group))

    def outer(self, index: ClusterIndex, group: Group) -> bool:
        """Can a vertex outside the nodes serve the group (so the per-node-class view does not apply)?"""
        if group.mode == "slots":
            return not group.needs[0].hosts.isdisjoint(index.outer_child_types)
        return group.type in index.outer_types

    def capacity(self, shape: Shape, need: Need) -> int:
        """How many whole slots of `need` fit under one vertex of `shape`, on distinct resources."""
        key = (shape.uid, need.uid)
        found = self._capacity.get(key)
        if found is None:
            found = None
            for group in need.groups:
                if group.exclusive:
                    per = group.needs[0].demand if len(group.needs) == 1 else max(1, min(n.demand for n in group.needs))
                    have = self.shape_supply(shape, group) if len(group.needs) == 1 \
                        else sum(self.shape_vector(shape, group).values())
                    low, high = 0, have // per if per else 1 << 60
                    if high > 1 << 20:
                        high = 1 << 20
                    while low < high:  # the most k with k copies, less what exclusive siblings withhold
                        mid = (low + high + 1) // 2
                        if self.group_ok_times(shape, group, mid):
                            low = mid
                        else:
                            high = mid - 1
                    fit = low
                elif len(group.needs) == 1:
                    per = group.needs[0].demand + group.reserve
                    fit = self.shape_supply(shape, group) // per if per else 1 << 60
                else:
                    vector = self.shape_vector(shape, group)
                    demands = [n.demand for n in group.needs]
                    low, high = 0, sum(vector.values()) // max(1, min(demands))
                    while low < high:  # the most k with k copies of every demand on distinct vertices
                        mid = (low + high + 1) // 2
                        if hall(vector, [d * mid for d in demands], group.reserve * mid):
                            low = mid
                        else:
                            high = mid - 1
                    fit = low
                found = fit if found is None else min(found, fit)
            found = self._capacity[key] = found or 0
        return found

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

    def members_meeting(self, entry: Entry, need: Need) -> int:
        if not need.identity:
            return self.member_count(entry)
        members = entry.members or ((),) * entry.count
        node_filter = self.member_filter if entry.shape.type == "node" else None
        props = entry.shape.propmap
        return sum(1 for member in members
                   if all(value_meets(dict(member).get(req.field), req) for req in need.identity)
                   and (node_filter is None or node_filter.holds(props, dict(member))))

    # -- supply of a group below a shape

    def entry_supply(self, entry: Entry, group: Group) -> int:
        shape = entry.shape
        if shape.type == group.type or (group.mode == "slots" and self.hosts(shape, group)):
            need = group.needs[0]
            if group.mode == "slots":
                return self.member_count(entry) * self.capacity(shape, need) if self.usable(shape) else 0
            if not self.qualifies(shape, need):
                return 0
            return self.members_meeting(entry, need) * vertex_amount(shape.size, shape.unit, shape.type, need)
        if not self.usable(shape):
            return 0
        return self.member_count(entry) * self.shape_supply(shape, group)

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
            identity = [(i, need) for i, need in enumerate(group.needs)
                        if need.identity and self.qualifies(shape, need)]
            if not identity and (self.member_filter is None or shape.type != "node"):
                if base:
                    out[base] = entry.count * amount
                return out
            members = entry.members or ((),) * entry.count
            node_filter = self.member_filter if shape.type == "node" else None
            for member in members:
                values = dict(member)
                if node_filter is not None and not node_filter.holds(shape.propmap, values):
                    continue
                mask = base
                for i, need in identity:
                    if all(value_meets(values.get(req.field), req) for req in need.identity):
                        mask |= 1 << i
                if mask:
                    out[mask] = out.get(mask, 0) + amount
            return out
        if not self.usable(shape):
            return out
        count = self.member_count(entry)
        for mask, amount in self.shape_vector(shape, group).items():
            out[mask] = amount * count
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
        if group.exclusive:
            return self.group_ok_times(shape, group, 1)
        if len(group.needs) == 1:
            return self.shape_supply(shape, group) >= group.needs[0].demand + group.reserve
        return hall(self.shape_vector(shape, group), [need.demand for need in group.needs], group.reserve)

    def group_ok_times(self, shape: Shape, group: Group, times: int) -> bool:
        """`times` copies of the group below `shape`, less what its exclusive siblings withhold."""
        reserve = group.reserve * times + self.withheld_below(shape.entries, shape.uid, group, times)
        if len(group.needs) == 1:
            return self.shape_supply(shape, group) >= group.needs[0].demand * times + reserve
        return hall(self.shape_vector(shape, group), [need.demand * times for need in group.needs], reserve)

    # -- exclusive siblings: they take their vertices whole

    def withheld_below(self, entries, key, group: Group, times: int = 1) -> int:
        """What the group's exclusive siblings (`times` copies of each) withhold from it below one parent."""
        return sum(withheld(self.exclusive_items(entries, key, need, group), need.demand * times)
                   for need in group.exclusive)

    def exclusive_items(self, entries, key, need: Need, group: Group) -> list[tuple[int, int, int]]:
        """(held of the group, given to the need, how many) for the topmost vertices below that could serve `need`."""
        memo = (key, need.uid, group.uid)
        found = self._exclusive.get(memo)
        if found is None:
            merged: dict[tuple[int, int], int] = {}
            for entry in entries:
                for content, amount, count in self.entry_items(entry, need, group):
                    merged[(content, amount)] = merged.get((content, amount), 0) + count
            found = self._exclusive[memo] = [(c, a, n) for (c, a), n in merged.items()]
        return found

    def entry_items(self, entry: Entry, need: Need, group: Group) -> list[tuple[int, int, int]]:
        shape = entry.shape
        if shape.type == need.type:
            if not self.qualifies(shape, need):
                return []
            count = self.members_meeting(entry, need)
            if len(group.needs) == 1:
                content = self.shape_supply(shape, group)
            else:
                content = sum(self.shape_vector(shape, group).values())
            amount = vertex_amount(shape.size, shape.unit, shape.type, need)
            return [(content, amount, count)] if count else []
        if not self.usable(shape):
            return []
        times = self.member_count(entry)
        return [(c, a, n * times) for c, a, n in self.exclusive_items(shape.entries, shape.uid, need, group)]

    # -- a whole cluster

    def node_unit(self, shape: Shape, group: Group) -> int:
        """What one node of `shape` gives a one-need group (the node itself, or what is inside it)."""
        if self.is_target(shape, group):
            need = group.needs[0]
            if group.mode == "slots":
                return self.capacity(shape, need) if self.usable(shape) else 0
            return vertex_amount(shape.size, shape.unit, shape.type, need) if self.qualifies(shape, need) else 0
        if not self.usable(shape):
            return 0
        return self.shape_supply(shape, group)

    def top_supply(self, index: ClusterIndex, group: Group) -> int:
        """How much of a one-need group the whole cluster supplies."""
        if group.needs[0].identity or self.member_filter is not None or self.outer(index, group):
            return self.entry_supply(index.top, group)
        table = self._units.get(group.uid)
        if table is None:
            table = self._units[group.uid] = ClassTable(partial(self.node_unit, group=group))
        return table.total(index)

    def class_vector(self, shape: Shape, group: Group) -> Vector:
        """What one node of `shape` gives each combination of a group's needs."""
        return self.entry_vector(Entry(shape, 1, None), group)

    def top_vector(self, index: ClusterIndex, group: Group) -> Vector:
        if any(need.identity for need in group.needs) or self.member_filter is not None or self.outer(index, group):
            return self.entry_vector(index.top, group)
        seen, by_mask = self._vector_tables.setdefault(group.uid, (set(), {}))
        missing = set(index.class_uids) - seen
        for uid in missing:
            for mask, amount in self.class_vector(shape_by_uid(uid), group).items():
                by_mask.setdefault(mask, {})[uid] = amount
            seen.add(uid)
        uids, counts = index.class_uids, index.class_counts
        total: Vector = {}
        for mask, amounts in by_mask.items():
            value = sum(map(mul, counts, map(amounts.get, uids, repeat(0))))
            if value:
                total[mask] = value
        return total

    def top_ok(self, index: ClusterIndex, group: Group) -> bool:
        if group.exclusive:
            reserve = group.reserve + self.withheld_below((index.top,), ("top", index.key), group)
            if len(group.needs) == 1:
                return self.top_supply(index, group) >= group.needs[0].demand + reserve
            return hall(self.top_vector(index, group), [need.demand for need in group.needs], reserve)
        if len(group.needs) == 1:
            return self.top_supply(index, group) >= group.needs[0].demand + group.reserve
        return hall(self.top_vector(index, group), [need.demand for need in group.needs], group.reserve)

    def fits(self, index: ClusterIndex) -> bool:
        return self.fits_many([index])[0] is None

    def fits_many(self, indexes: list[ClusterIndex]) -> list[int | None]:
        """The request against many clusters, one group at a time over all of them, summary bounds first.

        For each cluster: None when it fits, else the position of the first top-level group it fails (-1 when a
        summary bound already rules it out). Clusters with the same shape tree are judged once.
        """
        first: dict[tuple, int] = {}
        same = [first.setdefault(index.key, i) for i, index in enumerate(indexes)]
        alive = list(first.values())
        wanted, per_node = self._bounds
        if wanted:
            alive = [i for i in alive if indexes[i].summary.nodes >= wanted]
        for vtype, amount in per_node:
            alive = [i for i in alive if indexes[i].summary.max_per_node.get(vtype, 0) >= amount]
        failed: dict[int, int] = dict.fromkeys(set(first.values()).difference(alive), -1)
        for position, (group, demand, table) in enumerate(self._plan):
            if not alive:
                break
            if group.mode == "slots":
                hosts = group.needs[0].hosts
                outer = any(not hosts.isdisjoint(indexes[i].outer_child_types) for i in alive)
            else:
                vtype = group.type
                outer = any(vtype in indexes[i].outer_types for i in alive)
            if table is None or outer:
                good = [self.top_ok(indexes[i], group) for i in alive]
            else:
                get = table.__getitem__
                good = [sum(map(mul, indexes[i].class_counts, map(get, indexes[i].class_uids))) >= demand
                        for i in alive]
            failed.update(dict.fromkeys(compress(alive, map(not_, good)), position))
            alive = list(compress(alive, good))
        return [failed.get(i) for i in same]

    def _summary_bounds(self) -> tuple[int, tuple[tuple[str, int], ...]]:
        """Nodes the job needs at least, and per-node amounts some node must have, from its top-level node needs."""
        wanted = 0
        per_node: list[tuple[str, int]] = []
        for group in self.groups:
            if group.type != "node" or group.mode != "count":
                continue
            for need in group.needs:
                wanted += need.demand
                for child in need.groups:
                    if child.mode == "size" and len(child.needs) == 1:
                        per_node.append((child.type, child.needs[0].demand))
        return wanted, tuple(per_node)

    # -- narrower questions, for explanations

    def narrow(self, need: Need, requires: tuple = (), identity: tuple = (), groups: tuple = ()) -> Group:
        """A one-need group asking for `need` with only the given requirements and children (made once)."""
        key = (need.uid, requires, identity, tuple(group.uid for group in groups))
        found = self._narrowed.get(key)
        if found is None:
            narrowed = Need(uid=next_uid(), type=need.type, demand=need.demand, mode=need.mode,
                            quantity=need.quantity, unit=need.unit, requires=requires, identity=identity,
                            groups=groups, hosts=need.hosts, count_range=need.count_range)
            found = Group(uid=next_uid(), type=need.type, mode=need.mode, needs=(narrowed,))
            self._narrowed[key] = found
        return found
