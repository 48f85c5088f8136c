"""Table cases over four heterogeneous clusters: which clusters fit each job, and why the others do not."""
from __future__ import annotations

import pytest

from rainbow.graph import build_index, parse_graph, parse_subsystem
from rainbow.jobspec import fold_artifact, parse_jobspec, simple_jobspec
from rainbow.match import Matcher
from rainbow.match.reference import ReferenceMatcher

from .engine_support import NodeKind, make_graph, make_subsystem, upstream_json

UBUNTU_22 = {"system.os.name": "Ubuntu 22.04.3 LTS", "system.os.vendor": "ubuntu", "system.os.version": "22.04",
             "system.os.release": "22.04.3", "library.mpi.variant": "OpenMPI"}
ROCKY_8 = {"system.os.name": "Rocky Linux 8.9 (Green Obsidian)", "system.os.vendor": "rocky",
           "system.os.version": "8.9", "system.os.release": "8.9", "library.mpi.variant": "intel-mpi",
           "library.mpi.version": "2021.8", "system.cpu.target": "skylake_avx512", "feature.infiniband": "false"}
UBUNTU_20_ARM = {"system.os.name": "Ubuntu 20.04.6 LTS", "system.os.vendor": "ubuntu", "system.os.version": "20.04",
                 "system.os.release": "20.04.6", "library.mpi.variant": "OpenMPI", "library.mpi.version": "4.0.3",
                 "system.cpu.target": "neoverse_v1", "gpu.vendor": "NVIDIA"}


def _graphs():
    alpha = make_graph("alpha", [
        NodeKind(4, sockets=2, cores_per_socket=8, memory_gib=64,
                 properties=dict(UBUNTU_22, **{"system.cpu.target": "haswell", "library.mpi.version": "4.1.2"})),
        NodeKind(2, sockets=2, cores_per_socket=16, memory_gib=256, gpus=4, gpu_model="A100", gpu_on_socket=True,
                 properties=dict(UBUNTU_22, **{"system.cpu.target": "zen3", "library.mpi.version": "4.1.5",
                                               "gpu.vendor": "NVIDIA", "feature.infiniband": "true"})),
    ])
    beta = make_graph("beta", [NodeKind(8, sockets=1, cores_per_socket=4, memory_gib=16, properties=ROCKY_8)],
                      racks=2)
    gamma = make_graph("gamma", [NodeKind(2, sockets=1, cores_per_socket=64, memory_gib=512, gpus=1,
                                          gpu_model="H100", properties=UBUNTU_20_ARM)])
    delta = make_graph("delta", [NodeKind(3, sockets=1, cores_per_socket=12)], dialect="fluxion", hostnames=False)
    return {"alpha": (alpha, {}), "beta": (beta, {}), "gamma": (gamma, "io"), "delta": (delta, "spack")}


def _node_labels(doc):
    graph = parse_graph(doc)
    return sorted(label for label, v in graph.vertices.items() if v.type == "node")


@pytest.fixture(scope="module")
def world():
    matcher = Matcher()
    references = {}
    for name, (doc, sub) in _graphs().items():
        graph = parse_graph(doc)
        subsystems = {}
        if sub == "io":
            io = make_subsystem("io", {label: [{"type": "shm"}, {"type": "nvme"}] for label in _node_labels(doc)})
            subsystems = {"io": parse_subsystem(io, "io", graph)}
        elif sub == "spack":
            spack = make_subsystem("spack", {label: [{"type": "package", "version": "0.5.2"}]
                                             for label in _node_labels(doc)})
            subsystems = {"spack": parse_subsystem(spack, "spack", graph)}
        matcher.set(name, build_index(graph, subsystems))
        references[name] = ReferenceMatcher(graph, subsystems)
    return matcher, references


