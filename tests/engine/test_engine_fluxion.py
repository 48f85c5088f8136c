"""Fluxion's graphs and jobspecs: each case gives the answer Fluxion's `match satisfiability` gives, and why.

Graphs follow RFC 4 (JGF) with Fluxion's vertex metadata (see fluxion_graphs.py); jobspecs follow RFC 14/25 (the
Flux form, version 1 or Fluxion's test version 9999) with RFC 31 constraints under attributes.system.
"""
from __future__ import annotations

import json

import pytest

from rainbow.graph import GraphError, build_index, parse_graph
from rainbow.jobspec import JobspecError, parse_jobspec
from rainbow.match import Matcher, match
from rainbow.match.reference import ReferenceMatcher

from .fluxion_graphs import tiny

GRAPHS = {
    "tiny": tiny(),  # 2 nodes x 2 sockets x (4 cores, 1 gpu, 4 x 2 GB memory)
    "three-sockets": tiny(nodes=1, sockets=3),
    "flat-memory": tiny(memory=(8,)),  # one 8 GB memory vertex per socket
    "props": tiny(properties={0: {"amd": ""}, 1: {"intel": "", "ssd": ""}}),
    "power": tiny(power=True),
    "one-socket": tiny(nodes=1, sockets=1, cores=8),  # 1 node, one 8-core socket
    "two-sockets": tiny(nodes=1, sockets=2, cores=8),  # 1 node, two 8-core sockets
}


