"""Scored selection: filters, then scorers (each 0-100 per candidate), a weighted sum, and the highest total wins.

Ties go to the higher score of each tie-break scorer in turn, then to the cluster name, so the same inputs always pick
the same cluster. A preset names scorers and weights; the built-in presets are data (rainbow/data/
selection-presets.yaml), a server config may add its own, and a request may re-weight or filter through
select_options (`weight.SCORER`, `filter`). Every candidate's line says its scores and how far it is from the winner.
"""
from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from compspec import documents
from compspec.extractors.plugins import Registry

from .errors import SelectionError
from .expr import Invalid, Missing, compile_tree, parse, value_of


@dataclass
class Context:
    """What scorers read besides cluster state. The lookups may cost a store read: each runs once per selection."""

    demand: Mapping[str, float] = field(default_factory=dict)  # the job's totals by vertex type (node, core, gpu)
    duration: float | None = None  # seconds, when the jobspec says
    capacity: Callable[[str], Mapping[str, int]] | None = None  # a cluster's graph totals by vertex type
    created: Callable[[Sequence[str]], Mapping[str, float]] | None = None  # registration times
    active: Callable[[Sequence[str]], Mapping[str, int]] | None = None  # jobs assigned and not finished

    def __post_init__(self) -> None:
        self._cache: dict[str, Any] = {}
        self.candidates: Sequence[str] = ()  # every candidate of this selection (set by run)

    def once(self, key: str, compute: Callable[[Sequence[str]], Any], names: Sequence[str]) -> Any:
        """`compute` over every candidate, once per selection: a scorer asked about a few of them (a tie) reads
        the same figures as one asked about all."""
        if key not in self._cache:
            self._cache[key] = compute(self.candidates or names)
        return self._cache[key]


@dataclass(frozen=True)
class Scores:
    """One scorer's verdict: a 0-100 value per candidate, and the figures behind a value, in a few words, written
    only for the candidates an answer explains."""

    values: dict[str, float]
    note: Callable[[str], str]


Scorer = Callable[[Sequence[str], Mapping[str, Mapping[str, Any]], Context], Scores]
SCORERS: Registry[Scorer] = Registry("selection scorer")


def scorer(name: str) -> Callable[[Scorer], Scorer]:
    """Register a scorer under the name presets and `weight.NAME` options use."""
    return SCORERS.register(name)


def _as_float(value: Any) -> float | None:
    kind = type(value)
    if kind is float:
        return value if value == value else None
    if kind is int:
        return float(value)
    if kind is str:
        try:
            number = float(value)
        except ValueError:
            return None
        return number if number == number else None
    return None


def reported(names: Sequence[str], states: Mapping[str, Mapping[str, Any]], *keys: str) -> dict[str, float]:
    """Each cluster's first of `keys` that it reported as a number (state arrives as JSON: "12" counts)."""
    out: dict[str, float] = {}
    get = states.get
    for name in names:
        state = get(name)
        if not state:
            continue
        for key in keys:
            value = state.get(key)
            if value is None:
                continue
            kind = value.__class__
            if kind is int or (kind is float and value == value):
                out[name] = value
                break
            if kind is str and (number := _as_float(value)) is not None:
                out[name] = number
                break
    return out


def _capacity(names: Sequence[str], ctx: Context) -> dict[str, Mapping[str, int]]:
    lookup = ctx.capacity or (lambda name: {})
    return ctx.once("capacity", lambda every: {name: lookup(name) for name in every}, names)


def _unit(ctx: Context) -> str:
    """Cores when the job asks for cores, else nodes: the unit free figures are compared in."""
    return "core" if ctx.demand.get("core", 0) > 0 or not ctx.demand.get("node", 0) else "node"


@scorer("first-fit")
def _first_fit(names, states, ctx):
    """100 for the cluster registered first, down in equal steps to 100/n for the last."""
    created = ctx.once("created", lambda every: dict(ctx.created(every)) if ctx.created else {}, names)
    infinity = float("inf")
    order = sorted(names, key=lambda n: created.get(n, infinity))  # stable: equal times keep name order
    count = len(order)
    rank = {name: place for place, name in enumerate(order)}
    return Scores({name: 100.0 * (count - place) / count for name, place in rank.items()},
                  lambda name: f"registered {_ordinal(rank[name] + 1)} of {count}")


