"""Requirement entries evaluated against one value: equality, semantic-version ranges and NFD-style operators."""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

from compspec.extractors.plugins import Registry
from rainbow.jobspec.model import Requirement
from compspec.versions import in_range

Operator = Callable[[str | None, Sequence[str]], bool]
OPERATORS: Registry[Operator] = Registry("operator")


def operator(name: str) -> Callable[[Operator], Operator]:
    """Register a property operator under its jobspec name."""
    return OPERATORS.register(name)


def _integer(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


@operator("In")
def _in(value: str | None, values: Sequence[str]) -> bool:
    return value is not None and value in values


@operator("NotIn")
def _not_in(value: str | None, values: Sequence[str]) -> bool:
    return value is None or value not in values


@operator("Exists")
def _exists(value: str | None, values: Sequence[str]) -> bool:
    return value is not None


@operator("DoesNotExist")
def _does_not_exist(value: str | None, values: Sequence[str]) -> bool:
    return value is None


@operator("Gt")
def _gt(value: str | None, values: Sequence[str]) -> bool:
    number = _integer(value)
    return number is not None and number > int(values[0])


@operator("Lt")
def _lt(value: str | None, values: Sequence[str]) -> bool:
    number = _integer(value)
    return number is not None and number < int(values[0])


@operator("GtLt")
def _gt_lt(value: str | None, values: Sequence[str]) -> bool:
    number = _integer(value)
    return number is not None and int(values[0]) < number < int(values[1])


@operator("IsTrue")
def _is_true(value: str | None, values: Sequence[str]) -> bool:
    return value is not None and value.strip().lower() == "true"


@operator("IsFalse")
def _is_false(value: str | None, values: Sequence[str]) -> bool:
    return value is not None and value.strip().lower() == "false"


def value_meets(value: str | None, req: Requirement) -> bool:
    """Every expression of the entry holds for `value` (None: the vertex lacks the field)."""
    if req.match is not None and value != req.match:
        return False
    if (req.min is not None or req.max is not None) and (value is None or not in_range(value, req.min, req.max)):
        return False
    if req.op is not None and not OPERATORS[req.op](value, req.values):
        return False
    return True


def vertex_meets(properties: Mapping[str, str], attached: Callable[[str], Sequence[Mapping[str, str]]],
                 req: Requirement) -> bool:
    """A subsystem entry needs one attached vertex meeting it; a property entry reads the vertex's properties."""
    if req.subsystem is None:
        return value_meets(properties.get(req.field), req)
    return any(value_meets(meta.get(req.field), req) for meta in attached(req.subsystem))
