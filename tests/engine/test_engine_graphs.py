"""Graph loading: the three dialects, subsystems, the index, and a named error for every kind of bad graph."""
from __future__ import annotations

import copy
import json
import pickle

import pytest

from compspec.schemas import FormatError
from rainbow.graph import GraphError, build_index, parse_graph, parse_subsystem
from rainbow.jobspec import parse_jobspec, simple_jobspec
from rainbow.match import match

from .engine_support import NodeKind, make_graph, make_subsystem, upstream_text

SMALL = make_graph("small", [NodeKind(2, sockets=2, cores_per_socket=2, memory_gib=8, gpus=1)])


def small():
    return copy.deepcopy(SMALL)


def test_rainbow_and_fluxion_dialects_give_the_same_index():
    kinds = [NodeKind(3, sockets=2, cores_per_socket=4, memory_gib=32, properties={"system.os.vendor": "rocky"}),
             NodeKind(1, gpus=2, gpu_model="A100")]
    rainbow = parse_graph(make_graph("twin", kinds))
    fluxion = parse_graph(make_graph("twin", kinds, dialect="fluxion"))
    assert (rainbow.dialect, fluxion.dialect) == ("rainbow", "fluxion")
    assert build_index(rainbow).root is build_index(fluxion).root
    assert rainbow.node_count == fluxion.node_count == 4


def test_compspec_jsongraph_dialect():
    doc = {"graph": {"nodes": {
        "cluster0": {"label": "cluster0", "metadata": {"type": "cluster", "basename": "cluster", "id": 0,
                                                       "containment": {"paths": "/cluster0"}, "size": 1}},
        "node1": {"label": "node1", "metadata": {"type": "node", "basename": "node", "id": 1, "size": 1,
                                                 "attributes": {"system.os.vendor": "ubuntu"}}},
        "core2": {"label": "core2", "metadata": {"type": "core", "basename": "core", "id": 2, "size": 1}},
    }, "edges": [
        {"source": "cluster0", "target": "node1", "metadata": {"name": {"containment": "contains"}}},
        {"source": "node1", "target": "cluster0", "metadata": {"name": {"containment": "in"}}},
        {"source": "node1", "target": "core2", "metadata": {"name": {"containment": "contains"}}},
        {"source": "core2", "target": "node1", "metadata": {"name": {"containment": "in"}}},
    ]}}
    graph = parse_graph(json.dumps(doc))
    assert graph.dialect == "compspec"
    assert graph.root == "cluster0" and graph.name == "cluster"
    index = build_index(graph)
    assert index.classes[0].shape.propmap == {"system.os.vendor": "ubuntu"}
    job = simple_jobspec(1, 1, ["a"])
    job["requires"] = {"org.supercontainers": {"os.vendor": "ubuntu"}}
    assert match(parse_jobspec(job), index).ok


def test_root_is_found_wherever_it_is_listed():
    doc = small()
    nodes = doc["graph"]["nodes"]
    doc["graph"]["nodes"] = dict(reversed(list(nodes.items())))
    graph = parse_graph(doc)
    assert graph.root == "0" and graph.name == "small"
    relabelled = json.loads(json.dumps(small()).replace('"0"', '"root"'))
    assert parse_graph(relabelled).root == "root"


def test_bytes_and_text_input():
    text = json.dumps(small())
    assert parse_graph(text.encode()).node_count == 2
    assert parse_graph(text).vertex_count == len(SMALL["graph"]["nodes"])


def test_index_is_small_and_picklable():
    big = parse_graph(make_graph("big", [NodeKind(200, sockets=2, cores_per_socket=16, memory_gib=256)], racks=4))
    index = build_index(big)
    assert index.node_count == 200 and len(index.classes) == 1 and index.classes[0].count == 200
    data = pickle.dumps(index)
    assert len(data) < 20_000
    again = pickle.loads(data)
    assert again.root is index.root
    assert again.summary.max_per_node == {"socket": 2, "core": 32, "memory": 256}


def test_hostnames_do_not_split_classes():
    index = build_index(parse_graph(make_graph("h", [NodeKind(50), NodeKind(5, cores_per_socket=8)])))
    assert [c.count for c in index.classes] == [50, 5]


def _edge(doc, source, target, relation="contains"):
    doc["graph"]["edges"].append({"source": source, "target": target, "relation": relation, "metadata": {}})
    return doc


def _vertex_meta(doc, label):
    return doc["graph"]["nodes"][label]["metadata"]


def _set(doc, label, key, value):
    _vertex_meta(doc, label)[key] = value
    return doc


def _drop_edges_to(doc, label):
    doc["graph"]["edges"] = [e for e in doc["graph"]["edges"] if label not in (e["source"], e["target"])]
    return doc