@scorer("least-loaded")
def _least_loaded(names, states, ctx):
    """100 x the free share: cores_free / the graph's cores, else nodes_free / its nodes; 0 when neither is
    reported."""
    capacity = _capacity(names, ctx)
    values: dict[str, float] = dict.fromkeys(names, 0.0)
    unit_of: dict[str, str] = {}
    left = names
    for unit in ("core", "node"):
        found = reported(left, states, f"{unit}s_free")
        for name, free in found.items():
            total = capacity[name].get(unit, 0)
            if total > 0:
                values[name] = 100.0 if free >= total else (0.0 if free <= 0 else 100.0 * free / total)
                unit_of[name] = unit
        if len(unit_of) == len(names):
            break
        left = [name for name in left if name not in unit_of]

    def note(name: str) -> str:
        unit = unit_of.get(name)
        if unit is None:
            return "no free cores or nodes reported"
        free = reported((name,), states, f"{unit}s_free")[name]
        return f"{free:g} of {capacity[name][unit]} {unit}s free"

    return Scores(values, note)


@scorer("spread")
def _spread(names, states, ctx):
    """100 / (1 + the jobs assigned to the cluster and not finished)."""
    active = ctx.once("active", lambda every: dict(ctx.active(every)) if ctx.active else {}, names)
    get = active.get
    return Scores({name: 100.0 / (1 + get(name, 0)) for name in names},
                  lambda name: f"{get(name, 0)} jobs assigned, not finished")


@scorer("bin-pack")
def _bin_pack(names, states, ctx):
    """100 x (1 - left over / total) after placing the job on the free cores (nodes when it asks for none);
    0 when it does not fit in what is free. A cluster that reports no free figure counts as empty."""
    unit = _unit(ctx)
    need = ctx.demand.get(unit, 0)
    capacity = _capacity(names, ctx)
    free = reported(names, states, f"{unit}s_free")
    values: dict[str, float] = {}
    for name in names:
        total = capacity[name].get(unit, 0)
        left = free.get(name, total) - need
        values[name] = 100.0 * (1 - left / total) if total > 0 and left >= 0 else 0.0

    def note(name: str) -> str:
        total = capacity[name].get(unit, 0)
        have = free.get(name, total)
        said = "" if name in free else " (no state: empty)"
        if values[name] == 0.0 and (total <= 0 or have < need):
            return f"needs {need:g} {unit}s, {have:g} free{said}"
        return f"{have - need:g} of {total} {unit}s left over{said}"

    return Scores(values, note)


COST_KEYS = ("template_cost_per_hour", "cost_per_node_hour", "cost_per_core_hour", "cost_per_hour")


@scorer("cheapest")
def _cheapest(names, states, ctx):
    """100 x the lowest cost among the candidates / this cluster's cost, the cost being what the template nodes
    the job would start cost an hour (template_cost_per_hour, set by the server), else cost_per_node_hour x nodes,
    else cost_per_core_hour x cores, else cost_per_hour, times the job's hours (1 when it gives no duration)."""
    hours = (ctx.duration or 3600.0) / 3600.0
    sizes = {"template_cost_per_hour": 1.0, "cost_per_node_hour": max(1.0, ctx.demand.get("node", 0)),
             "cost_per_core_hour": max(1.0, ctx.demand.get("core", 0)), "cost_per_hour": 1.0}
    costs: dict[str, float] = {}
    left = names
    for key in COST_KEYS:
        size = sizes[key] * hours
        for name, rate in reported(left, states, key).items():
            if rate >= 0:
                costs[name] = rate * size
        if len(costs) == len(names):
            break
        left = [name for name in left if name not in costs]
    cheapest = min(costs.values(), default=0.0)
    values = {name: 0.0 for name in names}
    for name, cost in costs.items():
        values[name] = 100.0 if cost <= 0 else 100.0 * cheapest / cost
    def note(name: str) -> str:
        if name not in costs:
            return "no cost reported"
        nodes = reported((name,), states, "template_nodes").get(name) if name in templated else None
        return f"cost {costs[name]:.4g} for {hours:g} h" + (f" on {nodes:g} template nodes" if nodes else "")

    templated = set(reported(names, states, "template_cost_per_hour"))
    return Scores(values, note)


