"""Normalise a request's resources into needs: slots placed, counts multiplied out, sizes in comparable units.

A slot under a resource only groups its children, so `node{slot count 2 with core 4}` is `core 8` in each node. A
slot with no resource above it is placed, as Fluxion places it, at one vertex directly above one of its resource
types, and all of one slot comes from under that vertex: `slot{socket 3}` needs a node with 3 sockets. A slot of
one resource of count 1 (`slot{node}`, nextgen `node replicas: R`) is placed anywhere, so it stays a plain need. A
nextgen resource with `replicas: R` is a slot of R around itself. Sibling needs of one type form a group: they draw
on the same pool of vertices, so the matcher checks them together; what one sibling asks for inside its own
vertices (`socket{core 4}` beside `core 4`) is reserved out of the other's pool, so siblings take distinct
resources.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Sequence

from rainbow.graph.settings import byte_units, identity_properties

from .errors import JobspecError
from .model import Requirement, ResourceRequest

MAX_DEPTH = 16
_UIDS = itertools.count(1)


@dataclass(eq=False)
class Need:
    """`demand` of `type` below one parent vertex; each counted vertex must meet `requires` and host `groups`.

    `mode` says what is counted: "count" (vertices, for a need with children), "size" (the vertices' sizes) or
    "bytes" (sizes converted to bytes, for memory and anything with a byte unit).
    """

    uid: int
    type: str
    demand: int
    mode: str
    quantity: int
    unit: str
    requires: tuple[Requirement, ...]
    identity: tuple[Requirement, ...]
    groups: tuple["Group", ...]
    # mode "slots": the types the slot names directly; a vertex with a direct child of one of them can hold slots
    hosts: frozenset[str] = frozenset()
    count_range: tuple | None = None
    exclusive: bool = False


@dataclass(eq=False)
class Group:
    """Needs of one type under one parent; `reserve` is what sibling needs take from the same pool."""

    uid: int
    type: str
    mode: str
    needs: tuple[Need, ...]
    reserve: int = 0
    # exclusive sibling needs of other types: each takes its vertices whole, so what they hold of this group's
    # type is withheld from it (how much depends on the graph, so the matcher works it out)
    exclusive: tuple[Need, ...] = ()


def next_uid() -> int:
    """A fresh id for a need or group: evaluations remember results by these ids."""
    return next(_UIDS)


def unit_bytes(unit: str) -> int | None:
    return byte_units().get(unit)


def _placed_anywhere(res: ResourceRequest) -> bool:
    """A slot of a single resource of count 1 is local wherever it is put."""
    return len(res.with_) == 1 and res.with_[0].type != "slot" and res.with_[0].count == 1 \
        and res.with_[0].replicas == 1


def _flatten(resources: Sequence[ResourceRequest], times: int, where: str, depth: int,
             top: bool) -> list[tuple[ResourceRequest, int, str]]:
    """Dissolve slots under a resource: (resource, multiplier, location) for every resource at this level.

    At the top (`top`: no resource above), a slot that must be placed stays as a resource of type "slot".
    """
    if depth > MAX_DEPTH:
        raise JobspecError(f"jobspec: {where}: resources nest deeper than {MAX_DEPTH} levels")
    out = []
    for i, res in enumerate(resources):
        here = f"{where}[{i}]"
        multiplier = times * res.count * res.replicas
        if res.type == "slot":
            if res.requires:
                raise JobspecError(f"jobspec: {here}: a slot cannot carry requires (put them on its resources)")
            if top and not _placed_anywhere(res):
                out.append((res, times, here))
            else:
                out.extend(_flatten(res.with_, multiplier, f"{here}.with", depth + 1, top))
        elif res.replicas > 1:
            single = replace(res, replicas=1)
            if top and res.count > 1:
                out.append((ResourceRequest(type="slot", count=res.replicas, label=res.label, with_=(single,)),
                            times, here))
            else:
                out.append((single, times * res.replicas, here))
        else:
            out.append((res, times, here))
    return out


def _slot_need(res: ResourceRequest, times: int, where: str, depth: int) -> Need:
    groups = compile_groups(res.with_, 1, f"{where}.with", depth + 1, top=False)
    quantity = res.count * res.replicas * times
    hosts = frozenset(group.type for group in groups)
    return Need(next(_UIDS), "slot", quantity, "slots", quantity, "", (), (), groups, hosts, res.count_range)


def _need(res: ResourceRequest, times: int, where: str, depth: int) -> Need:
    if res.type == "slot":
        return _slot_need(res, times, where, depth)
    groups = compile_groups(res.with_, 1, f"{where}.with", depth + 1, top=False)
    quantity = res.count * times
    unit = res.unit  # without a unit, a size counts in the graph's own unit, as in Fluxion
    if groups:
        mode, demand = "count", quantity
    elif unit_bytes(unit) is not None:
        mode, demand = "bytes", quantity * unit_bytes(unit)
    else:
        mode, demand = "size", quantity
    keys = identity_properties()
    plain = tuple(r for r in res.requires if r.subsystem is not None or r.field not in keys)
    identity = tuple(r for r in res.requires if r.subsystem is None and r.field in keys)
    return Need(next(_UIDS), res.type, demand, mode, quantity, unit, plain, identity, groups,
                count_range=res.count_range, exclusive=res.exclusive)


def asked_within(need: Need, vtype: str, mode: str) -> int:
    """How much of `vtype` (counted as `mode`) one vertex of `need` asks for below itself."""
    total = 0
    for group in need.groups:
        for child in group.needs:
            if group.type == vtype and group.mode == mode:
                total += child.demand
            elif child.mode in ("count", "slots"):
                total += child.demand * asked_within(child, vtype, mode)
    return total


def _reserve(groups: list[Group]) -> None:
    """Set each group's reserve: what its siblings ask for, inside their own vertices, from its pool.

    An exclusive sibling takes its vertices whole (as Fluxion allocates them), so instead of what it asks for it
    withholds all it holds; that depends on the graph, so it is kept in `exclusive` for the matcher.
    """
    for group in groups:
        if group.mode == "slots":
            continue
        taken = 0
        exclusive = []
        for other in groups:
            if other is group:
                continue
            for need in other.needs:
                if need.exclusive and need.mode != "slots":
                    exclusive.append(need)
                elif need.mode in ("count", "slots"):
                    taken += need.demand * asked_within(need, group.type, group.mode)
        group.reserve = taken
        group.exclusive = tuple(exclusive)


def compile_groups(resources: Sequence[ResourceRequest], times: int = 1, where: str = "resources",
                   depth: int = 0, top: bool = True) -> tuple[Group, ...]:
    """The needs of one level, grouped by type in order of first appearance."""
    by_type: dict[str, list[Need]] = {}
    for res, multiplier, here in _flatten(resources, times, where, depth, top):
        by_type.setdefault(res.type, []).append(_need(res, multiplier, here, depth))
    groups = []
    for vtype, needs in by_type.items():
        modes = {n.mode for n in needs}
        if len(modes) > 1:
            if "count" in modes:
                raise JobspecError(f"jobspec: {where}: resources of type {vtype} under one parent mix sizes and "
                                   f"children; give them the same form")
            raise JobspecError(f"jobspec: {where}: resources of type {vtype} under one parent mix a unit and no "
                               f"unit; give each a unit, or none")
        if vtype == "slot" and len(needs) > 1:
            raise JobspecError(f"jobspec: {where}: more than one slot at the top (Fluxion places one slot per "
                               f"level); put them in one slot")
        groups.append(Group(next(_UIDS), vtype, modes.pop(), tuple(needs)))
    _reserve(groups)
    return tuple(groups)
