"""What the benchmarks share: percentiles, and the upstream sample's constraint priorities they select with."""
from __future__ import annotations

# The upstream sample priorities (rainbow's docs): filter on free nodes, compute a build cost, highest first.
PRIORITIES = """
- priority: 1
  steps:
  - filter: "nodes_free > 0"
  - calc: "build_cost=(cost_per_node_hour * (memory_per_node * seconds_per_gb)/60/60)"
  - sort_descending: build_cost
  - select: random
"""


def percentile(values: list[float], q: float) -> float:
    """The value at quantile `q` (0-1) of `values`, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]