ETA_KEYS = ("eta_seconds", "estimated_wait_seconds", "wait_seconds")


@scorer("earliest-start")
def _earliest_start(names, states, ctx):
    """100 x (60 + the smallest ETA among the candidates) / (60 + this cluster's ETA), ETA being the state's
    eta_seconds (or estimated_wait_seconds, wait_seconds) plus template_start_seconds when the job would start
    template nodes there; 0 when none is reported. The 60 s keeps a few seconds'
    difference from deciding alone."""
    etas = {name: max(0.0, eta) for name, eta in reported(names, states, *ETA_KEYS).items()}
    starting = {name: max(0.0, s) for name, s in reported(names, states, "template_start_seconds").items()}
    for name, seconds in starting.items():  # nodes to start first: their start-up comes on top of any wait
        etas[name] = etas.get(name, 0.0) + seconds
    soonest = min(etas.values(), default=0.0)
    values = {name: 0.0 for name in names}
    for name, eta in etas.items():
        values[name] = 100.0 * (60 + soonest) / (60 + eta)

    def note(name: str) -> str:
        if name not in etas:
            return "no ETA reported"
        started = f" (with {starting[name]:g} s to start template nodes)" if starting.get(name) else ""
        return f"ETA {etas[name]:g} s{started}"

    return Scores(values, note)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# -- presets -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Preset:
    name: str
    scorers: tuple[tuple[str, float], ...]
    filters: tuple[str, ...] = ()
    tie_break: tuple[str, ...] = ()
    description: str = ""


def load_presets(doc: Any, what: str) -> dict[str, Preset]:
    """Presets from a parsed document (validated here); filters are parsed now so a bad one is refused at load."""
    doc = documents.load(doc, what, schema="selection-presets", package="rainbow", kind=dict, error=SelectionError)
    out = {}
    for name, entry in doc.items():
        filters = tuple(entry.get("filters", ()))
        for i, text in enumerate(filters):
            try:
                parse(text)
            except SelectionError as exc:
                raise SelectionError(f"{what}.{name}.filters[{i}]: {exc}") from None
        out[name] = Preset(name, tuple((k, float(v)) for k, v in entry["scorers"].items()), filters,
                           tuple(entry.get("tie_break", ())), entry.get("description", ""))
    return out


def site_presets(doc: Any) -> dict[str, Preset]:
    """A server config's `selection_presets`: they may replace a built-in preset, not random or constraint."""
    from .algorithms import ALGORITHMS

    presets = load_presets(doc, "selection_presets")
    taken = sorted(set(presets) & set(ALGORITHMS))
    if taken:
        raise SelectionError(f"selection_presets.{taken[0]}: the name of a built-in algorithm")
    return presets


@functools.cache
def builtin_presets() -> dict[str, Preset]:
    text = importlib.resources.files("rainbow").joinpath("data/selection-presets.yaml").read_text()
    return load_presets(documents.parse(text, "selection-presets.yaml"), "selection-presets.yaml")


def tuned(preset: Preset, options: Mapping[str, str]) -> Preset:
    """The preset with a request's `weight.SCORER` and `filter` options applied."""
    weights = dict(preset.scorers)
    filters = list(preset.filters)
    for key, value in options.items():
        if key.startswith("weight."):
            name = key[len("weight."):]
            if name not in SCORERS:
                raise SelectionError(f"select_options.{key}: unknown scorer (known: {', '.join(sorted(SCORERS))})")
            try:
                weight = float(value)
            except ValueError:
                raise SelectionError(f"select_options.{key}: {value!r} is not a number") from None
            if not 0 <= weight <= 1000:
                raise SelectionError(f"select_options.{key}: weight must be between 0 and 1000")
            weights[name] = weight
        elif key == "filter":
            parse(value)
            filters.append(value)
        elif key != "seed":
            raise SelectionError(f"select_options.{key}: not an option of preset {preset.name} "
                                 "(known: weight.SCORER, filter)")
    weights = {name: w for name, w in weights.items() if w > 0}
    if not weights:
        raise SelectionError(f"select_options: every scorer of preset {preset.name} has weight 0")
    return Preset(preset.name, tuple(weights.items()), tuple(filters), preset.tie_break, preset.description)


EXPLAIN_TOP = 10  # candidates whose line shows every scorer's figures; the rest get their total and place


