"""Normalise a request's resources into needs: slots dissolved, counts multiplied out, sizes in comparable units.

A slot only groups its children, so `slot count 2 with core 4` is `core 8` in the slot's parent; a nextgen resource
with `replicas: R` is a slot of R around itself. Sibling needs of one type form a group: they draw on the same pool
of vertices, so the matcher checks them together.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Sequence

from rainbow.graph.settings import byte_units, default_unit, identity_properties

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


@dataclass(eq=False)
class Group:
    uid: int
    type: str
    mode: str
    needs: tuple[Need, ...]


def next_uid() -> int:
    """A fresh id for a need or group: evaluations remember results by these ids."""
    return next(_UIDS)


def unit_bytes(unit: str) -> int | None:
    return byte_units().get(unit)


def _flatten(resources: Sequence[ResourceRequest], times: int, where: str,
             depth: int) -> list[tuple[ResourceRequest, int, str]]:
    """Dissolve slots: (resource, multiplier, location) for every non-slot resource at this level."""
    if depth > MAX_DEPTH:
        raise JobspecError(f"jobspec: {where}: resources nest deeper than {MAX_DEPTH} levels")
    out = []
    for i, res in enumerate(resources):
        here = f"{where}[{i}]"
        multiplier = times * res.count * res.replicas
        if res.type == "slot":
            if res.requires:
                raise JobspecError(f"jobspec: {here}: a slot cannot carry requires (put them on its resources)")
            out.extend(_flatten(res.with_, multiplier, f"{here}.with", depth + 1))
        elif res.replicas > 1:
            out.append((res, times * res.replicas, here))
        else:
            out.append((res, times, here))
    return out


def _need(res: ResourceRequest, times: int, where: str, depth: int) -> Need:
    groups = compile_groups(res.with_, 1, f"{where}.with", depth + 1)
    quantity = res.count * times
    unit = res.unit or default_unit(res.type)
    if groups:
        mode, demand = "count", quantity
    elif unit_bytes(unit) is not None:
        mode, demand = "bytes", quantity * unit_bytes(unit)
    else:
        mode, demand = "size", quantity
    keys = identity_properties()
    plain = tuple(r for r in res.requires if r.subsystem is not None or r.field not in keys)
    identity = tuple(r for r in res.requires if r.subsystem is None and r.field in keys)
    return Need(next(_UIDS), res.type, demand, mode, quantity, unit, plain, identity, groups)


def compile_groups(resources: Sequence[ResourceRequest], times: int = 1, where: str = "resources",
                   depth: int = 0) -> tuple[Group, ...]:
    """The needs of one level, grouped by type in order of first appearance."""
    by_type: dict[str, list[Need]] = {}
    for res, multiplier, here in _flatten(resources, times, where, depth):
        by_type.setdefault(res.type, []).append(_need(res, multiplier, here, depth))
    groups = []
    for vtype, needs in by_type.items():
        modes = {n.mode for n in needs}
        if len(modes) > 1:
            raise JobspecError(f"jobspec: {where}: resources of type {vtype} under one parent mix sizes and "
                               f"children; give them the same form")
        groups.append(Group(next(_UIDS), vtype, modes.pop(), tuple(needs)))
    return tuple(groups)
