"""Selection algorithms: given the clusters that fit, pick one. Registered by name with a decorator."""
from __future__ import annotations

import random as _random
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import yaml

from compspec.schemas import FormatError, validate

from .errors import SelectionError
from .expr import Invalid, Missing, evaluate, parse


@dataclass
class Selection:
    """The chosen cluster (None when none qualifies) and the clusters the algorithm found eligible, in order.

    `priority` is the constraint priority that decided; `variables` holds each eligible cluster's variables as that
    priority computed them (never written back to the cluster's state).
    """

    chosen: str | None
    eligible: list[str]
    priority: int | None = None
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)


Algorithm = Callable[..., Selection]
ALGORITHMS: dict[str, Algorithm] = {}


def algorithm(name: str) -> Callable[[Algorithm], Algorithm]:
    """Register a selection algorithm under the name clients send in select_algorithm."""

    def register(fn: Algorithm) -> Algorithm:
        ALGORITHMS[name] = fn
        return fn

    return register


def select(algorithm: str, matched: Sequence[str], *, options: Mapping[str, str] | None = None,
           states: Mapping[str, Mapping[str, Any]] | None = None, parameters: Mapping[str, Any] | None = None,
           rng: _random.Random | None = None) -> Selection:
    """Pick one of `matched` with the named algorithm ("" means random)."""
    name = algorithm or "random"
    fn = ALGORITHMS.get(name)
    if fn is None:
        raise SelectionError(f"select_algorithm: unknown algorithm {name!r} (known: {', '.join(sorted(ALGORITHMS))})")
    return fn(sorted(set(matched)), options=dict(options or {}), states=states or {},
              parameters=dict(parameters or {}), rng=rng or _random.Random())


@algorithm("random")
def _random_choice(matched: list[str], *, options: dict[str, str], states: Mapping, parameters: dict,
                   rng: _random.Random) -> Selection:
    if "seed" in options:
        rng = _random.Random(options["seed"])
    return Selection(rng.choice(matched) if matched else None, list(matched))


_CALC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=(?!=)(.*)$", re.S)


@dataclass(frozen=True)
class Step:
    kind: str
    target: str = ""
    tree: tuple = ()


@dataclass(frozen=True)
class Priority:
    number: int
    steps: tuple[Step, ...]


def parse_priorities(text: str) -> list[Priority]:
    """The priorities YAML string (as in the rainbow config file), validated and with expressions parsed."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SelectionError(f"priorities: not valid YAML ({str(exc).splitlines()[0]})") from None
    try:
        validate("selection-priorities", doc, "priorities")
    except FormatError as exc:
        raise SelectionError(str(exc)) from None
    out = []
    for i, entry in enumerate(doc):
        steps = []
        for j, raw in enumerate(entry["steps"]):
            (kind, value), = raw.items()
            where = f"priorities[{i}].steps[{j}].{kind}"
            try:
                if kind == "filter":
                    steps.append(Step(kind, tree=parse(value)))
                elif kind == "calc":
                    found = _CALC.match(value)
                    if not found:
                        raise SelectionError(f"{value!r} is not NAME=EXPRESSION")
                    steps.append(Step(kind, target=found[1], tree=parse(found[2])))
                elif kind in ("sort_ascending", "sort_descending"):
                    steps.append(Step(kind, target=value.strip()))
                else:
                    steps.append(Step(kind, target=value))
            except SelectionError as exc:
                raise SelectionError(f"{where}: {exc}") from None
        out.append(Priority(entry["priority"], tuple(steps)))
    out.sort(key=lambda p: p.number)
    return out


def _as_value(value: Any) -> Any:
    """State values arrive as JSON; numbers written as strings still count as numbers."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _variables(cluster: str, states: Mapping[str, Mapping[str, Any]], parameters: Mapping[str, Any]) -> dict:
    merged = {key: _as_value(value) for key, value in parameters.items()}
    merged.update({key: _as_value(value) for key, value in (states.get(cluster) or {}).items()})
    return merged


def run_priority(priority: Priority, matched: Sequence[str], states: Mapping, parameters: Mapping,
                 rng: _random.Random) -> Selection:
    """One priority's steps over the matched clusters; a cluster that cannot compute a step drops out."""
    alive = [(name, _variables(name, states, parameters)) for name in matched]
    choice = "first"
    for step in priority.steps:
        if step.kind == "filter":
            kept = []
            for name, values in alive:
                try:
                    if evaluate(step.tree, values):
                        kept.append((name, values))
                except (Missing, Invalid):
                    continue
            alive = kept
        elif step.kind == "calc":
            kept = []
            for name, values in alive:
                try:
                    values[step.target] = evaluate(step.tree, values)
                except (Missing, Invalid):
                    continue
                kept.append((name, values))
            alive = kept
        elif step.kind in ("sort_ascending", "sort_descending"):
            numeric = [(name, values) for name, values in alive
                       if isinstance(values.get(step.target), (int, float)) and not isinstance(values[step.target], bool)]
            descending = step.kind == "sort_descending"
            numeric.sort(key=lambda item: item[0])
            numeric.sort(key=lambda item: item[1][step.target], reverse=descending)
            alive = numeric
        else:
            choice = step.target
    names = [name for name, _ in alive]
    if not names:
        chosen = None
    elif choice == "random":
        chosen = rng.choice(names)
    elif choice == "last":
        chosen = names[-1]
    else:
        chosen = names[0]
    return Selection(chosen, names, priority.number, {name: values for name, values in alive})


@algorithm("constraint")
def _constraint(matched: list[str], *, options: dict[str, str], states: Mapping, parameters: dict,
                rng: _random.Random) -> Selection:
    text = options.get("priorities")
    if not text:
        raise SelectionError("select_options.priorities: constraint selection needs priorities (a YAML list)")
    for priority in parse_priorities(text):
        result = run_priority(priority, matched, states, parameters, rng)
        if result.chosen is not None:
            return result
    return Selection(None, [])