@dataclass
class Scored:
    """The ranking, best first, and why candidates dropped out; the lines that explain it are written on demand."""

    preset: Preset
    ranked: list[str]
    totals: dict[str, float]
    scores: dict[str, Scores]
    filtered: dict[str, str]

    def reasons(self) -> dict[str, str]:
        """One line per matched cluster: its scores and its distance from the winner, or why it dropped out."""
        lines = dict(self.filtered)
        ranked, totals, preset = self.ranked, self.totals, self.preset
        if not ranked:
            return lines
        winner = ranked[0]
        best = totals[winner]
        for place, name in enumerate(ranked):
            total = totals[name]
            if place < EXPLAIN_TOP:
                parts = ", ".join(f"{s} {self.scores[s].values[name]:.1f} x{w:g} ({self.scores[s].note(name)})"
                                  for s, w in preset.scorers)
                head = f"{preset.name} score {total:.1f}: {parts}"
            else:
                head = f"{preset.name} score {total:.1f}"
            if place == 0:
                if len(ranked) == 1:
                    tail = "chosen, the only candidate"
                elif best > totals[ranked[1]]:
                    tail = f"chosen, {best - totals[ranked[1]]:.1f} ahead of {ranked[1]}"
                else:
                    tail = f"chosen over {ranked[1]} on a tie ({_tie_rule(preset)})"
            else:
                tail = f"{_ordinal(place + 1)}, {best - total:.1f} behind {winner}"
            lines[name] = f"{head}; {tail}"
        return lines


def run(preset: Preset, matched: Sequence[str], states: Mapping[str, Mapping[str, Any]],
        parameters: Mapping[str, Any], ctx: Context) -> Scored:
    """Filter, score, rank (`matched` in name order). A cluster whose state cannot compute a filter drops out, as
    in constraint selection."""
    alive = list(matched)
    filtered: dict[str, str] = {}
    if preset.filters:
        base = {key: value_of(value) for key, value in parameters.items()}
        for text in preset.filters:
            check = compile_tree(parse(text))
            kept = []
            for name in alive:
                try:
                    ok = check({**base, **(states.get(name) or {})})
                except (Missing, Invalid) as exc:
                    filtered[name] = f"fits, but filter {text!r} cannot be computed ({exc})"
                    continue
                if ok:
                    kept.append(name)
                else:
                    filtered[name] = f"fits, but filter {text!r} is false"
            alive = kept
    ctx.candidates = alive
    scores = {name: SCORERS[name](alive, states, ctx) for name, _ in preset.scorers}
    if len(preset.scorers) == 1 and preset.scorers[0][1] == 1:
        totals = scores[preset.scorers[0][0]].values
    else:
        weighted = [(scores[s].values, w) for s, w in preset.scorers]
        totals = {name: sum(values[name] * w for values, w in weighted) for name in alive}
    # The total decides (a stable sort keeps `alive`'s name order among equals); only where totals tie do the
    # tie-break scorers run, over the tied clusters alone, each rule a stable sort from the last to the first.
    ranked = sorted(alive, key=totals.__getitem__, reverse=True)
    if preset.tie_break and len(ranked) > 1:
        ranked = _break_ties(ranked, totals, preset.tie_break, states, ctx)
    return Scored(preset, ranked, totals, scores, filtered)


def _break_ties(ranked: list[str], totals: Mapping[str, float], rules: Sequence[str],
                states: Mapping[str, Mapping[str, Any]], ctx: Context) -> list[str]:
    """Order clusters of equal totals by the tie-break scorers, run once over just the tied clusters (each scorer
    orders any subset as it orders the whole), then by name."""
    counts: dict[float, int] = {}
    for name in ranked:
        counts[totals[name]] = counts.get(totals[name], 0) + 1
    tied = [name for name in ranked if counts[totals[name]] > 1]
    if not tied:
        return ranked
    out = ranked
    for rule in reversed(rules):
        values = SCORERS[rule](tied, states, ctx).values
        out = sorted(out, key=lambda name: values.get(name, 0.0), reverse=True)
    return sorted(out, key=totals.__getitem__, reverse=True)


def _tie_rule(preset: Preset) -> str:
    return "then ".join(f"higher {s}, " for s in preset.tie_break) + ("then " if preset.tie_break else "") + "name"
