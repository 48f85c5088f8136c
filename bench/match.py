"""Matching at scale: 1,000 clusters x 1,000 nodes, 22 jobspecs (slots placed whole among them), match + select
over every cluster per job.

Prints the index build rate from JGF text, index memory, match+select latency (p50/p99) over all clusters, and
the reference matcher (which walks every vertex) on a 10-cluster subset for the ratio. Targets: p50 <= 2 ms,
p99 <= 10 ms, indexes <= 1 GB.

Two populations are measured: clones of a few generated graphs under other names (identical shape trees), and
clusters whose node counts all differ (every cluster its own shape tree, sharing only node classes).
"""
from __future__ import annotations

import gc
import json
import os
import pickle
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from figures import PRIORITIES, percentile  # noqa: E402

from rainbow.graph import build_index, parse_graph  # noqa: E402
from rainbow.graph.generate import NodeKind, make_graph  # noqa: E402
from rainbow.graph.index import ClusterIndex  # noqa: E402
from rainbow.graph.shape import Entry, intern_shape  # noqa: E402
from rainbow.jobspec import parse_jobspec, simple_jobspec  # noqa: E402
from rainbow.match import Matcher  # noqa: E402
from rainbow.match.reference import ReferenceMatcher  # noqa: E402
from rainbow.select import select  # noqa: E402

CLUSTERS = 1000
NODES = 1000
TEMPLATES = 3
ROUNDS = 40
REFERENCE_CLUSTERS = 10
REFERENCE_EVERY = 3

OS = [("ubuntu", "22.04", "OpenMPI", "4.1.5"), ("rocky", "8.9", "intel-mpi", "2021.8"),
      ("ubuntu", "20.04", "OpenMPI", "4.0.3")]
TARGETS = ["haswell", "skylake_avx512", "zen3", "sapphirerapids", "zen2"]


def kinds(template: int) -> list[NodeKind]:
    """About ten node classes adding up to NODES nodes, 64 cores each."""
    rng = random.Random(template)
    out = []
    left = NODES
    for k in range(10):
        count = left if k == 9 else rng.randint(50, 140)
        left -= count
        vendor, version, mpi, mpi_version = OS[(template + k) % len(OS)]
        gpus = [0, 0, 0, 4, 8][k % 5]
        props = {"system.os.vendor": vendor, "system.os.version": version, "library.mpi.variant": mpi,
                 "library.mpi.version": mpi_version, "system.cpu.target": TARGETS[(template + k) % len(TARGETS)],
                 "feature.infiniband": "true" if k % 2 else "false", "rack.power": str(10 + k)}
        out.append(NodeKind(count, sockets=2, cores_per_socket=32, memory_gib=[128, 256, 512, 1024][k % 4],
                            gpus=gpus, gpu_model="H100" if gpus == 8 else ("A100" if gpus else ""),
                            properties=props))
    return out


