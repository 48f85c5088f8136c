"""One-line reasons for a cluster that does not fit a request.

Only called for clusters that failed; it re-asks the evaluation narrower questions (without requirements, one
requirement at a time, one child at a time) until it finds the one that fails, and says it in the job's terms.
The narrower questions are made once per request, so their answers per node class are shared by every cluster.
"""
from __future__ import annotations

from collections import Counter

from compspec.compat import Shortfall
from rainbow.graph.index import ClusterIndex
from rainbow.graph.settings import default_unit
from rainbow.graph.shape import Shape
from rainbow.jobspec.model import Requirement
from rainbow.jobspec.needs import Group, Need, next_uid

from .engine import ClassTable, Evaluation


def _noun(vtype: str, n: int, mode: str) -> str:
    return vtype if n == 1 or mode == "bytes" or vtype.endswith("s") else f"{vtype}s"


def _amount(need: Need, value: int) -> str:
    """A supply value in the need's own terms (bytes back to its unit; a unitless size in the graph's unit)."""
    if need.mode == "size" and not need.unit and default_unit(need.type):
        return f"{value} {default_unit(need.type)} {need.type}"
    if need.mode == "bytes":
        per = need.demand // need.quantity if need.quantity else 1
        shown = value / per if per else value
        text = f"{shown:.1f}".rstrip("0").rstrip(".")
        return f"{text} {need.unit} {need.type}"
    return f"{value} {_noun(need.type, value, need.mode)}"


def _requirement(req: Requirement) -> str:
    return f"{req.subsystem} {req.describe()}" if req.subsystem else req.describe()


def _range(need: Need) -> str:
    """An RFC 14 count range as given (fit is decided by its min): ' (count 2-8, +1)'."""
    if need.count_range is None:
        return ""
    low, high, operator, operand = need.count_range
    return f" (count {low}-{high if high is not None else 'any'}, {operator}{operand})"


def describe(need: Need) -> str:
    """'2 nodes with >= 24 cores', '>= 64 GiB memory', '1 node with io type=shm and >= 2 cores'."""
    if need.mode == "slots":
        parts = " and ".join(describe(child) for group in need.groups for child in group.needs)
        return f"{need.quantity} {'slot' if need.quantity == 1 else 'slots'}{_range(need)} of {parts}, " \
               f"each under one vertex"
    if need.mode == "count":
        head = f"{need.quantity} {'exclusive ' if need.exclusive else ''}" \
               f"{_noun(need.type, need.quantity, need.mode)}{_range(need)}"
    else:
        head = f">= {_amount(need, need.demand)}{' exclusive' if need.exclusive else ''}"
    parts = [_requirement(req) for req in need.requires + need.identity]
    for group in need.groups:
        parts.extend(describe(child) for child in group.needs)
    return f"{head} with {' and '.join(parts)}" if parts else head


def _kind(need: Need) -> str:
    """'a gpu', 'a gpu with model=H100', 'memory'."""
    head = need.type if need.mode == "bytes" or (need.mode == "size" and default_unit(need.type)) \
        else f"a {need.type}"
    reqs = [_requirement(req) for req in need.requires + need.identity]
    return f"{head} with {' and '.join(reqs)}" if reqs else head


