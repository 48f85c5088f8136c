"""Job constraints (Flux RFC 31, `attributes.system.constraints`): which nodes a job may use at all.

A constraint object joins its keys with and: `properties` (each name must be a property of the node, `^name` must
not), `hostlist` (the node's hostname is in one of the RFC 29 host lists), `ranks` (the node's rank is in one of
the RFC 22 id sets), and `and` / `or` / `not` over lists of constraint objects (`not` negates the and of its list).
An empty object holds for every node. Nodes that fail it are not used, as Fluxion prunes them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import JobspecError

OPERATORS = ("properties", "hostlist", "ranks", "and", "or", "not")
# RFC 31: a property name holds none of these (a leading ^ negates it)
_BAD_PROPERTY = re.compile(r"[\s!&'\"^`|()]")
_HOST = re.compile(r"^(?P<prefix>[^\[\],]*)(?:\[(?P<set>[0-9,\-]+)\](?P<suffix>[^\[\],]*))?$")
_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")
MAX_DEPTH = 16


@dataclass(frozen=True)
class IdSet:
    """Inclusive integer ranges, kept as ranges so `0-1000000` costs nothing; `width` keeps host zero padding."""

    ranges: tuple[tuple[int, int, int], ...]  # (low, high, zero-padded width or 0)

    def __contains__(self, value: int) -> bool:
        return any(low <= value <= high for low, high, _ in self.ranges)


def _idset(text: str, where: str, padded: bool = False) -> IdSet:
    ranges = []
    for part in text.split(","):
        found = _RANGE.match(part.strip())
        if not found:
            raise JobspecError(f"jobspec: {where}: {text!r} is not an id set (like 0-3,7)")
        low_text, high_text = found[1], found[2] or found[1]
        low, high = int(low_text), int(high_text)
        if high < low:
            raise JobspecError(f"jobspec: {where}: range {part.strip()!r} runs backwards")
        width = len(low_text) if padded and low_text.startswith("0") and len(low_text) > 1 else 0
        ranges.append((low, high, width))
    return IdSet(tuple(ranges))


@dataclass(frozen=True)
class HostPattern:
    """One host list element: `prefix[ranges]suffix`, or a plain name (ranges None)."""

    prefix: str
    ids: IdSet | None
    suffix: str

    def matches(self, host: str) -> bool:
        if self.ids is None:
            return host == self.prefix
        if not (host.startswith(self.prefix) and host.endswith(self.suffix)):
            return False
        middle = host[len(self.prefix):len(host) - len(self.suffix) if self.suffix else None]
        if not middle.isdigit():
            return False
        value = int(middle)
        for low, high, width in self.ids.ranges:
            if low <= value <= high and (width == 0 and (middle == "0" or not middle.startswith("0"))
                                         or width and len(middle) == width):
                return True
        return False


def _split_hostlist(text: str) -> list[str]:
    """Split `a[1-3,5],b` at the commas outside brackets."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _hostlist(text: str, where: str) -> tuple[HostPattern, ...]:
    out = []
    for part in _split_hostlist(text):
        found = _HOST.match(part)
        if not found:
            raise JobspecError(f"jobspec: {where}: {text!r} is not a host list (like node[1-4,7],login1)")
        if found["set"] is None:
            out.append(HostPattern(part, None, ""))
        else:
            out.append(HostPattern(found["prefix"], _idset(found["set"], where, padded=True), found["suffix"]))
    if not out:
        raise JobspecError(f"jobspec: {where}: an empty host list")
    return tuple(out)


@dataclass(frozen=True)
class Constraint:
    """A parsed constraint: `op` with its operands (names, host patterns, id sets or child constraints)."""

    op: str
    items: tuple = ()
    text: str = ""

    @property
    def needs_identity(self) -> bool:
        """Does it read a node's hostname or rank (which differ between nodes of one class)?"""
        if self.op in ("hostlist", "ranks"):
            return True
        return self.op in ("and", "or", "not") and any(c.needs_identity for c in self.items)

    def holds(self, properties: Mapping[str, str], identity: Mapping[str, str]) -> bool:
        op = self.op
        if op == "and":
            return all(c.holds(properties, identity) for c in self.items)
        if op == "or":
            return any(c.holds(properties, identity) for c in self.items)
        if op == "not":
            return not all(c.holds(properties, identity) for c in self.items)
        if op == "properties":
            return all((name not in properties) if negated else (name in properties) for name, negated in self.items)
        if op == "hostlist":
            host = identity.get("hostname")
            return host is not None and any(p.matches(host) for patterns in self.items for p in patterns)
        rank = identity.get("rank")
        if rank is None or not rank.lstrip("-").isdigit():
            return False
        return any(int(rank) in ids for ids in self.items)

    def describe(self) -> str:
        return self.text


def _strings(raw: Any, where: str) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise JobspecError(f"jobspec: {where}: must be a list of strings")
    return raw


def parse_constraint(raw: Any, where: str = "attributes.system.constraints", depth: int = 0) -> Constraint:
    """Validate an RFC 31 constraint object and parse it; the error names the offending key."""
    if depth > MAX_DEPTH:
        raise JobspecError(f"jobspec: {where}: constraints nest deeper than {MAX_DEPTH} levels")
    if not isinstance(raw, Mapping):
        raise JobspecError(f"jobspec: {where}: a constraint must be an object")
    terms = []
    for key in raw:
        here = f"{where}.{key}"
        value = raw[key]
        if key == "properties":
            names = []
            for name in _strings(value, here):
                negated = name.startswith("^")
                bare = name[1:] if negated else name
                if not bare or _BAD_PROPERTY.search(bare):
                    raise JobspecError(f"jobspec: {here}: {name!r} is not a property name")
                names.append((bare, negated))
            terms.append(Constraint("properties", tuple(names), "properties " + ",".join(_strings(value, here))))
        elif key == "hostlist":
            lists = tuple(_hostlist(text, here) for text in _strings(value, here))
            terms.append(Constraint("hostlist", lists, "hostlist " + ",".join(value)))
        elif key == "ranks":
            sets = tuple(_idset(text, here) for text in _strings(value, here))
            terms.append(Constraint("ranks", sets, "ranks " + ",".join(value)))
        elif key in ("and", "or", "not"):
            if not isinstance(value, list):
                raise JobspecError(f"jobspec: {here}: must be a list of constraint objects")
            children = tuple(parse_constraint(child, f"{here}[{i}]", depth + 1) for i, child in enumerate(value))
            joined = f" {key} ".join(c.text for c in children) if key != "not" else \
                " and ".join(c.text for c in children)
            text = f"not ({joined})" if key == "not" else (f"({joined})" if len(children) > 1 else joined)
            terms.append(Constraint(key, children, text))
        else:
            raise JobspecError(f"jobspec: {here}: unknown constraint operator (use {', '.join(OPERATORS)})")
    if len(terms) == 1:
        return terms[0]
    return Constraint("and", tuple(terms), " and ".join(t.text for t in terms) or "any node")
