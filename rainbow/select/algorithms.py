"""Selection algorithms: given the clusters that fit, pick one. Registered by name with a decorator."""
from __future__ import annotations

import functools
import random as _random
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence


from compspec import documents
from compspec.extractors.plugins import Registry

from .errors import SelectionError
from .expr import Invalid, Missing, compile_tree, parse, value_of
from .scoring import Context, Preset, builtin_presets, run, tuned


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
    # scored presets: writes one line per matched cluster (its scores and distance from the winner, or why it
    # dropped out) when an answer needs them
    explain: Callable[[], dict[str, str]] | None = None

    @property
    def reasons(self) -> dict[str, str]:
        return self.explain() if self.explain is not None else {}


Algorithm = Callable[..., Selection]
ALGORITHMS: Registry[Algorithm] = Registry("selection algorithm")


def algorithm(name: str) -> Callable[[Algorithm], Algorithm]:
    """Register a selection algorithm under the name clients send in select_algorithm."""
    return ALGORITHMS.register(name)


def select(algorithm: str, matched: Sequence[str], *, options: Mapping[str, str] | None = None,
           states: Mapping[str, Mapping[str, Any]] | None = None, parameters: Mapping[str, Any] | None = None,
           rng: _random.Random | None = None, context: Context | None = None,
           presets: Mapping[str, Preset] | None = None) -> Selection:
    """Pick one of `matched` with the named algorithm ("" means random) or scored preset (the server's `presets`
    first, then the built-in ones)."""
    name = algorithm or "random"
    fn = ALGORITHMS.get(name)
    if fn is not None:
        return fn(sorted(set(matched)), options=dict(options or {}), states=states or {},
                  parameters=dict(parameters or {}), rng=rng or _random.Random())
    preset = (presets or {}).get(name) or builtin_presets().get(name)
    if preset is None:
        known = ", ".join(known_algorithms(presets))
        raise SelectionError(f"select_algorithm: unknown algorithm {name!r} (known: {known})")
    scored = run(tuned(preset, options or {}), sorted(set(matched)), states or {}, parameters or {},
                 context or Context())
    return Selection(scored.ranked[0] if scored.ranked else None, scored.ranked, explain=scored.reasons)


def known_algorithms(presets: Mapping[str, Preset] | None = None) -> list[str]:
    """Every name select_algorithm accepts."""
    return sorted({*ALGORITHMS, *builtin_presets(), *(presets or {})})


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

    @property
    def compute(self):
        return compile_tree(self.tree)


@dataclass(frozen=True)
class Priority:
    number: int
    steps: tuple[Step, ...]


def parse_priorities(text: str) -> list[Priority]:
    """The priorities YAML string (as in the rainbow config file), validated and with expressions parsed."""
    return list(_parse_priorities(text))


@functools.lru_cache(maxsize=64)
def _parse_priorities(text: str) -> tuple[Priority, ...]:
    doc = documents.load(text, "priorities", schema="selection-priorities", error=SelectionError)
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
    return tuple(out)


def run_priority(priority: Priority, matched: Sequence[str], states: Mapping, parameters: Mapping,
                 rng: _random.Random) -> Selection:
    """One priority's steps over the matched clusters; a cluster that cannot compute a step drops out.

    Each cluster's variables are the job's parameters overlaid by its state, copied per request: what `calc`
    sets never reaches the stored state.
    """
    base = {key: value_of(value) for key, value in parameters.items()}
    empty: Mapping = {}
    alive = [(name, {**base, **(states.get(name) or empty)}) for name in matched]
    choice = "first"
    for step in priority.steps:
        if step.kind == "filter":
            compute = step.compute
            kept = []
            for name, values in alive:
                try:
                    if compute(values):
                        kept.append((name, values))
                except (Missing, Invalid):
                    continue
            alive = kept
        elif step.kind == "calc":
            compute, target = step.compute, step.target
            kept = []
            for name, values in alive:
                try:
                    values[target] = compute(values)
                except (Missing, Invalid):
                    continue
                kept.append((name, values))
            alive = kept
        elif step.kind in ("sort_ascending", "sort_descending"):
            target = step.target
            keyed = []
            for name, values in alive:
                value = value_of(values.get(target))
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    keyed.append((value, name, values))
            keyed.sort(key=lambda item: item[1])
            keyed.sort(key=lambda item: item[0], reverse=step.kind == "sort_descending")
            alive = [(name, values) for _, name, values in keyed]
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
    return Selection(chosen, names, priority.number, dict(alive))


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