class _Explainer:
    """Per-request caches for the parts of a reason that depend only on which node classes a cluster has."""

    def __init__(self, ev: Evaluation) -> None:
        self.ev = ev
        self.compat: dict[tuple, str] = {}
        self.best: dict[tuple, int] = {}
        self.described: dict[int, str] = {}
        self.texts: dict[tuple, str] = {}
        self.usable = ClassTable(lambda shape: int(ev.usable(shape)))
        self.compatible: ClassTable | None = None
        self.node_group: Group | None = None

    def describe(self, need: Need) -> str:
        found = self.described.get(need.uid)
        if found is None:
            found = self.described[need.uid] = describe(need)
        return found

    def candidates(self, index: ClusterIndex, vtype: str) -> list[Shape]:
        """Distinct usable shapes of `vtype` (the topmost ones) in the cluster."""
        ev = self.ev
        if vtype == "node" and vtype not in index.outer_types:
            return [shape for shape in index.class_shapes if ev.usable(shape)]
        found: dict[int, Shape] = {}
        stack = [index.root]
        seen: set[int] = set()
        while stack:
            shape = stack.pop()
            if shape.uid in seen:
                continue
            seen.add(shape.uid)
            if not ev.usable(shape):
                continue
            if shape.type == vtype:
                found[shape.uid] = shape
                continue
            stack.extend(entry.shape for entry in shape.entries)
        return list(found.values())

    def compat_text(self, index: ClusterIndex) -> str:
        """The unmet compatibility attribute most node classes share, with what those nodes have."""
        found = self.compat.get(index.class_uids)
        if found is None:
            found = self._compat_text(index)
            self.compat[index.class_uids] = found
        return found

    def _compat_text(self, index: ClusterIndex) -> str:
        """'cpu.target x86_64_v4: nodes are haswell, zen3': the requirement most node classes miss."""
        by_requirement: dict[tuple[str, str], list[Shortfall]] = {}
        weight: Counter[tuple[str, str]] = Counter()
        for shape in index.class_shapes:
            for item in self.ev.compat_reasons(shape):
                key = (item.attribute, item.required)
                weight[key] += 1
                shortfalls = by_requirement.setdefault(key, [])
                if item.shortfall not in shortfalls:
                    shortfalls.append(item.shortfall)
        key = sorted(weight, key=lambda k: (-weight[k], k))[0]
        verbs: dict[str, list[str]] = {}
        for shortfall in by_requirement[key]:
            verb = shortfall.verb if shortfall.value is not None else "has"
            verbs.setdefault(verb, []).append(shortfall.value if shortfall.value is not None else shortfall.missing)
        plural = {"is": "are", "has": "have"}
        said = "; ".join(f"nodes {plural.get(verb, verb)} {', '.join(sorted(values))}"
                         for verb, values in verbs.items())
        return f"{key[0]} {key[1]}: {said}"

    def best_child(self, index: ClusterIndex, need: Need, group: Group) -> int:
        """The most of `group` any one vertex of the need's type (meeting its requirements) holds."""
        key = (need.uid, group.uid, index.class_uids if need.type not in index.outer_types else index.key)
        found = self.best.get(key)
        if found is None:
            ev = self.ev
            shapes = [s for s in self.candidates(index, need.type) if ev.meets(s, need)]
            found = max((ev.shape_supply(s, group) for s in shapes), default=0)
            self.best[key] = found
        return found

    def exclusive_shortfall(self, shapes: list[Shape], group: Group) -> str | None:
        """Enough of the group below some vertex, but not once its exclusive siblings take their vertices whole."""
        ev = self.ev
        child = group.needs[0]
        best = None
        for shape in shapes:
            have = ev.shape_supply(shape, group)
            taken = ev.withheld_below(shape.entries, shape.uid, group)
            if have - taken >= child.demand + group.reserve:
                return None
            if best is None or have - taken > best[0] - best[1]:
                best = (have, taken, shape.type)
        if best is None:
            return None
        have, taken, where = best
        names = " and ".join(dict.fromkeys(n.type for n in group.exclusive))
        verb = "take" if " and " in names else "takes"
        return (f"the largest {where} has {_amount(child, have)}, and the exclusive {names} {verb} "
                f"{_amount(child, taken)} of them whole")

    def usable_nodes(self, index: ClusterIndex) -> int:
        """Nodes the job may use at all (compatible, and inside its constraint)."""
        ev = self.ev
        if ev.member_filter is not None:
            if self.node_group is None:
                node = Need(uid=next_uid(), type="node", demand=1, mode="count", quantity=1, unit="", requires=(),
                            identity=(), groups=())
                self.node_group = Group(uid=next_uid(), type="node", mode="count", needs=(node,))
            return ev.top_supply(index, self.node_group)
        return self.usable.total(index) if (ev.requires or ev.shape_filter is not None) else index.summary.nodes

    def blames_constraint(self, index: ClusterIndex) -> bool:
        """Are nodes left out by the job's constraint (rather than by its compatibility requirements)?"""
        ev = self.ev
        return ev.request.constraint is not None and (
            not ev.requires or self.compat_total(index) == index.summary.nodes)

    def compat_total(self, index: ClusterIndex) -> int:
        ev = self.ev
        table = self.compatible
        if table is None:
            table = self.compatible = ClassTable(lambda shape: int(not ev.compat_reasons(shape)))
        return table.total(index)

    def why_slots(self, index: ClusterIndex, need: Need, available: int) -> str:
        """A slot fits nowhere whole: say which part no single vertex holds, with the most one does."""
        ev = self.ev
        hosts = self.host_shapes(index, need)
        for group in need.groups:
            if len(group.needs) != 1:
                continue
            child = group.needs[0]
            best, where = 0, ""
            for shape in hosts:
                have = ev.shape_supply(shape, group)
                if have > best or not where:
                    best, where = have, shape.type
            if not hosts or best == 0:
                return f"no vertex holds {_kind(child) if child.mode != 'count' else describe(child)}"
            if best < child.demand + group.reserve:
                return f"the largest {where} has {_amount(child, best)}"
            if group.exclusive:
                text = self.exclusive_shortfall(hosts, group)
                if text is not None:
                    return text
        if available == 0:
            return "no single vertex holds all of one slot"
        return f"only {available} fit"

    def host_shapes(self, index: ClusterIndex, need: Need) -> list[Shape]:
        """Distinct usable shapes a slot of `need` may sit at (topmost ones)."""
        ev = self.ev
        group = ev.narrow(need, groups=need.groups)
        found: dict[int, Shape] = {}
        stack = [index.root]
        seen: set[int] = set()
        while stack:
            shape = stack.pop()
            if shape.uid in seen or not ev.usable(shape):
                continue
            seen.add(shape.uid)
            if ev.is_target(shape, group):
                found[shape.uid] = shape
                continue
            stack.extend(entry.shape for entry in shape.entries)
        return sorted(found.values(), key=lambda s: s.uid)

    def why_need(self, index: ClusterIndex, need: Need, reserve: int = 0) -> str:
        """Reasons depend on the cluster's node classes and a few totals; clusters alike in those share one."""
        ev = self.ev
        whole = need.groups if need.mode == "slots" else ()  # a slot without its parts is nothing
        available = ev.top_supply(index, ev.narrow(need, groups=whole))
        nodes = index.summary.nodes
        usable = self.usable_nodes(index)
        flat = not need.identity and need.type not in index.outer_types
        key = (need.uid, index.class_uids if flat else index.key, nodes, available, usable, reserve)
        found = self.texts.get(key)
        if found is None:
            found, shared = self._why_need(index, need, available, nodes, usable, reserve)
            if shared:
                self.texts[key] = found
        return found

    def _why_need(self, index: ClusterIndex, need: Need, available: int, nodes: int,
                  usable: int, reserve: int) -> tuple[str, bool]:
        """The reason, and whether it follows from the key of `why_need` alone (else it is not shared)."""
        ev = self.ev
        constraint = ev.request.constraint
        if nodes and usable == 0 and (ev.requires or constraint is not None):
            if self.blames_constraint(index):
                return f"no node meets the constraint {constraint.describe()}", True
            return self.compat_text(index), True
        if available < need.demand + reserve:
            if usable < nodes:
                if self.blames_constraint(index):
                    return (f"{usable} of {nodes} nodes meet the constraint {constraint.describe()}; "
                            f"they have {_amount(need, available)}"), True
                return (f"{usable} of {nodes} nodes are compatible ({self.compat_text(index)}); "
                        f"they have {_amount(need, available)}"), True
            if need.mode == "slots":
                return self.why_slots(index, need, available), True
            if available >= need.demand:
                return (f"the cluster has {_amount(need, available)}, and the job's other resources take "
                        f"{_amount(need, reserve)} of them"), True
            if available == 0:
                return f"the cluster has no {need.type}", True
            return f"the cluster has {_amount(need, available)}", True
        for req in need.requires + need.identity:
            plain = req in need.requires
            single = ev.narrow(need, (req,) if plain else (), () if plain else (req,))
            have = ev.top_supply(index, single)
            if have == 0:
                return f"no {need.type} has {_requirement(req)}", True
            if have < need.demand:
                return f"only {_amount(need, have)} with {_requirement(req)}", False
        for group in need.groups:
            if len(group.needs) != 1:
                continue
            child = group.needs[0]
            best = self.best_child(index, need, group)
            if best == 0:
                what = self.describe(child) if child.mode == "count" else _kind(child)
                return f"no {need.type} has {what}", True
            if best < child.demand:
                return f"the largest {need.type} has {_amount(child, best)}", True
            if best < child.demand + group.reserve:
                return (f"the largest {need.type} has {_amount(child, best)}, and its other resources take "
                        f"{_amount(child, group.reserve)} of them"), True
            if group.exclusive:
                shapes = [s for s in self.candidates(index, need.type) if ev.meets(s, need)]
                text = self.exclusive_shortfall(shapes, group)
                if text is not None:
                    return text, True
        have = ev.top_supply(index, ev.narrow(need, need.requires, need.identity, need.groups))
        return f"only {have} {_noun(need.type, have, 'count')} qualify", False

    def explain(self, index: ClusterIndex, failed: int = -1) -> str:
        ev = self.ev
        if failed < 0 and len(ev.groups) == 1:
            failed = 0  # a cluster that does not fit fails the only group there is
        for position, group in enumerate(ev.groups):
            if position < failed or (failed < 0 and ev.top_ok(index, group)):
                continue
            if len(group.needs) == 1:
                need = group.needs[0]
                return f"needs {self.describe(need)}; {self.why_need(index, need, group.reserve)}"
            for need in group.needs:
                single = ev.narrow(need, need.requires, need.identity, need.groups)
                if not ev.top_ok(index, single):
                    return f"needs {self.describe(need)}; {self.why_need(index, need)}"
            wanted = " and ".join(describe(need) for need in group.needs)
            return f"needs {wanted} on distinct {group.type}s; there are not enough for all"
        return "does not fit"


def explainer(ev: Evaluation) -> _Explainer:
    """The explainer of one evaluation (kept on it, so its caches serve every cluster of the request)."""
    found = getattr(ev, "explainer", None)
    if found is None:
        found = _Explainer(ev)
        ev.explainer = found
    return found


def explain(ev: Evaluation, index: ClusterIndex, failed: int = -1) -> str:
    """Why `index` does not fit the evaluation's request, in one line.

    `failed` is the position of the top-level group the cluster is known to fail (-1: find it).
    """
    return explainer(ev).explain(index, failed)