BAD_GRAPHS = [
    ("not json", "{nope", "graph: not valid JSON"),
    ("not an object", "[1, 2]", "graph: the document must be a JSON object"),
    ("no graph", {"name": "x"}, "graph: graph: missing or not an object"),
    ("duplicate label", '{"graph": {"nodes": {"0": {"metadata": {"type": "cluster"}}, '
                        '"0": {"metadata": {"type": "node"}}}, "edges": []}}', "duplicate key '0'"),
    ("label differs", lambda d: d["graph"]["nodes"]["1"].update(label="7") or d,
     "vertex 1: label '7' differs from its key"),
    ("string size", lambda d: _set(d, "3", "size", "1"), "graph.nodes.3.metadata.size: '1' is not of type 'integer'"),
    ("numeric type", lambda d: _set(d, "2", "type", 5), "graph.nodes.2.metadata.type: 5 is not of type 'string'"),
    ("negative size", lambda d: _set(d, "2", "size", -2), "graph.nodes.2.metadata.size"),
    ("property not a string", lambda d: _set(d, "2", "properties", {"gpu.count": 1}),
     "graph.nodes.2.metadata.properties.gpu.count: 1 is not of type 'string'"),
    ("missing target", lambda d: _edge(d, "2", "99"), "target 99 is not a vertex"),
    ("missing source", lambda d: _edge(d, "nowhere", "2"), "source nowhere is not a vertex"),
    ("second parent", lambda d: _edge(d, "1", "3"), "vertex 3 is contained by more than one vertex"),
    ("self loop", lambda d: _edge(d, "2", "2"), "a vertex cannot contain itself"),
    ("two roots", lambda d: _drop_edges_to(d, "2"), "expected exactly one containment root"),
    ("cycle", lambda d: _edge(d, "4", "0"), "containment cycle 0 -> 1 -> 2 -> 4 -> 0"),
]


@pytest.mark.parametrize("case,change,message", BAD_GRAPHS, ids=[c[0] for c in BAD_GRAPHS])
def test_bad_graphs_name_the_problem(case, change, message):
    data = change(small()) if callable(change) else change
    with pytest.raises(GraphError) as caught:
        parse_graph(data)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, FormatError)


def test_fluxion_duplicate_ids():
    doc = make_graph("f", [NodeKind(1)], dialect="fluxion")
    doc["graph"]["nodes"].append(copy.deepcopy(doc["graph"]["nodes"][2]))
    with pytest.raises(GraphError, match="vertex 2: duplicate id"):
        parse_graph(doc)


def test_fluxion_ids_must_be_integers():
    doc = make_graph("f", [NodeKind(1)], dialect="fluxion")
    doc["graph"]["nodes"][1]["metadata"]["id"] = "0"
    with pytest.raises(GraphError, match=r"graph.nodes\[1\].metadata.id"):
        parse_graph(doc)


def test_subsystems_attach_to_dominant_labels():
    graph = parse_graph(upstream_text("cluster-nodes.json"))
    io = parse_subsystem(upstream_text("cluster-io-subsystem.json").encode(), "io", graph)
    assert io.attachments["2"] == ["io1", "io2", "io3", "io4", "io5"]
    index = build_index(graph, {"io": io})
    assert index.subsystems == ("io",)
    shm = [meta for meta in index.classes[0].shape.attached("io") if meta["type"] == "shm"]
    assert shm == [{"basename": "shm", "bw_mbps_max": "61440", "bw_mbps_min": "4096", "byte_addressable": "true",
                    "capacity": "1073741824", "exclusive": "true", "latency_max": "100", "latency_min": "100",
                    "mount_point": "/dev/shm", "parallelism": "32", "size": "1", "type": "shm"}]


BAD_SUBSYSTEMS = [
    ("unknown source", {"777": [{"type": "shm"}]}, None, "source 777 is not a vertex"),
    ("label clash", None, lambda d: d["graph"]["nodes"].update({"2": {"metadata": {"type": "x"}}}),
     "vertex label 2 is also a cluster graph label"),
    ("contains a cluster vertex", {"2": [{"type": "shm"}]},
     lambda d: d["graph"]["edges"].append({"source": "io1", "target": "3", "relation": "contains"}),
     "a subsystem cannot contain a cluster vertex"),
    ("cycle", {"2": [{"type": "a"}, {"type": "b"}]},
     lambda d: d["graph"]["edges"].extend([{"source": "io1", "target": "io2", "relation": "contains"},
                                           {"source": "io2", "target": "io1", "relation": "contains"}]),
     "containment cycle"),
]


@pytest.mark.parametrize("case,attach,change,message", BAD_SUBSYSTEMS, ids=[c[0] for c in BAD_SUBSYSTEMS])
def test_bad_subsystems(case, attach, change, message):
    graph = parse_graph(small())
    doc = make_subsystem("io", attach or {"2": [{"type": "shm"}]})
    if change:
        change(doc)
    with pytest.raises(GraphError) as caught:
        parse_subsystem(doc, "io", graph)
    assert message in str(caught.value)


def test_subsystem_of_another_graph_is_refused_by_the_index():
    other = parse_graph(make_graph("other", [NodeKind(40)]))
    sub = parse_subsystem(make_subsystem("io", {"150": [{"type": "shm"}]}), "io", other)
    with pytest.raises(GraphError, match="attaches to vertex 150"):
        build_index(parse_graph(small()), {"io": sub})


def test_subsystem_needs_a_name():
    with pytest.raises(GraphError, match="a name is required"):
        parse_subsystem(make_subsystem("io", {}), "", parse_graph(small()))


def test_too_deep_a_graph_is_refused():
    nodes = {str(i): {"metadata": {"type": "level"}} for i in range(80)}
    edges = [{"source": str(i), "target": str(i + 1), "relation": "contains"} for i in range(79)]
    with pytest.raises(GraphError, match="containment deeper than 64 levels below 0"):
        parse_graph({"graph": {"nodes": nodes, "edges": edges}})


def test_repeated_contains_edge_is_harmless():
    doc = _edge(small(), "0", "1")
    assert parse_graph(doc).children["0"] == ["1"]