def jobs() -> list[dict]:
    def nodes(count, *children, requires=None, top=None):
        res = {"type": "node", "count": count, "with": list(children) or [{"type": "core", "count": 1}]}
        if requires:
            res["requires"] = requires
        doc = {"version": 1, "resources": {"r": res}, "tasks": [{"command": ["app"], "resources": "r"}],
               "attributes": {"parameter": {"seconds_per_gb": 0.4}}}
        if top:
            doc["requires"] = top
        return doc

    core = lambda n: {"type": "core", "count": n}  # noqa: E731
    return [
        simple_jobspec(2, 24, ["app"]),
        simple_jobspec(64, 4096, ["app"]),
        simple_jobspec(1000, 1000, ["app"]),
        simple_jobspec(1001, 1001, ["app"]),
        nodes(8, core(64), {"type": "gpu", "count": 8}),
        nodes(4, {"type": "gpu", "count": 4, "requires": [{"field": "model", "match": "A100"}]}),
        nodes(16, {"type": "memory", "count": 500, "unit": "GiB"}),
        nodes(2, {"type": "memory", "count": 2048, "unit": "GB"}),
        nodes(4, {"type": "socket", "count": 2, "with": [core(32)]}),
        nodes(3, core(65)),
        nodes(10, requires=[{"field": "system.os.vendor", "op": "In", "values": ["rocky"]}]),
        nodes(10, requires=[{"field": "feature.infiniband", "op": "IsTrue"}]),
        nodes(5, requires=[{"field": "rack.power", "op": "GtLt", "values": ["12", "16"]}]),
        nodes(5, requires=[{"field": "gpu.count", "op": "DoesNotExist"}]),
        nodes(1, requires=[{"name": "io", "field": "type", "match": "shm"}]),
        nodes(20, top={"io.archspec": {"cpu.target": "x86_64_v4"}}),
        nodes(20, top={"org.supercontainers": {"os.vendor": "rocky", "mpi.implementation": "intel-mpi"}}),
        nodes(2, top={"org.supercontainers": {"os.version": "22.04", "hardware.gpu.available": "yes"},
                      "io.archspec": {"cpu.target": "zen3"}}),
        {"version": 1, "resources": {"a": {"type": "node", "count": 100, "with": [core(64)]},
                                     "b": {"type": "node", "count": 50, "with": [{"type": "gpu", "count": 4}]}}},
        {"version": 1, "resources": [{"type": "slot", "count": 32, "label": "t", "with": [
            {"type": "node", "count": 1, "with": [core(16)]}]}],
         "tasks": [{"command": ["app"], "slot": "t", "count": {"per_slot": 1}}]},
        # a slot placed whole: each of its 2,000 slots under one vertex (a node: memory hangs off nodes)
        {"version": 9999, "resources": [{"type": "slot", "count": 2000, "label": "t", "with": [
            core(16), {"type": "memory", "count": 32}]}],
         "tasks": [{"command": ["app"], "slot": "t", "count": {"per_slot": 1}}],
         "attributes": {"system": {"duration": 3600, "constraints": {"properties": ["feature.infiniband"]}}}},
        # siblings take distinct cores: a socket's 32 and 16 more on the same node
        nodes(4, {"type": "socket", "count": 1, "with": [core(32)]}, core(16)),
    ]


def varied(index: ClusterIndex, name: str, rng: random.Random) -> ClusterIndex:
    """A copy of `index` whose racks hold slightly different node counts (a shape tree of its own), its nodes
    named after the cluster."""
    root = index.root
    entries = []
    number = 0
    for entry in root.entries:
        rack = entry.shape
        kids = []
        for e in rack.entries:
            count = max(1, e.count + rng.randint(-3, 3))
            members = tuple((("hostname", f"{name}-n{number + i}"),) for i in range(count))
            number += count
            kids.append(Entry(e.shape, count, members))
        kids = tuple(kids)
        entries.append(Entry(intern_shape(rack.type, rack.size, rack.unit, rack.props, rack.subsys, kids),
                             entry.count, None))
    top = intern_shape(root.type, root.size, root.unit, root.props, root.subsys, tuple(entries))
    return ClusterIndex(name, Entry(top, 1, None), index.vertex_count, index.subsystems)