def flux(*resources, version=9999, system=None):
    doc = {"version": version, "resources": list(resources),
           "tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}]}
    doc["attributes"] = {"system": system if system is not None else {"duration": 3600}}
    return doc


def slot(count, *with_):
    return {"type": "slot", "count": count, "label": "task", "with": list(with_)}


def res(vtype, count=1, *with_, **extra):
    out = {"type": vtype, "count": count, **extra}
    if with_:
        out["with"] = list(with_)
    return out


def node_task(count=1, constraint=None, **node):
    system = {"duration": 0}
    if constraint is not None:
        system["constraints"] = constraint
    return flux(res("node", count, slot(1, res("core", 1)), **node), system=system)


# (case, graph, jobspec, fits, reason when not, why Fluxion answers so)
CASES = [
    ("node-slot-cores", "tiny", flux(res("node", 2, slot(1, res("core", 8)))), True, "",
     "each node holds 8 cores through its sockets; a slot under a node sits at the node"),
    ("node-slot-too-many-cores", "tiny", flux(res("node", 1, slot(1, res("core", 9)))), False,
     "needs 1 node with >= 9 cores; the largest node has 8 cores", "no node has 9 cores"),
    ("version-1", "tiny", flux(res("node", 1, slot(1, res("core", 1))), version=1), True, "",
     "RFC 25 writes version 1; Fluxion reads it as 9999"),
    ("count-range-min", "tiny", flux(res("node", {"min": 2, "max": 4, "operator": "+", "operand": 1},
                                         slot(1, res("core", 1)))), True, "",
     "a count range is satisfied by its min: 2 nodes"),
    ("count-range-min-too-big", "tiny", flux(res("node", {"min": 3, "max": 8}, slot(1, res("core", 1)))), False,
     "needs 3 nodes (count 3-8, +1) with >= 1 core; the cluster has 2 nodes", "the min, 3 nodes, is more than 2"),
    ("exclusive-node", "tiny", flux(res("node", 2, slot(1, res("core", 1)), exclusive=True)), True, "",
     "an empty cluster can give two whole nodes"),
    ("top-slot-three-sockets", "three-sockets", flux(slot(1, res("socket", 3, res("core", 1)))), True, "",
     "one node holds all three sockets of the slot"),
    ("top-slot-spans-nodes", "tiny", flux(slot(1, res("socket", 3, res("core", 1)))), False,
     "needs 1 slot of 3 sockets with >= 1 core, each under one vertex; the largest node has 2 sockets",
     "all of a slot comes from under one vertex: 4 sockets in the cluster, but no node has 3"),
    ("top-slot-cores-per-socket", "tiny", flux(slot(4, res("core", 4))), True, "",
     "four slots of 4 cores: one per socket"),
    ("top-slot-cores-too-many", "tiny", flux(slot(5, res("core", 4))), False,
     "needs 5 slots of >= 4 cores, each under one vertex; only 4 fit",
     "16 cores, but only 4 sockets hold 4 cores each"),
    ("top-slot-of-nodes", "tiny", flux(slot(1, res("node", 2, res("core", 1)))), True, "",
     "a two-node slot sits at the rack above both nodes"),
    ("memory-in-graph-unit", "tiny", flux(res("node", 1, res("socket", 1, res("memory", 8)))), True, "",
     "4 x 2 GB under a socket is 8 in the graph's unit (GB, 2^30 bytes)"),
    ("memory-gb-is-gib", "tiny", flux(res("node", 1, res("socket", 1, res("memory", 8, unit="GiB")))), True, "",
     "Fluxion's GB is 2^30 bytes, so 8 GB of vertices is 8 GiB"),
    ("memory-too-much", "tiny", flux(res("node", 1, res("socket", 1, res("memory", 9)))), False,
     "needs 1 node with 1 socket with >= 9 GiB memory; no node has 1 socket with >= 9 GiB memory",
     "each socket has 8"),
    ("memory-in-one-vertex", "flat-memory", flux(res("node", 1, slot(1, res("memory", 16)))), True, "",
     "two sockets of one 8 GB vertex each give the node 16"),
    ("siblings-distinct", "tiny", flux(res("node", 1, res("socket", 1, res("core", 4)), res("core", 4))), True, "",
     "the socket's 4 cores and 4 more from the other socket"),
    ("siblings-share-nothing", "tiny", flux(res("node", 1, res("socket", 1, res("core", 4)), res("core", 5))),
     False, "needs 1 node with 1 socket with >= 4 cores and >= 5 cores; the largest node has 8 cores, and its "
            "other resources take 4 cores of them",
     "siblings take distinct cores: 4 + 5 is more than a node's 8"),
    ("siblings-all-required", "tiny", flux(res("node", 1, slot(1, res("core", 2), res("gpu", 3)))), False,
     "needs 1 node with >= 2 cores and >= 3 gpus; the largest node has 2 gpus",
     "every sibling is required: the gpus are missing"),
    ("constraint-hostlist", "tiny", node_task(1, {"hostlist": ["node[1-3]"]}), True, "",
     "node1 is in the host list"),
    ("constraint-hostlist-too-few", "tiny", node_task(2, {"hostlist": ["node[1-3]"]}), False,
     "needs 2 nodes with >= 1 core; 1 of 2 nodes meet the constraint hostlist node[1-3]; they have 1 node",
     "only node1 is in the host list"),
    ("constraint-ranks", "tiny", node_task(2, {"ranks": ["0-1"]}), True, "", "ranks 0 and 1 are both nodes"),
    ("constraint-property", "props", node_task(1, {"properties": ["amd"]}), True, "", "node0 has property amd"),
    ("constraint-negated-property", "props", node_task(2, {"properties": ["^amd"]}), False,
     "needs 2 nodes with >= 1 core; 1 of 2 nodes meet the constraint properties ^amd; they have 1 node",
     "^amd leaves only node1"),
    ("constraint-or", "props", node_task(2, {"or": [{"properties": ["amd"]}, {"properties": ["ssd"]}]}), True, "",
     "node0 is amd, node1 has ssd"),
    ("constraint-and", "props", node_task(1, {"and": [{"properties": ["intel"]}, {"hostlist": ["node0"]}]}),
     False, "needs 1 node with >= 1 core; no node meets the constraint (properties intel and hostlist node0)",
     "node0 is not intel"),
    ("constraint-not", "props", node_task(1, {"not": [{"properties": ["amd"]}]}), True, "",
     "node1 is not amd"),
    ("constraint-unknown-property", "tiny", node_task(1, {"properties": ["gpu-a100"]}), False,
     "needs 1 node with >= 1 core; no node meets the constraint properties gpu-a100", "no node has it"),
    ("exclusive-socket-beside-cores", "one-socket",
     flux(res("node", 1, res("socket", 1, res("core", 1), exclusive=True), res("core", 4))), False,
     "needs 1 node with 1 exclusive socket with >= 1 core and >= 4 cores; the largest node has 8 cores, and the "
     "exclusive socket takes 8 cores of them whole",
     "the exclusive socket takes the only socket whole: none of its cores are left for the sibling cores"),
    ("shared-socket-beside-cores", "one-socket",
     flux(res("node", 1, res("socket", 1, res("core", 1)), res("core", 4))), True, "",
     "without exclusive the socket's job takes 1 core; 7 remain for the sibling 4"),
    ("exclusive-socket-other-socket", "two-sockets",
     flux(res("node", 1, res("socket", 1, res("core", 1), exclusive=True), res("core", 4))), True, "",
     "one socket is taken whole; the other socket's 8 cores serve the sibling cores"),
    ("exclusive-socket-too-many-cores", "two-sockets",
     flux(res("node", 1, res("socket", 1, res("core", 1), exclusive=True), res("core", 9))), False,
     "needs 1 node with 1 exclusive socket with >= 1 core and >= 9 cores; the largest node has 16 cores, and the "
     "exclusive socket takes 8 cores of them whole",
     "only the other socket's 8 cores are left for the sibling 9"),
    ("exclusive-leaf-socket", "tiny", flux(res("node", 1, slot(1, res("socket", 1, exclusive=True), res("core", 4)))),
     True, "", "a childless exclusive socket is also taken whole; the other socket has 4 cores"),
    ("exclusive-node-in-slot", "tiny", flux(slot(1, res("node", 1, res("core", 1), exclusive=True), res("core", 8))),
     True, "", "the slot sits at the rack: one node is taken whole, the other gives the 8 cores"),
    ("exclusive-node-in-slot-too-many-cores", "tiny",
     flux(slot(1, res("node", 1, res("core", 1), exclusive=True), res("core", 9))), False,
     "needs 1 slot of 1 exclusive node with >= 1 core and >= 9 cores, each under one vertex; the largest rack has "
     "16 cores, and the exclusive node takes 8 cores of them whole",
     "the exclusive node's 8 cores are not left to the sibling: 8 remain, not 9"),
    ("shared-node-in-slot", "tiny", flux(slot(1, res("node", 1, res("core", 1)), res("core", 9))), True, "",
     "without exclusive the node's job takes 1 core of 16"),
    ("exclusive-count-range-min", "tiny",
     flux(res("node", 1, slot(1, res("socket", {"min": 1, "max": 2}, res("core", 1), exclusive=True),
                              res("core", 4)))), True, "",
     "the min, 1 socket, is taken whole; the other socket's 4 cores are left"),
    ("exclusive-count-range-takes-all", "tiny",
     flux(res("node", 1, slot(1, res("socket", {"min": 2, "max": 2}, res("core", 1), exclusive=True),
                              res("core", 1)))), False,
     "needs 1 node with 2 exclusive sockets (count 2-2, +1) with >= 1 core and >= 1 core; the largest node has 8 "
     "cores, and the exclusive socket takes 8 cores of them whole",
     "both sockets are taken whole, so no core is left for the sibling"),
    ("exclusive-top-slots", "tiny", flux(slot(2, res("socket", 1, res("core", 1), exclusive=True), res("core", 4))),
     True, "", "each node holds one slot: one socket taken whole, the other's 4 cores beside it"),
    ("exclusive-top-slots-too-many", "tiny",
     flux(slot(3, res("socket", 1, res("core", 1), exclusive=True), res("core", 4))), False,
     "needs 3 slots of 1 exclusive socket with >= 1 core and >= 4 cores, each under one vertex; only 2 fit",
     "a node's two sockets hold one such slot, not two"),
    ("power-subsystem", "power", {"version": 1, "resources": {"n": {"type": "node", "count": 2, "requires": [
        {"name": "power", "field": "type", "match": "pdu"}], "with": [{"type": "core", "count": 1}]}}}, True, "",
     "the power subsystem in the same file is the cluster's subsystem `power`"),
]


@pytest.fixture(scope="module")
def indexes():
    return {name: (build_index(parse_graph(doc)), ReferenceMatcher(parse_graph(doc))) for name, doc in GRAPHS.items()}


@pytest.mark.parametrize("case,graph,jobspec,fits,reason,why", CASES, ids=[c[0] for c in CASES])
def test_fluxion_answer(indexes, case, graph, jobspec, fits, reason, why):
    index, reference = indexes[graph]
    request = parse_jobspec(json.dumps(jobspec))
    result = match(request, index)
    assert result.ok is fits, (why, result.reason)
    assert reference.fits(request) is fits, why
    assert result.reason == reason


def test_unknown_system_attributes_are_kept():
    request = parse_jobspec(flux(res("node", 1, slot(1, res("core", 1))),
                                 system={"duration": 60, "queue": "batch", "cwd": "/tmp"}))
    assert request.duration == 60
    assert request.system["queue"] == "batch" and request.system["cwd"] == "/tmp"


@pytest.mark.parametrize("doc,message", [
    (flux(res("node", 1, {"type": "xor_slot", "count": 1, "with": [res("core", 1)]})),
     "jobspec: resources[0].with[0].type: xor_slot (alternative slots, Fluxion's opt-in flexible traverser) is not "
     "supported; ask for one slot"),
    (flux(res("node", 1, slot(1, res("core", 1))), version=10000),
     "jobspec: version: 10000 is greater than the maximum of 9999"),
    (flux(res("node", {"min": 4, "max": 2}, slot(1, res("core", 1)))),
     "jobspec: resources[0].count.max: 2 is below min 4"),
    (flux(res("node", 1, slot(1, res("core", 1))), system={"constraints": {"hosts": ["a"]}}),
     "jobspec: attributes.system.constraints.hosts: unknown constraint operator (use properties, hostlist, ranks, "
     "and, or, not)"),
    (flux(res("node", 1, slot(1, res("core", 1))), system={"constraints": {"properties": ["a|b"]}}),
     "jobspec: attributes.system.constraints.properties: 'a|b' is not a property name"),
    (flux(res("node", 1, slot(1, res("core", 1))), system={"constraints": {"ranks": ["3-1"]}}),
     "jobspec: attributes.system.constraints.ranks: range '3-1' runs backwards"),
    (flux(res("node", 1, slot(1, res("core", 1))), system={"duration": -1}),
     "jobspec: attributes.system.duration: -1 is less than the minimum of 0"),
    (flux(res("node", 1, slot(1, res("core", 1)), slot(1, res("gpu", 1)))),
     "jobspec: resources[0].with[1]: a second slot beside with[0] (Fluxion reads one slot per level; put both in "
     "one slot)"),
])
def test_what_fluxion_refuses_is_refused_by_name(doc, message):
    with pytest.raises(JobspecError) as caught:
        parse_jobspec(doc)
    assert str(caught.value) == message


def test_a_vertex_needs_only_type_and_paths():
    graph = parse_graph(tiny())
    assert graph.node_count == 2 and graph.vertex_count == 2 + 2 * (1 + 2 * (1 + 4 + 1 + 4))


@pytest.mark.parametrize("old_edges", [False, True], ids=["subsystem", "name"])
def test_one_file_with_several_subsystems(old_edges):
    graph = parse_graph(tiny(power=True, old_edges=old_edges))
    assert sorted(graph.subsystems) == ["power"]
    assert graph.vertex_count == 2 + 2 * (1 + 2 * (1 + 4 + 1 + 4))  # the PDU is not in the containment tree
    power = graph.subsystems["power"]
    assert {label: list(kids) for label, kids in power.attachments.items()} == {"3": ["2"], "24": ["2"]}
    index = build_index(graph)
    assert index.subsystems == ("power",)


def test_a_containment_edge_into_another_subsystem_is_refused():
    doc = tiny(power=True)
    doc["graph"]["edges"].append({"source": "0", "target": "2", "metadata": {"subsystem": "containment"}})
    with pytest.raises(GraphError, match=r"edge \d+ \(0 -> 2\): a containment edge joins a vertex outside "
                                         r"containment \(its paths name only power\)"):
        parse_graph(doc)


def test_registered_subsystem_adds_to_the_one_in_the_file():
    from rainbow.graph import parse_subsystem
    from rainbow.graph.generate import make_subsystem

    graph = parse_graph(tiny(power=True))
    io = parse_subsystem(make_subsystem("io", {"3": [{"type": "shm"}], "24": [{"type": "shm"}]}), "io", graph)
    matcher = Matcher()
    matcher.set("tiny", build_index(graph, {"io": io}))
    request = parse_jobspec({"version": 1, "resources": {"n": {"type": "node", "count": 1, "requires": [
        {"name": "power", "field": "type", "match": "pdu"}, {"name": "io", "field": "type", "match": "shm"}]}}})
    assert matcher.match(request)[0] == ["tiny"]


def test_a_separate_fluxion_subsystem_file_attaches_by_its_own_edges():
    from rainbow.graph import parse_subsystem

    graph = parse_graph(tiny())
    nodes = sorted(label for label, v in graph.vertices.items() if v.type == "node")
    doc = {"graph": {"nodes": [{"id": "pdu0", "metadata": {"type": "pdu", "paths": {"power": "/pdu0"}}}],
                     "edges": [{"source": "pdu0", "target": label, "metadata": {"name": {"power": "supplies-to"}}}
                               for label in nodes]}}
    power = parse_subsystem(doc, "power", graph)
    assert {label: list(kids) for label, kids in power.attachments.items()} == {label: ["pdu0"] for label in nodes}
