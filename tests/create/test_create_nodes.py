"""`compspec create nodes`: the cluster graph from a folder of extraction files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from compspec.jgf import build_graph, walk
from compspec.nodes import NodeInfo, describe_node, memory_gib, node_properties, read_node_dir
from compspec.schemas import validate

from .helpers import NODES, UPSTREAM, extraction, run, write_nodes

BASIC = NODES / "basic"


def graph_of(path: Path) -> dict:
    return json.loads(path.read_text())


def vertices(doc: dict) -> list[dict]:
    nodes = doc["graph"]["nodes"]
    return [v["metadata"] for v in (nodes.values() if isinstance(nodes, dict) else nodes)]


def children(doc: dict, label: str) -> list[str]:
    return [e["target"] for e in doc["graph"]["edges"] if e["source"] == label and e.get("relation", "contains")
            == "contains"]


def by_type(doc: dict, vtype: str) -> list[dict]:
    return [m for m in vertices(doc) if m["type"] == vtype]


@pytest.fixture(scope="module")
def rainbow_graph(tmp_path_factory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("graph") / "cluster.json"
    result = run("create", "nodes", "--cluster-name", "red", "--node-dir", BASIC, "--nodes-output", out)
    assert result.exit_code == 0, result.output
    return graph_of(out), result.stderr


def test_rainbow_graph_validates_and_has_upstream_shape(rainbow_graph):
    doc, _ = rainbow_graph
    validate("jgf-rainbow", doc)
    upstream = json.loads((UPSTREAM / "cluster-nodes.json").read_text())
    assert doc["name"] == "red" and doc["graph"]["directed"] is True
    root = doc["graph"]["nodes"]["0"]["metadata"]
    assert root["type"] == "cluster" and root["basename"] == "red" and root["id"] == 0
    ours = doc["graph"]["nodes"]["3"]["metadata"]
    theirs = upstream["graph"]["nodes"]["3"]["metadata"]
    assert set(ours) == set(theirs) and isinstance(ours["id"], str)
    assert sorted(doc["graph"]["edges"][0]) == sorted(upstream["graph"]["edges"][0])


def test_every_contains_edge_has_an_in_edge_back(rainbow_graph):
    doc, _ = rainbow_graph
    edges = {(e["source"], e["target"], e["relation"]) for e in doc["graph"]["edges"]}
    contains = {(s, t) for s, t, r in edges if r == "contains"}
    assert {(t, s) for s, t, r in edges if r == "in"} == contains
    assert len(contains) == len(doc["graph"]["nodes"]) - 1
    labels = set(doc["graph"]["nodes"])
    assert {t for _, t in contains} == labels - {"0"}


def test_nodes_are_ordered_by_hostname_and_named_after_it(rainbow_graph):
    doc, _ = rainbow_graph
    assert [m["name"] for m in by_type(doc, "node")] == ["alpha", "beta", "gamma"]
    assert by_type(doc, "node")[0]["paths"]["containment"] == "/red0/rack0/alpha"


def test_cores_are_split_over_sockets_exactly(rainbow_graph):
    doc, _ = rainbow_graph
    labels = {m["name"]: str(m["uniq_id"]) for m in by_type(doc, "node")}
    nodes = doc["graph"]["nodes"]

    def cores_per_socket(host: str) -> list[int]:
        sockets = [c for c in children(doc, labels[host]) if nodes[c]["metadata"]["type"] == "socket"]
        return [sum(nodes[c]["metadata"]["type"] == "core" for c in children(doc, s)) for s in sockets]

    assert cores_per_socket("alpha") == [4, 3, 3]
    assert cores_per_socket("beta") == [4, 4]
    assert cores_per_socket("gamma") == [12]


def test_memory_and_gpu_vertices(rainbow_graph):
    doc, _ = rainbow_graph
    memory = {m["paths"]["containment"].split("/")[3]: m for m in by_type(doc, "memory")}
    assert memory["beta"]["size"] == 251 and memory["beta"]["unit"] == "GiB"
    assert memory["alpha"]["size"] == 15
    assert "gamma" not in memory
    gpus = by_type(doc, "gpu")
    assert [g["paths"]["containment"] for g in gpus] == ["/red0/rack0/beta/socket4/gpu0", "/red0/rack0/beta/gpu1"]
    assert gpus[0]["properties"]["uuid"] == "GPU-aaaa"


def test_node_properties_on_each_node(rainbow_graph):
    doc, _ = rainbow_graph
    props = {m["name"]: m["properties"] for m in by_type(doc, "node")}
    assert props["beta"] == {
        "hostname": "beta", "system.cpu.target": "sapphirerapids", "system.cpu.target_generic": "x86_64_v4",
        "system.cpu.vendor": "GenuineIntel", "system.cpu.model": "Intel(R) Xeon(R) Platinum 8480+",
        "system.arch.name": "amd64", "system.os.name": "Ubuntu 22.04.3 LTS", "system.os.vendor": "ubuntu",
        "system.os.version": "22.04", "system.os.release": "22.04.3", "library.mpi.variant": "OpenMPI",
        "library.mpi.version": "4.1.2", "library.libc.version": "2.35", "gpu.count": "2", "gpu.vendor": "NVIDIA",
        "gpu.model": "NVIDIA H100 80GB HBM3"}
    assert props["alpha"]["gpu.count"] == "0" and "gpu.vendor" not in props["alpha"]
    # compspec-go's legacy file: no gpu extractor (count unknown, left out), vendor/model from the processors
    assert "gpu.count" not in props["gamma"]
    assert props["gamma"]["system.cpu.vendor"] == "GenuineIntel"
    assert props["gamma"]["system.cpu.model"].startswith("Intel(R) Xeon(R) CPU E5-2680")


def test_files_that_are_not_extractions_are_skipped_with_one_warning_each(rainbow_graph):
    _, stderr = rainbow_graph
    lines = [line for line in stderr.splitlines() if "skipping" in line]
    assert len(lines) == 2
    assert any("README.txt" in line and "not valid JSON" in line for line in lines)
    assert any("jobspec.json" in line and "results" in line for line in lines)


def test_same_folder_gives_same_bytes(tmp_path):
    for name in ("a.json", "b.json"):
        assert run("create", "nodes", "--cluster-name", "c", "--node-dir", BASIC, "-o", tmp_path / name).exit_code == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    stdout = run("create", "nodes", "--cluster-name", "c", "--node-dir", BASIC).stdout
    assert stdout.encode() == (tmp_path / "a.json").read_bytes()


def test_fluxion_dialect(tmp_path):
    out = tmp_path / "flux.json"
    result = run("create", "nodes", "--cluster-name", "red", "--node-dir", BASIC, "--format", "fluxion", "-o", out)
    assert result.exit_code == 0, result.output
    doc = graph_of(out)
    validate("jgf-fluxion", doc)
    nodes = doc["graph"]["nodes"]
    assert isinstance(nodes, list) and all(isinstance(v["metadata"]["id"], int) for v in nodes)
    assert all(e["metadata"]["subsystem"] == "containment" and "relation" not in e for e in doc["graph"]["edges"])
    assert len(doc["graph"]["edges"]) == len(nodes) - 1
    ids = {v["id"]: v["metadata"] for v in nodes}
    # forward edges only: every target is deeper than its source
    for e in doc["graph"]["edges"]:
        assert ids[e["target"]]["paths"]["containment"].startswith(ids[e["source"]]["paths"]["containment"] + "/")
    ranks = {m["name"]: m["rank"] for m in vertices(doc) if m["type"] == "node"}
    assert ranks == {"alpha": 0, "beta": 1, "gamma": 2}
    assert vertices(doc)[2]["properties"]["hostname"] == "alpha"


def test_attribute_adds_extracted_fields(tmp_path):
    result = run("create", "nodes", "--cluster-name", "c", "--node-dir", BASIC, "--attribute",
                 "system.memory.memfree", "--attribute", "system.processor.0.raw.vendor_id")
    assert result.exit_code == 0, result.output
    props = {m["name"]: m["properties"] for m in by_type(json.loads(result.stdout), "node")}
    assert props["beta"]["system.memory.memfree"] == "200000000 kB"
    assert props["gamma"]["system.processor.0.raw.vendor_id"] == "GenuineIntel"
    assert "system.memory.memfree" not in props["alpha"]


def test_bad_attribute_name_is_a_usage_error():
    result = run("create", "nodes", "--cluster-name", "c", "--node-dir", BASIC, "--attribute", "cores")
    assert result.exit_code == 2 and "extractor.section.key" in result.stderr


def test_folder_without_nodes_is_an_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    result = run("create", "nodes", "--cluster-name", "c", "--node-dir", tmp_path)
    assert result.exit_code == 1
    assert "no node extraction files" in result.stderr and "Traceback" not in result.output


def test_missing_folder_is_an_error(tmp_path):
    result = run("create", "nodes", "--cluster-name", "c", "--node-dir", tmp_path / "nope")
    assert result.exit_code != 0 and "not a directory" in result.stderr


def test_bad_cluster_name():
    result = run("create", "nodes", "--cluster-name", "a/b", "--node-dir", BASIC)
    assert result.exit_code == 2


def test_failed_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "missing-dir" / "out.json"
    result = run("create", "nodes", "--cluster-name", "c", "--node-dir", BASIC, "-o", target)
    assert result.exit_code == 1 and not target.exists()


def test_duplicate_hostnames_get_distinct_names(tmp_path):
    write_nodes(tmp_path, {"x.json": extraction("same"), "y.json": extraction("same"), "z.json": extraction(None)})
    doc = build_graph(read_node_dir(tmp_path), "c")
    names = [m["name"] for m in by_type(doc, "node")]
    assert names == ["node0", "same", "same-2"]
    assert len({m["paths"]["containment"] for m in vertices(doc)}) == len(vertices(doc))
    result = run("create", "nodes", "--cluster-name", "c", "--node-dir", tmp_path)
    assert result.exit_code == 0
    assert [line for line in result.stderr.splitlines() if "hostname same" in line and "x.json, y.json" in line]


def test_attribute_no_node_has_is_reported():
    result = run("create", "nodes", "--cluster-name", "c", "--node-dir", BASIC, "--attribute", "system.cpu.nothing")
    assert result.exit_code == 0 and "system.cpu.nothing: no node has this field" in result.stderr


def test_legacy_key_and_nfd_topology(tmp_path):
    doc = extraction("h", cores=6, sockets=None)
    legacy = {"extractors": doc["results"], "metadata": doc["metadata"]}
    legacy["extractors"]["nfd"] = {"sections": {"cpu": {"topology.socket_count": "2"}}}
    write_nodes(tmp_path, {"h.json": legacy})
    [node] = read_node_dir(tmp_path)
    assert (node.sockets, node.cores, node.cores_per_socket()) == (2, 6, [3, 3])


def test_bad_values_are_rejected_naming_the_field(tmp_path):
    doc = extraction("h")
    doc["results"]["system"]["sections"]["cpu"]["cores"] = 4
    write_nodes(tmp_path, {"bad.json": doc, "good.json": extraction("g")})
    warnings: list[str] = []
    nodes = read_node_dir(tmp_path, warn=warnings.append)
    assert [n.hostname for n in nodes] == ["g"]
    assert warnings == ["skipping bad.json: results.system.sections.cpu.cores: 4 is not of type 'string'"]


def test_unknown_core_count_warns(tmp_path):
    write_nodes(tmp_path, {"h.json": extraction("h", cores=None)})
    warnings: list[str] = []
    [node] = read_node_dir(tmp_path, warn=warnings.append)
    assert node.cores == 0 and len(warnings) == 1 and "core count" in warnings[0]


def test_gpu_fallback_to_pci_and_amd():
    pci_only = extraction("h", gpus={"nvidia": {}, "pci": {"count": "1", "vendor": "Intel", "model": "Max 1550"}})
    assert node_properties(pci_only)["gpu.count"] == "1"
    assert node_properties(pci_only)["gpu.vendor"] == "Intel"
    both = extraction("h", gpus={"nvidia": {"count": "1", "model": "A100"}, "amd": {"count": "2", "model": "MI250X"},
                                 "pci": {"count": "3"}})
    props = node_properties(both)
    assert (props["gpu.count"], props["gpu.vendor"], props["gpu.model"]) == ("3", "AMD,NVIDIA", "A100,MI250X")
    devices = extraction("h", gpus={"amd": {"device.0.model": "MI300X", "device.1.model": "MI300X"}})
    assert node_properties(devices)["gpu.count"] == "2"


def test_gpu_socket_out_of_range_goes_under_the_node():
    doc = extraction("h", sockets=2, gpus={"nvidia": {"count": "1", "device.0.socket": "7"}})
    graph = build_graph([describe_node(doc, "h.json")], "c")
    [gpu] = by_type(graph, "gpu")
    assert gpu["paths"]["containment"] == "/c0/rack0/h/gpu0"


@pytest.mark.parametrize("text,gib", [("263741396 kB", 251), ("1048576 kB", 1), ("1 kB", 1), ("64 GiB", 64),
                                      ("2 TB", 2048), ("junk", None), ("", None), ("0 kB", None)])
def test_memory_gib(text, gib):
    assert memory_gib(text) == gib


@settings(max_examples=60, deadline=None)
@given(cores=st.integers(0, 200), sockets=st.integers(1, 16))
def test_core_split_is_exact_and_even(cores, sockets):
    node = NodeInfo("f", "h", {}, sockets, cores, None)
    split = node.cores_per_socket()
    assert len(split) == sockets and sum(split) == cores and max(split) - min(split) <= 1
    assert split == sorted(split, reverse=True)
    kinds = [v[2] for v in walk([node], "c")]
    assert kinds.count("socket") == sockets and kinds.count("core") == cores


def test_upstream_example_graph_shape_is_reproduced(tmp_path):
    """Three 12-core single-socket nodes give upstream's 44 vertices and 86 edges."""
    write_nodes(tmp_path, {f"n{i}.json": extraction(None, cores=12, sockets=1, memtotal=None) for i in range(3)})
    doc = build_graph(read_node_dir(tmp_path), "cluster-red")
    upstream = json.loads((UPSTREAM / "cluster-nodes.json").read_text())
    assert len(doc["graph"]["nodes"]) == len(upstream["graph"]["nodes"]) == 44
    assert len(doc["graph"]["edges"]) == len(upstream["graph"]["edges"]) == 86
    strip = {"properties"}
    for label, vertex in upstream["graph"]["nodes"].items():
        ours = {k: v for k, v in doc["graph"]["nodes"][label]["metadata"].items() if k not in strip}
        assert ours == vertex["metadata"]
    assert doc["graph"]["edges"] == upstream["graph"]["edges"]


