"""Templates in matching and selection: the nodes a job would start, and why a template cannot give them.

A cluster with templates fits a job when its index (fixed graph plus each template's usable nodes) fits and the
nodes the job would start stay within the cluster's limits. The plan is the fewest template nodes that fit: none
when the fixed graph alone fits, else the cheapest single template, else every template trimmed, dearest first.
Asking "does it fit with k nodes of this template" is one evaluation of a re-counted index, whose node shapes the
evaluation has judged already, so plans and reasons cost little next to the match itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from rainbow.graph.templates import LIMIT_KEYS, ElasticIndex, Pool

from .engine import Evaluation

_MOST = 1 << 17  # the most nodes of one template an explanation looks for


@dataclass(frozen=True)
class Plan:
    """Template nodes a job would use: nodes per template, those to start, their cost and start-up time."""

    nodes: dict[str, int] = field(default_factory=dict)
    new: dict[str, int] = field(default_factory=dict)
    cost_per_hour: float = 0.0
    start_seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.nodes.values())

    def describe(self) -> str:
        return ", ".join(f"{n} x {name}" for name, n in sorted(self.nodes.items())) or "no template nodes"

    def state(self) -> dict[str, float]:
        """What selection reads of the plan, beside the cluster's reported state."""
        return {"template_nodes": self.total, "template_new_nodes": sum(self.new.values()),
                "template_cost_per_hour": self.cost_per_hour, "template_start_seconds": self.start_seconds}


def _fits(ev: Evaluation, index: ElasticIndex, counts: dict[str, int]) -> bool:
    return ev.fits_many([index.with_counts(counts)])[0] is None


def least(ev: Evaluation, index: ElasticIndex, name: str, counts: dict[str, int], high: int) -> int | None:
    """The fewest nodes of template `name` (others as in `counts`) with which the job fits, up to `high`."""
    trial = dict(counts)

    def ok(k: int) -> bool:
        trial[name] = k
        return _fits(ev, index, trial)

    if ok(0):
        return 0
    low = 0  # fails
    step = 1
    while True:  # double until it fits or passes `high`
        probe = min(step, high)
        if ok(probe):
            high = probe
            break
        if probe >= high:
            return None
        low, step = probe, step * 2
    while high - low > 1:
        mid = (low + high) // 2
        if ok(mid):
            high = mid
        else:
            low = mid
    return high


def _make_plan(index: ElasticIndex, counts: dict[str, int]) -> Plan:
    by_name = {pool.name: pool for pool in index.pools}
    nodes = {name: n for name, n in counts.items() if n > 0}
    new = {name: max(0, n - by_name[name].idle) for name, n in nodes.items()}
    new = {name: n for name, n in new.items() if n}
    return Plan(nodes, new, sum(n * by_name[name].template.cost_per_hour for name, n in nodes.items()),
                max((by_name[name].template.startup_seconds for name in new), default=0.0))


def plan(ev: Evaluation, index: ElasticIndex) -> Plan | None:
    """The template nodes the job would use on a cluster whose index fits it (None when even all do not fit)."""
    available = index.available()
    if not _fits(ev, index, available):
        return None
    none = dict.fromkeys(available, 0)
    if _fits(ev, index, none):
        return Plan()
    best: Plan | None = None
    for pool in index.pools:
        if not pool.available:
            continue
        k = least(ev, index, pool.name, none, pool.available)
        if k:
            found = _make_plan(index, {**none, pool.name: k})
            if best is None or (found.cost_per_hour, found.start_seconds, found.total) < \
                    (best.cost_per_hour, best.start_seconds, best.total):
                best = found
    if best is not None:
        return best
    counts = dict(available)
    for pool in sorted(index.pools, key=lambda p: (-p.template.cost_per_hour, p.name)):
        if counts[pool.name]:
            counts[pool.name] = least(ev, index, pool.name, counts, counts[pool.name]) or 0
    return _make_plan(index, counts)


def over_limits(index: ElasticIndex, chosen: Plan) -> str:
    """Why the planned nodes exceed the cluster's limits, or ''. Each template's nodes were capped by the limits
    alone; nodes of several templates together may still pass them."""
    by_name = {pool.name: pool for pool in index.pools}
    for key in LIMIT_KEYS:
        limit = dict(index.tset.limits).get(key)
        if limit is None:
            continue
        used = sum(pool.in_use * pool.template.per_node(key) for pool in index.pools)
        wanted = sum(n * by_name[name].template.per_node(key) for name, n in chosen.nodes.items())
        if used + wanted > limit:
            held = f", {used} in use" if used else ""
            return f"templates: {chosen.describe()} needed ({wanted} {key.replace('_', ' ')}), " \
                   f"limits.{key} {limit}{held}"
    return ""


def shortfall(ev: Evaluation, index: ElasticIndex) -> str:
    """Which templates fall short for a job the cluster does not fit, one clause each; '' when no number of any
    template's nodes would make it fit (the graph's own reason then says why)."""
    available = index.available()
    clauses = []
    for pool in index.pools:
        k = least(ev, index, pool.name, available, max(_MOST, pool.template.max_nodes))
        if k is None:
            continue
        clauses.append(_clause(pool, k))
    return "; ".join(clauses)


def _clause(pool: Pool, k: int) -> str:
    needed = f"{k} {'node' if k == 1 else 'nodes'} needed"
    if pool.excluded:
        return f"template {pool.name}: {needed}, excluded by requirement {pool.excluded}"
    return f"template {pool.name}: {needed}, {pool.held_back()}"


def templates_note(index: ElasticIndex) -> str:
    """'templates c5 (3 usable), m5 (excluded by instance_type In [c5])': added to a graph reason."""
    parts = []
    for pool in index.pools:
        if pool.excluded:
            parts.append(f"{pool.name} (excluded by {pool.excluded})")
        else:
            parts.append(f"{pool.name} ({pool.available} usable, {pool.held_back()})")
    return "templates " + ", ".join(parts)
