"""One-line reasons for a cluster that does not fit a request.

Only called for clusters that failed; it re-asks the evaluation narrower questions (without requirements, one
requirement at a time, one child at a time) until it finds the one that fails, and says it in the job's terms.
"""
from __future__ import annotations

from collections import Counter

from rainbow.graph.index import ClusterIndex
from rainbow.graph.shape import Entry, Shape
from rainbow.jobspec.model import Requirement
from rainbow.jobspec.needs import Group, Need, next_uid

from .engine import Evaluation


def _noun(vtype: str, n: int, mode: str) -> str:
    return vtype if n == 1 or mode == "bytes" or vtype.endswith("s") else f"{vtype}s"


def _amount(need: Need, value: int) -> str:
    """A supply value in the need's own terms (bytes back to its unit)."""
    if need.mode == "bytes":
        per = need.demand // need.quantity if need.quantity else 1
        shown = value / per if per else value
        text = f"{shown:.1f}".rstrip("0").rstrip(".")
        return f"{text} {need.unit} {need.type}"
    return f"{value} {_noun(need.type, value, need.mode)}"


def _requirement(req: Requirement) -> str:
    return f"{req.subsystem} {req.describe()}" if req.subsystem else req.describe()


def describe(need: Need) -> str:
    """'2 nodes with >= 24 cores', '>= 64 GiB memory', '1 node with io type=shm and >= 2 cores'."""
    if need.mode == "count":
        head = f"{need.quantity} {_noun(need.type, need.quantity, need.mode)}"
    else:
        head = f">= {_amount(need, need.demand)}"
    parts = [_requirement(req) for req in need.requires + need.identity]
    for group in need.groups:
        parts.extend(describe(child) for child in group.needs)
    return f"{head} with {' and '.join(parts)}" if parts else head


def _kind(need: Need) -> str:
    """'a gpu', 'a gpu with model=H100', 'memory'."""
    head = need.type if need.mode == "bytes" else f"a {need.type}"
    reqs = [_requirement(req) for req in need.requires + need.identity]
    return f"{head} with {' and '.join(reqs)}" if reqs else head


def _bare(need: Need, requires: tuple[Requirement, ...] = (), identity: tuple[Requirement, ...] = (),
          groups: tuple[Group, ...] = ()) -> Group:
    narrowed = Need(uid=next_uid(), type=need.type, demand=need.demand, mode=need.mode, quantity=need.quantity, unit=need.unit,
                    requires=requires, identity=identity, groups=groups)
    return Group(uid=next_uid(), type=need.type, mode=need.mode, needs=(narrowed,))


def _candidates(ev: Evaluation, top: Entry, vtype: str) -> list[Shape]:
    """Distinct usable shapes of `vtype` (topmost ones) in the cluster."""
    found: dict[int, Shape] = {}
    stack = [top.shape]
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


def _compat_text(ev: Evaluation, index: ClusterIndex) -> str:
    """The most common unmet compatibility attribute across node classes, with what the nodes have."""
    by_prefix: dict[str, list[str]] = {}
    weight: Counter[str] = Counter()
    for cls in index.classes:
        for reason in ev.compat_reasons(cls.shape):
            prefix, _, rest = reason.partition(": ")
            weight[prefix] += cls.count
            by_prefix.setdefault(prefix, [])
            if rest not in by_prefix[prefix]:
                by_prefix[prefix].append(rest)
    prefix = sorted(weight, key=lambda p: (-weight[p], p))[0]
    verbs: dict[str, list[str]] = {}
    for rest in by_prefix[prefix]:
        verb, _, value = rest.partition(" ")[2].partition(" ")
        verbs.setdefault(verb, []).append(value)
    plural = {"is": "are", "has": "have"}
    said = "; ".join(f"nodes {plural.get(verb, verb)} {', '.join(sorted(values))}" for verb, values in verbs.items())
    return f"{prefix}: {said}"


def _why_need(ev: Evaluation, index: ClusterIndex, need: Need) -> str:
    top = index.top
    available = ev.entry_supply(top, _bare(need))
    usable_nodes = sum(cls.count for cls in index.classes if ev.usable(cls.shape))
    if ev.requires and index.summary.nodes and usable_nodes == 0:
        return _compat_text(ev, index)
    if available < need.demand:
        if ev.requires and usable_nodes < index.summary.nodes:
            return (f"{usable_nodes} of {index.summary.nodes} nodes are compatible "
                    f"({_compat_text(ev, index)}); they have {_amount(need, available)}")
        if available == 0:
            return f"the cluster has no {need.type}"
        return f"the cluster has {_amount(need, available)}"
    for req in need.requires + need.identity:
        single = _bare(need, requires=(req,) if req in need.requires else (),
                       identity=(req,) if req in need.identity else ())
        have = ev.entry_supply(top, single)
        if have == 0:
            return f"no {need.type} has {_requirement(req)}"
        if have < need.demand:
            return f"only {_amount(need, have)} with {_requirement(req)}"
    shapes = [s for s in _candidates(ev, top, need.type) if ev.meets(s, need)]
    for group in need.groups:
        if len(group.needs) != 1:
            continue
        child = group.needs[0]
        best = max((ev.shape_supply(s, group) for s in shapes), default=0)
        if best == 0:
            return f"no {need.type} has {describe(child) if child.mode == 'count' else _kind(child)}"
        if best < child.demand:
            return f"the largest {need.type} has {_amount(child, best)}"
    have = ev.entry_supply(top, _bare(need, need.requires, need.identity, need.groups))
    return f"only {have} {_noun(need.type, have, 'count')} qualify"


def explain(ev: Evaluation, index: ClusterIndex) -> str:
    """Why `index` does not fit the evaluation's request, in one line."""
    for group in ev.groups:
        if ev.top_group_ok(index.top, group):
            continue
        for need in group.needs:
            single = Group(uid=need.uid, type=group.type, mode=group.mode, needs=(need,))
            if not ev.top_group_ok(index.top, single):
                return f"needs {describe(need)}; {_why_need(ev, index, need)}"
        wanted = " and ".join(describe(need) for need in group.needs)
        return f"needs {wanted} on distinct {group.type}s; there are not enough for all"
    return "does not fit"
