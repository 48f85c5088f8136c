"""The request tree every jobspec form is normalised into: what the matcher reads."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Operators of property requirements, as in Node Feature Discovery's match expressions.
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "GtLt", "IsTrue", "IsFalse")


@dataclass(frozen=True)
class Requirement:
    """One requirement entry on a resource.

    With `subsystem` set it is met when some vertex of that subsystem attached to the resource satisfies every
    expression; without it the expressions apply to the resource's own `properties`.
    """

    field: str
    subsystem: str | None = None
    match: str | None = None
    min: str | None = None
    max: str | None = None
    op: str | None = None
    values: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = []
        if self.match is not None:
            parts.append(f"{self.field}={self.match}")
        if self.min is not None or self.max is not None:
            parts.append(f"{self.field} in [{self.min or '*'}, {self.max or '*'}]")
        if self.op is not None:
            if self.op in ("Exists", "DoesNotExist", "IsTrue", "IsFalse"):
                parts.append(f"{self.field} {self.op}")
            else:
                parts.append(f"{self.field} {self.op} {','.join(self.values)}")
        return " and ".join(parts) or self.field


@dataclass(frozen=True)
class ResourceRequest:
    """A resource vertex asked for: `count` of `type` per parent (times `replicas`), each with its `with` children."""

    type: str
    count: int = 1
    replicas: int = 1
    # a count given as {min, max, operator, operand} (RFC 14): fit is decided by `count` (its min); the rest is
    # kept to show in explanations
    count_range: tuple[int, int | None, str, int] | None = None
    unit: str = ""
    label: str = ""
    exclusive: bool = False
    requires: tuple[Requirement, ...] = ()
    with_: tuple["ResourceRequest", ...] = ()


@dataclass
class Task:
    command: list[str]
    replicas: int = 1
    resources: str = ""


@dataclass
class Request:
    """A parsed jobspec: the resources to match, compatibility requirements and the parameters selection reads."""

    name: str
    form: str
    resources: tuple[ResourceRequest, ...]
    requires: dict[str, dict[str, str]] = field(default_factory=dict)
    parameters: dict[str, float | str] = field(default_factory=dict)
    tasks: list[Task] = field(default_factory=list)
    document: dict[str, Any] = field(default_factory=dict)
    groups: tuple = ()
    # attributes.system: the RFC 31 constraint on nodes (None: any node), the duration in seconds (None: unset),
    # and every system attribute as given, the ones matching does not read included
    constraint: Any = None
    duration: float | None = None
    system: dict[str, Any] = field(default_factory=dict)

    @property
    def command(self) -> list[str]:
        return list(self.tasks[0].command) if self.tasks else []

    def totals(self) -> dict[str, int]:
        """How much of each resource type the whole job asks for (counts multiplied down the tree; slots count as
        their contents): the size that selection weighs against free figures and prices."""
        out: dict[str, int] = {}
        stack = [(resource, 1) for resource in self.resources]
        while stack:
            resource, times = stack.pop()
            amount = times * resource.count * resource.replicas
            if resource.type != "slot":
                out[resource.type] = out.get(resource.type, 0) + amount
            stack.extend((child, amount) for child in resource.with_)
        return out