def job(*resources, requires=None, form="nextgen"):
    if form == "flux":
        doc = {"version": 1, "resources": list(resources),
               "tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}], "attributes": {}}
    else:
        doc = {"version": 1, "resources": {f"r{i}": r for i, r in enumerate(resources)},
               "tasks": [{"command": ["app"], "resources": "r0"}]}
    if requires:
        doc["requires"] = requires
    return doc


def node(count=1, *children, requires=None, replicas=None):
    res = {"type": "node", "count": count, "with": list(children) or [{"type": "core", "count": 1}]}
    if replicas:
        res["replicas"] = replicas
        del res["count"]
    if requires:
        res["requires"] = requires
    return res


def core(n):
    return {"type": "core", "count": n}


def prop(field, op=None, *values, match=None):
    entry = {"field": field}
    if match is not None:
        entry["match"] = match
    if op:
        entry["op"] = op
        if values:
            entry["values"] = list(values)
    return entry


def artifact(name):
    return fold_artifact(simple_jobspec(1, 1, ["lmp"]), upstream_json(f"artifacts/{name}.json"))


ALL = ["alpha", "beta", "delta", "gamma"]

# (case id, jobspec, clusters that fit, {cluster: exact reason} for some that do not)
CASES = [
    ("simple-small", simple_jobspec(1, 4, ["app"]), ALL, {}),
    ("simple-16-cores", simple_jobspec(2, 32, ["app"]), ["alpha", "gamma"],
     {"beta": "needs 2 nodes with >= 16 cores; the largest node has 4 cores",
      "delta": "needs 2 nodes with >= 16 cores; the largest node has 12 cores"}),
    ("simple-too-many-nodes", simple_jobspec(9, 9, ["app"]), [],
     {"beta": "needs 9 nodes with >= 1 core; the cluster has 8 nodes",
      "gamma": "needs 9 nodes with >= 1 core; the cluster has 2 nodes"}),
    ("gpus-per-node", job(node(1, {"type": "gpu", "count": 4})), ["alpha"],
     {"beta": "needs 1 node with >= 4 gpus; no node has a gpu",
      "gamma": "needs 1 node with >= 4 gpus; the largest node has 1 gpu"}),
    ("gpu-model-on-vertex", job(node(1, {"type": "gpu", "count": 1,
                                         "requires": [{"field": "model", "match": "H100"}]})), ["gamma"],
     {"alpha": "needs 1 node with >= 1 gpu with model=H100; no node has a gpu with model=H100"}),
    ("memory-128-gib", job(node(2, {"type": "memory", "count": 128})), ["alpha", "gamma"],
     {"beta": "needs 2 nodes with >= 128 GiB memory; the largest node has 16 GiB memory",
      "delta": "needs 2 nodes with >= 128 GiB memory; no node has memory"}),
    ("memory-in-gb", job(node(1, {"type": "memory", "count": 200, "unit": "GB"})), ["alpha", "gamma"], {}),
    ("memory-300-gib", job(node(1, {"type": "memory", "count": 300, "unit": "GiB"})), ["gamma"],
     {"alpha": "needs 1 node with >= 300 GiB memory; the largest node has 256 GiB memory"}),
    ("memory-mib", job(node(8, {"type": "memory", "count": 16384, "unit": "MiB"})), ["beta"], {}),
    ("two-wide-sockets", job(node(1, {"type": "socket", "count": 2, "with": [core(16)]})), ["alpha"],
     {"gamma": "needs 1 node with 2 sockets with >= 16 cores; the largest node has 1 socket"}),
    ("sockets-on-three-nodes", job(node(3, {"type": "socket", "count": 2, "with": [core(8)]})), ["alpha"], {}),
    ("cores-anywhere", job({"type": "core", "count": 100}), ["alpha", "gamma"],
     {"beta": "needs >= 100 cores; the cluster has 32 cores",
      "delta": "needs >= 100 cores; the cluster has 36 cores"}),
    ("racks", job({"type": "rack", "count": 2, "with": [node(4, core(4))]}), ["beta"],
     {"alpha": "needs 2 racks with 4 nodes with >= 4 cores; the cluster has 1 rack"}),
    ("flux-slot-in-node", job({"type": "node", "count": 2, "with": [
        {"type": "slot", "count": 1, "label": "task", "with": [core(8)]}]}, form="flux"),
     ["alpha", "delta", "gamma"], {"beta": "needs 2 nodes with >= 8 cores; the largest node has 4 cores"}),
    ("flux-slot-around-node", job({"type": "slot", "count": 4, "label": "task", "with": [
        {"type": "node", "count": 1, "with": [core(4)]}]}, form="flux"),
     ["alpha", "beta"], {"gamma": "needs 4 nodes with >= 4 cores; the cluster has 2 nodes"}),
    ("replicas", job(node(replicas=3, requires=None)), ["alpha", "beta", "delta"], {}),
    ("io-shm", job(node(1, core(2), requires=[{"name": "io", "field": "type", "match": "shm"}])), ["gamma"],
     {"alpha": "needs 1 node with io type=shm and >= 2 cores; no node has io type=shm"}),
    ("spack-range", job(node(2, core(2), requires=[{"name": "spack", "field": "version", "min": "0.5.1",
                                                    "max": "0.5.5"}])), ["delta"], {}),
    ("spack-range-miss", job(node(1, requires=[{"name": "spack", "field": "version", "min": "v0.6"}])), [],
     {"delta": "needs 1 node with spack version in [v0.6, *] and >= 1 core; no node has spack version in [v0.6, *]"}),
    ("op-in", job(node(1, requires=[prop("system.os.vendor", "In", "rocky", "centos")])), ["beta"],
     {"alpha": "needs 1 node with system.os.vendor In rocky,centos and >= 1 core; "
               "no node has system.os.vendor In rocky,centos"}),
    ("op-notin-missing-counts", job(node(1, requires=[prop("system.os.vendor", "NotIn", "ubuntu")])),
     ["beta", "delta"], {}),
    ("op-exists", job(node(1, requires=[prop("gpu.model", "Exists")])), ["alpha", "gamma"], {}),
    ("op-does-not-exist", job(node(1, requires=[prop("gpu.count", "DoesNotExist")])), ["alpha", "beta", "delta"],
     {"gamma": "needs 1 node with gpu.count DoesNotExist and >= 1 core; no node has gpu.count DoesNotExist"}),
    ("op-gt", job(node(2, requires=[prop("gpu.count", "Gt", "2")])), ["alpha"], {}),
    ("op-lt", job(node(1, requires=[prop("gpu.count", "Lt", "2")])), ["gamma"], {}),
    ("op-gtlt", job(node(1, requires=[prop("gpu.count", "GtLt", "0", "5")])), ["alpha", "gamma"], {}),
    ("op-is-true", job(node(2, requires=[prop("feature.infiniband", "IsTrue")])), ["alpha"],
     {"beta": "needs 2 nodes with feature.infiniband IsTrue and >= 1 core; no node has feature.infiniband IsTrue"}),
    ("op-is-false", job(node(8, requires=[prop("feature.infiniband", "IsFalse")])), ["beta"], {}),
    ("op-match", job(node(2, requires=[prop("system.cpu.target", match="zen3")])), ["alpha"],
     {"gamma": "needs 2 nodes with system.cpu.target=zen3 and >= 1 core; no node has system.cpu.target=zen3"}),
    ("too-few-matching", job(node(3, requires=[prop("system.cpu.target", match="zen3")])), [],
     {"alpha": "needs 3 nodes with system.cpu.target=zen3 and >= 1 core; "
               "only 2 nodes with system.cpu.target=zen3"}),
    ("hostname", job(node(2, requires=[prop("hostname", "In", "alpha-n0", "alpha-n5", "beta-n1")])), ["alpha"],
     {"beta": "needs 2 nodes with hostname In alpha-n0,alpha-n5,beta-n1 and >= 1 core; "
              "only 1 node with hostname In alpha-n0,alpha-n5,beta-n1"}),
    ("compat-os-vendor", job(node(2), requires={"org.supercontainers": {"os.vendor": "Rocky"}}), ["beta"],
     {"alpha": "needs 2 nodes with >= 1 core; os.vendor Rocky: nodes have ubuntu"}),
    ("compat-os-version", job(node(1), requires={"org.supercontainers": {"os.version": "22.04"}}), ["alpha"],
     {"gamma": "needs 1 node with >= 1 core; os.version 22.04: nodes have 20.04"}),
    ("compat-target-v3", job(node(1), requires={"io.archspec": {"cpu.target": "x86_64_v3"}}), ["alpha", "beta"],
     {"gamma": "needs 1 node with >= 1 core; cpu.target x86_64_v3: nodes are neoverse_v1",
      "delta": "needs 1 node with >= 1 core; cpu.target x86_64_v3: nodes have no cpu target"}),
    ("compat-target-v4", job(node(1), requires={"io.archspec": {"cpu.target": "x86_64_v4"}}), ["beta"],
     {"alpha": "needs 1 node with >= 1 core; cpu.target x86_64_v4: nodes are haswell, zen3"}),
    ("compat-family", job(node(1), requires={"io.archspec": {"cpu.target": "arm64"}}), ["gamma"], {}),
    ("compat-mpi", job(node(1), requires={"org.supercontainers": {"mpi.implementation": "openmpi",
                                                                   "mpi.version": "4.1.2"}}), ["alpha"],
     {"gamma": "needs 1 node with >= 1 core; mpi.version 4.1.2: nodes have 4.0.3"}),
    ("compat-gpu", job(node(2), requires={"org.supercontainers": {"hardware.gpu.available": "yes"}}),
     ["alpha", "gamma"], {}),
    ("compat-some-nodes", job(node(3), requires={"io.archspec": {"cpu.target": "zen3"}}), [],
     {"alpha": "needs 3 nodes with >= 1 core; 2 of 6 nodes are compatible "
               "(cpu.target zen3: nodes are haswell); they have 2 nodes"}),
    ("compat-and-resources", job(node(2, core(32)), requires={"io.archspec": {"cpu.target": "x86_64_v3"}}),
     ["alpha"], {}),
    ("artifact-rocky-8", artifact("compspec-intel-mpi-rocky-8-amd64"), ["beta"],
     {"alpha": "needs 1 node with >= 1 core; mpi.implementation intel-mpi: nodes have OpenMPI"}),
    ("artifact-rocky-9", artifact("compspec-intel-mpi-rocky-9-amd64"), [],
     {"beta": "needs 1 node with >= 1 core; os.name Rocky Linux 9.3 (Blue Onyx): "
              "nodes have Rocky Linux 8.9 (Green Obsidian)"}),
    ("artifact-ubuntu-22-gpu", artifact("compspec-openmpi-ubuntu-gpu-22.04"), ["alpha"], {}),
    ("artifact-ubuntu-20-gpu", artifact("compspec-openmpi-ubuntu-gpu-20.04"), [],
     {"gamma": "needs 1 node with >= 1 core; cpu.target amd64: nodes are neoverse_v1"}),
    ("distinct-nodes-fit", job(node(4, core(16)), node(2, {"type": "gpu", "count": 4})), ["alpha"], {}),
    ("distinct-nodes-short", job(node(5, core(16)), node(2, {"type": "gpu", "count": 4})), [],
     {"alpha": "needs 5 nodes with >= 16 cores and 2 nodes with >= 4 gpus on distinct nodes; "
               "there are not enough for all"}),
    ("gpus-under-socket", job(node(1, {"type": "socket", "count": 1, "with": [{"type": "gpu", "count": 4}]})),
     ["alpha"], {"gamma": "needs 1 node with 1 socket with >= 4 gpus; no node has 1 socket with >= 4 gpus"}),
    ("unknown-type", job(node(1, {"type": "fpga", "count": 1})), [],
     {"alpha": "needs 1 node with >= 1 fpga; no node has a fpga"}),
    ("top-level-gpus", job({"type": "gpu", "count": 3}), ["alpha"],
     {"gamma": "needs >= 3 gpus; the cluster has 2 gpus", "beta": "needs >= 3 gpus; the cluster has no gpu"}),
]


@pytest.mark.parametrize("case,spec,fits,reasons", CASES, ids=[c[0] for c in CASES])
def test_case(world, case, spec, fits, reasons):
    matcher, references = world
    request = parse_jobspec(spec)
    matched, why = matcher.match(request)
    assert matched == fits
    assert sorted(why) == sorted(set(ALL) - set(fits))
    for cluster, reason in reasons.items():
        assert why[cluster] == reason
    assert all(why.values()) and not any("\n" in r for r in why.values())
    assert [name for name in ALL if references[name].fits(request)] == fits


def test_unknown_names_are_not_registered(world):
    matcher, _ = world
    matched, why = matcher.match(parse_jobspec(simple_jobspec(1, 1, ["x"])), ["alpha", "nowhere"])
    assert matched == ["alpha"]
    assert why == {"nowhere": "not registered"}


def test_results_are_deterministic(world):
    matcher, _ = world
    request = parse_jobspec(CASES[2][1])
    first = matcher.match(request)
    assert all(matcher.match(parse_jobspec(CASES[2][1])) == first for _ in range(3))


def test_set_and_remove():
    matcher = Matcher()
    index = build_index(parse_graph(make_graph("x", [NodeKind(1)])))
    matcher.set("x", index)
    matcher.set("y", index)
    assert matcher.names() == ["x", "y"]
    matcher.remove("x")
    matcher.remove("x")
    assert matcher.names() == ["y"]
    assert matcher.match(parse_jobspec(simple_jobspec(1, 1, ["a"])), ["x", "y"]) == (["y"], {"x": "not registered"})


def test_concurrent_matching_while_clusters_come_and_go():
    import threading

    small = build_index(parse_graph(make_graph("s", [NodeKind(2, cores_per_socket=4)])))
    large = build_index(parse_graph(make_graph("l", [NodeKind(4, cores_per_socket=16)])))
    matcher = Matcher()
    for i in range(50):
        matcher.set(f"small{i:02d}", small)
    request = parse_jobspec(simple_jobspec(2, 16, ["app"]))
    problems: list[str] = []

    def reader():
        for _ in range(200):
            matched, reasons = matcher.match(request)
            if any(not name.startswith("large") for name in matched):
                problems.append(f"matched {matched}")
            if any(reason != "needs 2 nodes with >= 8 cores; the largest node has 4 cores"
                   for name, reason in reasons.items()):
                problems.append(f"reasons {reasons}")

    def writer():
        for i in range(200):
            matcher.set(f"large{i % 7}", large)
            matcher.remove(f"large{(i + 3) % 7}")

    threads = [threading.Thread(target=reader) for _ in range(3)] + [threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    assert sum(name.startswith("small") for name in matcher.names()) == 50
