"""The index matcher agrees with the reference matcher (which walks every vertex) on random graphs and jobs."""
from __future__ import annotations

import pickle

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rainbow.graph import build_index, parse_graph, parse_subsystem
from rainbow.graph.generate import NodeKind, make_graph, make_subsystem
from rainbow.jobspec import parse_jobspec
from rainbow.match import Matcher
from rainbow.match.reference import ReferenceMatcher

PROPERTIES = {
    "system.os.vendor": ["ubuntu", "rocky"],
    "system.cpu.target": ["haswell", "zen3", "skylake_avx512", "neoverse_v1"],
    "feature.fast": ["true", "false"],
    "rank.level": ["1", "3", "7"],
}

kinds = st.builds(
    NodeKind,
    count=st.integers(1, 5),
    sockets=st.integers(1, 2),
    cores_per_socket=st.integers(1, 6),
    memory_gib=st.sampled_from([0, 8, 16]),
    gpus=st.integers(0, 2),
    gpu_model=st.sampled_from(["", "A100", "H100"]),
    gpu_on_socket=st.booleans(),
    properties=st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in PROPERTIES.items()}),
)


@st.composite
def property_requirement(draw):
    field = draw(st.sampled_from(sorted(PROPERTIES) + ["hostname", "missing.key"]))
    pool = PROPERTIES.get(field, ["c-n0", "c-n1", "c-n3"])
    op = draw(st.sampled_from(["match", "In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "GtLt", "IsTrue",
                               "IsFalse"]))
    if op == "match":
        return {"field": field, "match": draw(st.sampled_from(pool))}
    if op in ("In", "NotIn"):
        return {"field": field, "op": op, "values": draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2))}
    if op in ("Gt", "Lt"):
        return {"field": field, "op": op, "value": str(draw(st.integers(0, 8)))}
    if op == "GtLt":
        low = draw(st.integers(0, 5))
        return {"field": field, "op": op, "values": [str(low), str(low + draw(st.integers(1, 4)))]}
    return {"field": field, "op": op}


@st.composite
def node_children(draw):
    children = [{"type": "core", "count": draw(st.integers(1, 4))}]
    if draw(st.integers(0, 2)) == 0:
        gpu = {"type": "gpu", "count": draw(st.integers(1, 2))}
        if draw(st.booleans()):
            gpu["requires"] = [{"field": "model", "match": draw(st.sampled_from(["A100", "H100"]))}]
        children.append(gpu)
    if draw(st.integers(0, 2)) == 0:
        children.append({"type": "memory", "count": draw(st.sampled_from([4, 8, 12, 16])),
                         "unit": draw(st.sampled_from(["", "GiB", "GB"]))})
    if draw(st.booleans()):
        children = [{"type": "socket", "count": draw(st.integers(1, 2)),
                     "with": [{"type": "core", "count": draw(st.integers(1, 3))}]}] + children[1:]
    if draw(st.booleans()):
        children = [{"type": "slot", "count": draw(st.integers(1, 2)), "with": children}]
    return children


@st.composite
def node_resource(draw):
    res = {"type": "node", "with": draw(node_children())}
    if draw(st.booleans()):
        res["replicas"] = draw(st.integers(1, 3))
    else:
        res["count"] = draw(st.integers(1, 3))
    requires = draw(st.lists(property_requirement(), max_size=2)) if draw(st.integers(0, 2)) == 0 else []
    if draw(st.integers(0, 4)) == 0:
        requires.append({"name": "io", "field": "type", "match": draw(st.sampled_from(["shm", "nvme"]))})
    if requires:
        res["requires"] = requires
    return res


@st.composite
def jobspecs(draw):
    shape = draw(st.sampled_from(["node", "two-nodes", "cores", "memory", "rack"]))
    if shape == "node":
        resources = {"a": draw(node_resource())}
    elif shape == "two-nodes":
        resources = {"a": draw(node_resource()), "b": draw(node_resource())}
    elif shape == "cores":
        resources = {"a": {"type": "core", "count": draw(st.integers(1, 40))}}
    elif shape == "memory":
        resources = {"a": {"type": "memory", "count": draw(st.integers(1, 80)), "unit": "GiB"},
                     "b": {"type": "gpu", "count": draw(st.integers(1, 4))}}
    else:
        resources = {"a": {"type": "rack", "count": 1, "with": [draw(node_resource())]}}
    doc = {"version": 1, "resources": resources, "tasks": [{"command": ["app"], "resources": "a"}]}
    requires = {}
    if draw(st.integers(0, 4)) == 0:
        requires["org.supercontainers"] = {"os.vendor": draw(st.sampled_from(["ubuntu", "Rocky"]))}
    if draw(st.integers(0, 4)) == 0:
        requires["io.archspec"] = {"cpu.target": draw(st.sampled_from(["x86_64_v3", "amd64", "arm64", "zen2"]))}
    if requires:
        doc["requires"] = requires
    return doc


def count(draw, low, high):
    """A count as a number or as an RFC 14 range (fit is decided by its min)."""
    value = draw(st.integers(low, high))
    if draw(st.booleans()):
        return value
    out = {"min": value}
    if draw(st.booleans()):
        out["max"] = value + draw(st.integers(0, 3))
    if draw(st.booleans()):
        out["operator"], out["operand"] = draw(st.sampled_from([("+", 1), ("*", 2), ("^", 2)]))
    return out