def test_go_null_sections_are_read_as_empty(tmp_path):
    doc = extraction("h")
    doc["results"]["library"] = {"sections": None}
    doc["results"]["system"]["sections"]["arch"] = None
    write_nodes(tmp_path, {"h.json": doc})
    [node] = read_node_dir(tmp_path)
    assert node.hostname == "h" and "system.arch.name" not in node.properties


def test_progress_bar_only_for_many_files_on_a_terminal(monkeypatch):
    import compspec.cli.create as create_cli

    quiet = run("create", "nodes", "--cluster-name", "c", "--node-dir", BASIC)
    assert "reading nodes" not in quiet.stderr
    monkeypatch.setattr(create_cli, "PROGRESS_THRESHOLD", 2)
    monkeypatch.setattr("compspec.progress.on_terminal", lambda: True)
    loud = run("create", "nodes", "--cluster-name", "c", "--node-dir", BASIC)
    assert loud.exit_code == 0 and "reading nodes" in loud.stderr
    assert loud.stdout == quiet.stdout


@pytest.mark.parametrize("fmt", ["rainbow", "fluxion"])
def test_engine_reads_both_dialects(fmt):
    from rainbow.graph import build_index, parse_graph

    result = run("create", "nodes", "--cluster-name", "red", "--node-dir", BASIC, "--format", fmt)
    graph = parse_graph(result.stdout)
    assert graph.name == "red" and graph.node_count == 3
    build_index(graph)
