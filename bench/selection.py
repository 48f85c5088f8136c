"""Selection cost per job over 1,000 matched clusters, for every algorithm and scored preset (target: p50 <= 1 ms
for the presets), and the scheduler's CPU per job when 100 clusters bid for it.

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

from figures import PRIORITIES, percentile  # noqa: E402

from rainbow.select import Context, builtin_presets, select  # noqa: E402

CANDIDATES = 1000
ROUNDS = 200


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


def bids(clusters: int = 100, jobs: int = 20) -> None:
    """Level 2 in-process on a SQLite store: submit with `bid`, every cluster answers, the last answer decides.
    Prints the scheduler's CPU per job (submit + all answers + decision)."""
    import json
    import tempfile

    from rainbow.graph.generate import NodeKind, make_graph
    from rainbow.jobspec import simple_jobspec
    from rainbow.server.scheduler import Scheduler
    from rainbow.store import open_store

    with tempfile.TemporaryDirectory() as folder:
        scheduler = Scheduler(open_store(Path(folder) / "bench.db"), registration_secret="reg")
        graph = json.dumps(make_graph("c", [NodeKind(2, sockets=1, cores_per_socket=8)]))
        creds = {}
        for i in range(clusters):
            made = scheduler.register(f"c{i:03d}", "reg", graph)
            creds[f"c{i:03d}"] = (made.token, made.secret)
        tokens = [(name, token) for name, (token, _) in creds.items()]
        spec = json.dumps(simple_jobspec(1, 1, ["app"]))
        rng = random.Random(1)
        started_cpu, started = time.process_time(), time.perf_counter()
        for _ in range(jobs):
            jobid = scheduler.submit(spec, tokens, algorithm="bid", options={"window": "60"}).jobid
            for name, (_, secret) in creds.items():
                scheduler.bidding.answer(name, secret, jobid, True, rng.uniform(0, 600), None, None)
            assert scheduler.store.bid_window(jobid).cluster
        cpu = (time.process_time() - started_cpu) * 1000 / jobs
        wall = (time.perf_counter() - started) * 1000 / jobs
        scheduler.store.close()
    print(f"bid with {clusters} bidding clusters: {cpu:.1f} ms CPU per job ({cpu / clusters:.2f} ms per bid), "
          f"{wall:.1f} ms wall, submit + {clusters} answers + decision, SQLite store")


if __name__ == "__main__":
    main()
    bids()