@st.composite
def flux_part(draw, depth=0):
    """One resource of a Flux jobspec below a node or in a slot, sometimes exclusive."""
    kind = draw(st.sampled_from(["core", "socket", "gpu", "memory"] if depth else ["core", "socket"]))
    if kind == "socket":
        out = {"type": "socket", "count": count(draw, 1, 2), "with": [{"type": "core", "count": count(draw, 1, 3)}]}
        if draw(st.integers(0, 2)) == 0:
            out["with"].append({"type": "gpu", "count": 1})
    elif kind == "memory":
        out = {"type": "memory", "count": draw(st.sampled_from([4, 8, 16, 24])), "unit": draw(
            st.sampled_from(["GiB", "GB"]))}
    else:
        out = {"type": kind, "count": count(draw, 1, 5 if kind == "core" else 2)}
    if draw(st.integers(0, 3)) == 0:
        out["exclusive"] = True
    return out


@st.composite
def flux_jobspecs(draw):
    """Flux-form jobs: slots at the top (placed whole) or under nodes, siblings of nested types, constraints."""
    parts = draw(st.lists(flux_part(1), min_size=1, max_size=3, unique_by=lambda r: r["type"]))
    if draw(st.booleans()):  # siblings of nested types: a socket with cores beside more cores
        parts = [{"type": "socket", "count": 1, "with": [{"type": "core", "count": count(draw, 1, 3)}]},
                 {"type": "core", "count": count(draw, 1, 4)}]
        if draw(st.booleans()):  # an exclusive socket is taken whole: its cores are not the sibling's
            parts[0]["exclusive"] = True
    slot = {"type": "slot", "count": count(draw, 1, 3), "label": "task", "with": parts}
    where = draw(st.sampled_from(["top", "node", "top-node"]))
    if where == "top":
        resources = [slot]
    elif where == "node":
        resources = [{"type": "node", "count": count(draw, 1, 3), "with": [slot]}]
        if draw(st.integers(0, 3)) == 0:
            resources[0]["exclusive"] = True
    else:
        slot["with"] = [{"type": "node", "count": count(draw, 1, 2), "with": parts}]
        if draw(st.integers(0, 2)) == 0:  # an exclusive node beside cores of the same slot
            slot["with"][0]["exclusive"] = True
            slot["with"].append({"type": "core", "count": count(draw, 1, 8)})
        resources = [slot]
    doc = {"version": draw(st.sampled_from([1, 9999])), "resources": resources,
           "tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}]}
    system = {}
    if draw(st.integers(0, 2)) == 0:
        system["constraints"] = draw(constraints())
    if draw(st.booleans()):
        system["duration"] = draw(st.integers(0, 3600))
    if system:
        doc["attributes"] = {"system": system}
    return doc


@st.composite
def constraints(draw, depth=0):
    kind = draw(st.sampled_from(["properties", "hostlist", "ranks"] + (["and", "or", "not"] if depth < 2 else [])))
    if kind == "properties":
        names = draw(st.lists(st.sampled_from(sorted(PROPERTIES)), min_size=1, max_size=2))
        return {"properties": [("^" + n) if draw(st.booleans()) else n for n in names]}
    if kind == "hostlist":
        return {"hostlist": [draw(st.sampled_from(["c-n[0-2]", "c-n1,c-n3", "node[0-3]", "node1,c-n0"]))]}
    if kind == "ranks":
        return {"ranks": [draw(st.sampled_from(["0-2", "1"]))]}
    return {kind: draw(st.lists(constraints(depth + 1), min_size=1, max_size=2))}


@st.composite
def clusters(draw):
    doc = make_graph("c", draw(st.lists(kinds, min_size=1, max_size=4)), racks=draw(st.integers(1, 2)),
                     dialect=draw(st.sampled_from(["rainbow", "fluxion"])), hostnames=draw(st.booleans()))
    graph = parse_graph(doc)
    nodes = sorted(label for label, v in graph.vertices.items() if v.type == "node")
    attach = {}
    for label in draw(st.lists(st.sampled_from(nodes), max_size=len(nodes), unique=True)):
        attach[label] = [{"type": t} for t in draw(st.lists(st.sampled_from(["shm", "nvme"]), min_size=1,
                                                             max_size=2, unique=True))]
    subsystems = {"io": make_subsystem("io", attach)} if attach else {}
    return doc, subsystems


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster=clusters(), jobs=st.lists(st.one_of(jobspecs(), flux_jobspecs()), min_size=1, max_size=3))
def test_index_matcher_agrees_with_reference(cluster, jobs):
    doc, subsystem_docs = cluster
    graph = parse_graph(doc)
    subsystems = {name: parse_subsystem(sub, name, graph) for name, sub in subsystem_docs.items()}
    index = build_index(graph, subsystems)
    matcher = Matcher()
    matcher.set("c", index)
    matcher.set("copy", pickle.loads(pickle.dumps(index)))
    reference = ReferenceMatcher(graph, subsystems)
    for job in jobs:
        request = parse_jobspec(job)
        expected = reference.fits(request)
        matched, reasons = matcher.match(request)
        assert matched == (["c", "copy"] if expected else []), (job, reasons)
        if not expected:
            assert reasons["c"] and reasons["c"] == reasons["copy"]
            assert "\n" not in reasons["c"]
