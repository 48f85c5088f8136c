"""The expected outcomes listed with the upstream sample data (tests/data/upstream/SOURCES.md)."""
from __future__ import annotations

import json
import random

import pytest
import yaml

from rainbow.graph import build_index, parse_graph, parse_subsystem
from rainbow.jobspec import fold_artifact, parse_jobspec, simple_jobspec
from rainbow.match import Matcher, match
from rainbow.match.reference import ReferenceMatcher
from rainbow.select import select

from .engine_support import upstream_json, upstream_text


@pytest.fixture(scope="module")
def keebler():
    graph = parse_graph(upstream_text("cluster-nodes.json"))
    io = parse_subsystem(upstream_text("cluster-io-subsystem.json"), "io", graph)
    spack = parse_subsystem(upstream_text("spack-subsystem.json"), "spack", graph)
    return graph, io, spack


def test_graph_loads_as_upstream_describes(keebler):
    graph, io, spack = keebler
    assert graph.name == "cluster-red"
    assert graph.node_count == 3
    assert graph.vertex_count == 44
    index = build_index(graph)
    assert [(c.count, c.shape.type) for c in index.classes] == [(3, "node")]
    assert index.summary.max_per_node["core"] == 12
    assert sorted(io.attachments) == ["16", "2", "30"]
    assert spack.attachments["2"] == ["spack1", "spack2", "spack3", "spack4", "spack5"]


def test_constraint_jobspec_matches(keebler):
    graph, _, _ = keebler
    result = match(parse_jobspec(upstream_text("jobspec-constraint.yaml")), build_index(graph))
    assert result.ok and result.reason == ""


def test_io_jobspec_needs_the_io_subsystem(keebler):
    graph, io, _ = keebler
    request = parse_jobspec(upstream_text("jobspec-io.yaml"))
    matcher = Matcher()
    matcher.set("keebler", build_index(graph))
    matched, reasons = matcher.match(request)
    assert matched == []
    assert reasons["keebler"] == "needs 1 node with io type=shm and >= 2 cores; no node has io type=shm"
    matcher.set("keebler", build_index(graph, {"io": io}))
    assert matcher.match(request) == (["keebler"], {})


def test_spack_ranges(keebler):
    graph, _, spack = keebler
    matcher = Matcher()
    matcher.set("plain", build_index(graph))
    matcher.set("spack", build_index(graph, {"spack": spack}))
    valid = parse_jobspec(upstream_text("jobspec-valid-range.yaml"))
    invalid = parse_jobspec(upstream_text("jobspec-invalid-range.yaml"))
    matched, reasons = matcher.match(valid)
    assert matched == ["spack"]
    assert reasons["plain"].endswith("no node has spack version in [0.5.1, 0.5.5]")
    matched, reasons = matcher.match(invalid)
    assert matched == []
    assert reasons["spack"] == ("needs 2 nodes with spack version in [0.7.1, 0.7.5] and >= 2 cores; "
                                "no node has spack version in [0.7.1, 0.7.5]")


@pytest.mark.parametrize("nodes,tasks,ok,reason", [
    (2, 24, True, ""),
    (3, 36, True, ""),
    (3, 37, False, "needs 3 nodes with >= 13 cores; the largest node has 12 cores"),
    (4, 4, False, "needs 4 nodes with >= 1 core; the cluster has 3 nodes"),
    (4, 48, False, "needs 4 nodes with >= 12 cores; the cluster has 3 nodes"),
])
def test_simple_jobs(keebler, nodes, tasks, ok, reason):
    graph, _, _ = keebler
    request = parse_jobspec(simple_jobspec(nodes, tasks, ["hostname"]))
    result = match(request, build_index(graph))
    assert (result.ok, result.reason) == (ok, reason)
    assert ReferenceMatcher(graph).fits(request) is ok


def test_constraint_selection_picks_keebler_in_priority_one():
    config = yaml.safe_load(upstream_text("rainbow-selection-config.yaml"))
    options = config["scheduler"]["algorithms"]["selection"]["options"]
    state = upstream_json("cluster-state.json")
    request = parse_jobspec(upstream_text("jobspec-constraint.yaml"))
    chosen = select("constraint", ["keebler"], options=options, states={"keebler": state},
                    parameters=request.parameters, rng=random.Random(0))
    assert chosen.chosen == "keebler"
    assert chosen.priority == 1
    assert chosen.eligible == ["keebler"]
    assert round(chosen.variables["keebler"]["build_cost"], 4) == 0.0667
    assert "build_cost" not in state

    empty = select("constraint", ["keebler"], options=options, states={"keebler": dict(state, nodes_free=0)},
                   parameters=request.parameters)
    assert empty.chosen is None and empty.eligible == []


def test_artifacts_fold_into_requires(keebler):
    graph, _, _ = keebler
    artifact = upstream_json("artifact-lammps.json")
    doc = fold_artifact(simple_jobspec(1, 1, ["lmp"]), artifact)
    assert doc["requires"]["io.archspec"] == {"cpu.target": "amd64"}
    assert "cpu.model" not in doc["requires"]["io.archspec"]
    strict = fold_artifact(simple_jobspec(1, 1, ["lmp"]), artifact, strict=True)
    assert strict["requires"]["io.archspec"]["cpu.vendor"] == "GenuineIntel"
    # the upstream graph carries no node properties, so nothing there can show it is compatible
    result = match(parse_jobspec(doc), build_index(graph))
    assert not result.ok
    assert result.reason == "needs 1 node with >= 1 core; cpu.target amd64: nodes have no cpu target"
    assert json.dumps(doc)