def measure(matcher: Matcher, requests, states, rounds: int) -> tuple[list[float], list[float], int]:
    """Wall-clock and CPU milliseconds of match+select per job (CPU time shows the cost on a busy machine)."""
    latencies = []
    cpu = []
    fits = 0
    rng = random.Random(1)
    for _ in range(rounds):
        for i, request in enumerate(requests):
            started = time.process_time()
            start = time.perf_counter()
            matched, _reasons = matcher.match(request)
            if i % 2:
                select("constraint", matched, options={"priorities": PRIORITIES}, states=states,
                       parameters=request.parameters, rng=rng)
            else:
                select("random", matched, rng=rng)
            latencies.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - started) * 1000)
            fits += len(matched)
    return latencies, cpu, fits


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    print(f"clusters={CLUSTERS} nodes/cluster={NODES} templates={TEMPLATES} jobspecs={len(jobs())} rounds={ROUNDS} "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    started = time.perf_counter()
    texts = [json.dumps(make_graph(f"t{t}", kinds(t), racks=4)) for t in range(TEMPLATES)]
    print(f"generated {TEMPLATES} cluster graphs in {time.perf_counter() - started:.1f} s", flush=True)
    vertices = 0
    graphs = []
    indexes = []
    start = time.perf_counter()
    for text in texts:
        graph = parse_graph(text)
        vertices += graph.vertex_count
        graphs.append(graph)
        indexes.append(build_index(graph))
    build = time.perf_counter() - start
    print(f"index build from JGF text: {vertices} vertices in {build:.2f} s = {vertices / build:,.0f} vertices/s "
          f"({len(indexes[0].classes)} node classes per cluster)")

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    matcher = Matcher()
    for i in range(CLUSTERS):
        matcher.set(f"cluster{i:04d}", pickle.loads(pickle.dumps(indexes[i % TEMPLATES])))
    cloned_bytes = tracemalloc.get_traced_memory()[0] - before
    rng = random.Random(5)
    mixed = Matcher()
    for i in range(CLUSTERS):
        mixed.set(f"cluster{i:04d}", varied(indexes[i % TEMPLATES], f"cluster{i:04d}", rng))
    varied_bytes = tracemalloc.get_traced_memory()[0] - before - cloned_bytes
    tracemalloc.stop()
    print(f"index memory, {CLUSTERS} clones: {cloned_bytes / 2**20:.1f} MiB; "
          f"{CLUSTERS} distinct shape trees: {varied_bytes / 2**20:.1f} MiB (target <= 1024 MiB)")

    states = {name: {"nodes_free": rng.randint(0, 50), "cost_per_node_hour": rng.uniform(1, 5),
                     "memory_per_node": rng.choice([128, 256, 512])} for name in matcher.names()}
    texts = [json.dumps(doc) for doc in jobs()]
    requests = [parse_jobspec(text) for text in texts]  # the first parse compiles the schema validators
    start = time.perf_counter()
    requests = [parse_jobspec(text) for text in texts]
    parse_ms = (time.perf_counter() - start) * 1000 / len(requests)
    print(f"jobspec parse: {parse_ms:.2f} ms per jobspec (outside the latencies below)")

    for label, table in (("clones", matcher), ("distinct", mixed)):
        latencies, cpu, fits = measure(table, requests, states, ROUNDS)
        print(f"match+select over {CLUSTERS} clusters ({label}): p50 {statistics.median(latencies):.3f} ms, "
              f"p99 {percentile(latencies, 0.99):.3f} ms, max {max(latencies):.3f} ms; CPU time p50 "
              f"{statistics.median(cpu):.3f} ms, p99 {percentile(cpu, 0.99):.3f} ms "
              f"(targets 2 / 10 ms; {fits / (ROUNDS * len(requests)):.0f} clusters fit per job on average)")

    subset = Matcher()
    references = []
    for i in range(REFERENCE_CLUSTERS):
        subset.set(f"r{i}", indexes[i % TEMPLATES])
        references.append(ReferenceMatcher(graphs[i % TEMPLATES]))
    sample = requests[::REFERENCE_EVERY]
    start = time.perf_counter()
    expected = [[f"r{i}" for i, ref in enumerate(references) if ref.fits(request)] for request in sample]
    reference_ms = (time.perf_counter() - start) * 1000 / len(sample)
    agree = sum(want == subset.match(request)[0] for want, request in zip(expected, sample))
    start = time.perf_counter()
    for _ in range(ROUNDS):
        for request in sample:
            subset.match(request)
    index_ms = (time.perf_counter() - start) * 1000 / (ROUNDS * len(sample))
    print(f"reference matcher over {REFERENCE_CLUSTERS} clusters: {reference_ms:.1f} ms per job; index matcher: "
          f"{index_ms:.3f} ms per job; ratio {reference_ms / index_ms:,.0f}x (every {REFERENCE_EVERY}th jobspec; "
          f"answers agree on {agree}/{len(sample)})")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
