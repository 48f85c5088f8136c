"""Selection cost per job over 1,000 matched clusters, for every algorithm and scored preset (target: p50 <= 1 ms
for the presets).

Each cluster reports a realistic state (free cores, cost, ETA); the context answers registration order and jobs in
hand from memory, as the server's caches and one store read do. Prints p50/p99 wall and CPU milliseconds per job.
"""
from __future__ import annotations

import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rainbow.select import Context, builtin_presets, select  # noqa: E402

CANDIDATES = 1000
ROUNDS = 200
PRIORITIES = """
- priority: 1
  steps:
  - filter: "nodes_free > 0"
  - calc: "build_cost=(cost_per_node_hour * (memory_per_node * seconds_per_gb)/60/60)"
  - sort_descending: build_cost
  - select: random
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    rng = random.Random(3)
    names = [f"cluster{i:04d}" for i in range(CANDIDATES)]
    capacity = {name: {"node": 64, "core": 64 * rng.choice([32, 64, 128])} for name in names}
    states = {name: {"cores_free": rng.randint(0, capacity[name]["core"]), "nodes_free": rng.randint(0, 64),
                     "cost_per_node_hour": round(rng.uniform(0.5, 6), 2), "eta_seconds": rng.randint(0, 7200),
                     "memory_per_node": rng.choice([128, 256, 512])} for name in names}
    created = {name: float(i) for i, name in enumerate(names)}
    active = {name: rng.randint(0, 40) for name in names}

    def context() -> Context:
        return Context(demand={"node": 2, "core": 64}, duration=3600, capacity=capacity.__getitem__,
                       created=lambda ns: {n: created[n] for n in ns}, active=lambda ns: {n: active[n] for n in ns})

    print(f"{CANDIDATES} candidates, {ROUNDS} selections each (load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs)")
    runs = [("random", {}), ("constraint", {"priorities": PRIORITIES})] + [(p, {}) for p in sorted(builtin_presets())]
    for name, options in runs:
        wall, cpu = [], []
        for _ in range(ROUNDS):
            started_cpu, started = time.process_time(), time.perf_counter()
            select(name, names, options=options, states=states, parameters={"seconds_per_gb": 0.4}, rng=rng,
                   context=context())
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        print(f"{name:15s} p50 {statistics.median(wall):6.3f} ms  p99 {percentile(wall, 0.99):6.3f} ms  "
              f"CPU p50 {statistics.median(cpu):6.3f} ms")


if __name__ == "__main__":
    main()
