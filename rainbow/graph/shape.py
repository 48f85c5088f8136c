"""Shapes: a cluster graph folded into what matching needs, with identical subtrees shared.

A shape is one vertex's kind (type, size, unit, properties, attached subsystem vertices) plus its children as
entries `(child shape, how many)`. Two nodes with the same sockets, cores, memory, GPUs and properties get the
same shape object, so a job is judged once per distinct shape instead of once per vertex. Shapes are interned
process-wide: clusters built from the same hardware share their node shapes, and a matcher evaluating one job
over many clusters reuses what it learnt about each shape.

Properties that name one machine (hostname) do not split shapes: each entry keeps them per member instead.
"""
from __future__ import annotations

import itertools
import json
import threading
import weakref
from typing import Any, Iterator

Identity = tuple[tuple[str, str], ...]

_TABLE: "weakref.WeakValueDictionary[tuple, Shape]" = weakref.WeakValueDictionary()
_BY_UID: "weakref.WeakValueDictionary[int, Shape]" = weakref.WeakValueDictionary()
_LOCK = threading.Lock()
_UIDS = itertools.count(1)


class Entry:
    """`count` children of one shape under a parent; `members` holds each child's identity properties (or None)."""

    __slots__ = ("shape", "count", "members")

    def __init__(self, shape: "Shape", count: int, members: tuple[Identity, ...] | None) -> None:
        self.shape = shape
        self.count = count
        self.members = members

    def key(self) -> tuple:
        return (self.shape.uid, self.count, self.members)


class Shape:
    """An interned vertex kind with its children; never mutated once made."""

    __slots__ = ("uid", "type", "size", "unit", "props", "propmap", "subsys", "entries", "__weakref__")

    def __init__(self, uid: int, vtype: str, size: int, unit: str, props: tuple[tuple[str, str], ...],
                 subsys: tuple[tuple[str, tuple[tuple[tuple[str, str], ...], ...]], ...],
                 entries: tuple[Entry, ...]) -> None:
        self.uid = uid
        self.type = vtype
        self.size = size
        self.unit = unit
        self.props = props
        self.propmap = dict(props)
        self.subsys = subsys
        self.entries = entries

    def attached(self, subsystem: str) -> tuple[dict[str, str], ...]:
        """Metadata of the subsystem vertices directly attached to this vertex in `subsystem`."""
        for name, vertices in self.subsys:
            if name == subsystem:
                return tuple(dict(v) for v in vertices)
        return ()

    def walk(self) -> Iterator["Shape"]:
        """Every distinct shape reachable from this one (itself included), children before parents."""
        seen: set[int] = set()
        stack: list[tuple[Shape, bool]] = [(self, False)]
        while stack:
            shape, expanded = stack.pop()
            if expanded:
                yield shape
                continue
            if shape.uid in seen:
                continue
            seen.add(shape.uid)
            stack.append((shape, True))
            for entry in shape.entries:
                if entry.shape.uid not in seen:
                    stack.append((entry.shape, False))

    def walk_until(self, vtype: str) -> Iterator["Shape"]:
        """Distinct shapes reachable without entering a shape of `vtype` (those are neither given nor entered)."""
        seen: set[int] = set()
        stack = [self]
        while stack:
            shape = stack.pop()
            if shape.uid in seen or shape.type == vtype:
                continue
            seen.add(shape.uid)
            yield shape
            stack.extend(entry.shape for entry in shape.entries)

    def __repr__(self) -> str:
        return f"Shape({self.uid}, {self.type}, size={self.size}, children={len(self.entries)})"


def canonical(value: Any) -> str:
    """A metadata value as the string requirements compare against (JSON spelling for non-strings)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, sort_keys=True)


def intern_shape(vtype: str, size: int, unit: str, props: tuple[tuple[str, str], ...],
                 subsys: tuple, entries: tuple[Entry, ...]) -> Shape:
    key = (vtype, size, unit, props, subsys, tuple(entry.key() for entry in entries))
    with _LOCK:
        found = _TABLE.get(key)
        if found is None:
            found = Shape(next(_UIDS), vtype, size, unit, props, subsys, entries)
            _TABLE[key] = found
            _BY_UID[found.uid] = found
        return found


def shape_by_uid(uid: int) -> Shape:
    """The live shape with this uid (any index that names it keeps it alive)."""
    return _BY_UID[uid]


def group_children(children: list[tuple[Shape, Identity]]) -> tuple[Entry, ...]:
    """Collapse children of the same shape into entries, keeping members' identities in a stable order."""
    grouped: dict[int, tuple[Shape, list[Identity]]] = {}
    for shape, identity in children:
        grouped.setdefault(shape.uid, (shape, []))[1].append(identity)
    entries = []
    for shape, identities in grouped.values():
        members = tuple(sorted(identities)) if any(identities) else None
        entries.append(Entry(shape, len(identities), members))
    entries.sort(key=lambda e: (e.shape.type, e.shape.size, e.shape.props, e.shape.uid))
    return tuple(entries)
