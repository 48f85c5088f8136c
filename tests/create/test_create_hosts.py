"""The whole path on recorded nodes: `compspec extract --host-root` on each fixture tree, then create nodes and
match --host on what it wrote."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from compspec.schemas import validate

from .helpers import DATA, MANIFESTS, run

HOSTS = DATA / "hosts"
PREFIX = "ghcr.io/rse-ops/lammps-matrix:"


@pytest.fixture(scope="module")
def node_dir(tmp_path_factory) -> Path:
    from compspec.extract import run_extractors

    out = tmp_path_factory.mktemp("hosts")
    trees = sorted(p for p in HOSTS.iterdir() if p.is_dir())
    assert len(trees) >= 6
    for tree in trees:
        document = run_extractors(None, host_root=str(tree)).document
        (out / f"{tree.name}.json").write_text(json.dumps(document, indent=2))
    return out


@pytest.fixture(scope="module")
def graph(node_dir) -> dict:
    result = run("create", "nodes", "--cluster-name", "fixtures", "--node-dir", node_dir)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    validate("jgf-rainbow", doc)
    return doc


def shape(doc: dict) -> dict[str, tuple[list[int], int, int]]:
    """node name → (cores per socket, GPUs anywhere below the node, memory GiB)."""
    nodes = doc["graph"]["nodes"]
    kids: dict[str, list[str]] = {}
    for e in doc["graph"]["edges"]:
        if e["relation"] == "contains":
            kids.setdefault(e["source"], []).append(e["target"])

    def of_type(labels, vtype):
        return [x for x in labels if nodes[x]["metadata"]["type"] == vtype]

    out = {}
    for label, vertex in nodes.items():
        if vertex["metadata"]["type"] != "node":
            continue
        sockets = of_type(kids[label], "socket")
        cores = [len(of_type(kids.get(s, []), "core")) for s in sockets]
        gpus = of_type(kids[label], "gpu") + [g for s in sockets for g in of_type(kids.get(s, []), "gpu")]
        memory = [nodes[m]["metadata"]["size"] for m in of_type(kids[label], "memory")]
        out[vertex["metadata"]["name"]] = (cores, len(gpus), memory[0] if memory else 0)
    return out


def test_recorded_nodes_give_their_topology(graph):
    got = shape(graph)
    assert got["icx-node-001"][:2] == ([32, 32], 0)
    assert got["gpu-h100-01"][:2] == ([32, 32], 4)
    assert got["mi210-sles-01"][:2] == ([16], 4)
    assert got["ip-10-0-12-34.ec2.internal"][:2] == ([16], 0)
    assert got["3f2a9c1d7b8e"][:2] == ([4], 0)
    assert 240 <= got["icx-node-001"][2] <= 256 and 480 <= got["gpu-h100-01"][2] <= 512


def test_recorded_nodes_properties(graph):
    props = {v["metadata"]["name"]: v["metadata"]["properties"] for v in graph["graph"]["nodes"].values()
             if v["metadata"]["type"] == "node"}
    assert props["gpu-h100-01"]["gpu.vendor"] == "NVIDIA" and props["gpu-h100-01"]["gpu.count"] == "4"
    assert props["mi210-sles-01"]["gpu.vendor"] == "AMD"
    assert props["icx-node-001"]["library.mpi.variant"] == "intel-mpi"
    assert props["icx-node-001"]["system.os.vendor"] == "rocky"
    assert props["ip-10-0-12-34.ec2.internal"]["system.arch.name"] == "arm64"
    assert props["3f2a9c1d7b8e"]["gpu.count"] == "0" and "library.mpi.variant" not in props["3f2a9c1d7b8e"]


@pytest.mark.parametrize("host,expected", [
    ("x86-intel-2s-rocky9-impi", ["intel-mpi-rocky-9-amd64"]),
    ("x86-gpu-4xh100-ubuntu", []),
    ("x86-amd-zen3-ubuntu-openmpi", []),
    ("arm64-neoverse-v1-al2023", []),
])
def test_match_host_on_recorded_nodes(node_dir, host, expected):
    result = run("match", "-i", MANIFESTS / "lammps.yaml", "--host", "--from", node_dir / f"{host}.json", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["matches"] == [PREFIX + e for e in expected]


def test_only_the_os_name_keeps_the_gpu_node_from_the_ubuntu_image(node_dir):
    """22.04.4 meets os.version 22.04 and os.release 22.04.3 (same series), OpenMPI 4.1.5 meets 4.1.2 and the
    GPUs meet hardware.gpu.available; os.name is compared for equality."""
    result = run("match", "-i", MANIFESTS / "lammps.yaml", "--host", "--from",
                 node_dir / "x86-gpu-4xh100-ubuntu.json", "--json")
    reasons = json.loads(result.stdout)["mismatches"][PREFIX + "openmpi-ubuntu-gpu-22.04"]
    assert reasons == ["os.name Ubuntu 22.04.3 LTS: node has Ubuntu 22.04.4 LTS"]
