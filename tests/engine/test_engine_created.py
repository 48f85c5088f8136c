"""Graphs written by `compspec create nodes` load, fold into few node classes, and match as their nodes say."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from compspec.cli import main as compspec_main
from rainbow.graph import build_index, parse_graph
from rainbow.jobspec import JobspecError, parse_jobspec, simple_jobspec
from rainbow.match import Matcher
from rainbow.match.reference import ReferenceMatcher

NODES = Path(__file__).resolve().parents[1] / "data" / "nodes" / "basic"


@pytest.fixture(scope="module", params=["rainbow", "fluxion"])
def created(request, tmp_path_factory):
    """Ten copies of the GPU node (own hostnames and GPU uuids) next to the basic cluster's three nodes."""
    folder = tmp_path_factory.mktemp(f"nodes-{request.param}")
    for path in sorted(NODES.glob("*.json")):
        (folder / path.name).write_text(path.read_text())
    beta = json.loads((NODES / "beta.json").read_text())
    for i in range(10):
        copy = json.loads(json.dumps(beta))
        copy["metadata"]["hostname"] = f"gpu{i:02d}"
        nvidia = copy["results"]["gpu"]["sections"]["nvidia"]
        nvidia["device.0.uuid"], nvidia["device.1.uuid"] = f"GPU-{i}-a", f"GPU-{i}-b"
        (folder / f"gpu{i:02d}.json").write_text(json.dumps(copy))
    out = folder / "graph.json"
    result = CliRunner().invoke(compspec_main, ["create", "nodes", "--cluster-name", "made", "--node-dir",
                                                str(folder), "--format", request.param, "-o", str(out)])
    assert result.exit_code == 0, result.output
    graph = parse_graph(out.read_text())
    return graph, build_index(graph)


def test_created_graph_folds_into_classes(created):
    graph, index = created
    assert graph.name == "made" and graph.node_count == 13
    assert sorted(c.count for c in index.classes) == [1, 1, 11]
    gpu_class = max(index.classes, key=lambda c: c.count)
    assert gpu_class.shape.propmap["gpu.count"] == "2"


@pytest.mark.parametrize("job,fits", [
    (simple_jobspec(13, 13, ["a"]), True),
    (simple_jobspec(14, 14, ["a"]), False),
    ({"version": 1, "resources": {"g": {"type": "node", "count": 11, "with": [{"type": "gpu", "count": 2}]}}}, True),
    ({"version": 1, "resources": {"g": {"type": "node", "count": 12, "with": [{"type": "gpu", "count": 2}]}}}, False),
    ({"version": 1, "resources": {"g": {"type": "node", "count": 2,
                                        "requires": [{"field": "hostname", "op": "In", "values": ["gpu03", "beta"]}]}}},
     True),
    ({"version": 1, "resources": {"g": {"type": "node", "count": 1}},
      "requires": {"io.archspec": {"cpu.target": "x86_64_v4"}}}, True),
    ({"version": 1, "resources": {"g": {"type": "node", "count": 12}},
      "requires": {"io.archspec": {"cpu.target": "x86_64_v4"}}}, False),
])
def test_created_graph_matches(created, job, fits):
    graph, index = created
    request = parse_jobspec(job)
    matcher = Matcher()
    matcher.set("made", index)
    matched, reasons = matcher.match(request)
    assert matched == (["made"] if fits else [])
    assert ReferenceMatcher(graph).fits(request) is fits
    assert fits or reasons["made"]


def test_device_identifiers_cannot_be_required():
    with pytest.raises(JobspecError, match="'uuid' identifies a single device"):
        parse_jobspec({"version": 1, "resources": {"g": {"type": "gpu", "requires": [
            {"field": "uuid", "match": "GPU-1-a"}]}}})
