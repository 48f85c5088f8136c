"""Jobspec forms, the simple command form, artifacts folded into requires, and a named error for bad jobspecs."""
from __future__ import annotations

import json

import pytest
import yaml

from compspec.schemas import FormatError
from rainbow.jobspec import JobspecError, fold_artifact, parse_jobspec, simple_jobspec

from .engine_support import upstream_json, upstream_text

FLUX = """
version: 1
resources:
  - type: node
    count: 2
    with:
      - type: slot
        count: 1
        label: default
        with:
          - type: core
            count: 4
tasks:
  - command: [hostname, -f]
    slot: default
    count: {per_slot: 1}
attributes:
  system: {duration: 60}
"""


def test_nextgen_from_yaml_json_and_dict():
    text = upstream_text("jobspec-constraint.yaml")
    doc = yaml.safe_load(text)
    for data in (text, text.encode(), json.dumps(doc), doc):
        request = parse_jobspec(data)
        assert request.form == "nextgen"
        assert request.command == ["ior"]
        assert request.parameters == {"seconds_per_gb": 0.4}
        (group,) = request.groups
        (need,) = group.needs
        assert (need.type, need.demand, need.mode) == ("node", 2, "count")
        assert need.groups[0].needs[0].demand == 2


def test_upstream_typo_task_key_is_ignored():
    request = parse_jobspec(upstream_text("jobspec-io.yaml"))
    assert request.command == []
    assert request.resources[0].requires[0].subsystem == "io"


def test_flux_form_dissolves_slots():
    request = parse_jobspec(FLUX)
    assert request.form == "flux"
    assert request.command == ["hostname", "-f"]
    (group,) = request.groups
    need = group.needs[0]
    assert need.demand == 2
    assert [(g.type, g.needs[0].demand) for g in need.groups] == [("core", 4)]


def test_flux_count_ranges_take_the_minimum():
    doc = yaml.safe_load(FLUX)
    doc["resources"][0]["count"] = {"min": 3, "max": 5, "operator": "+", "operand": 1}
    assert parse_jobspec(doc).groups[0].needs[0].demand == 3


def test_slot_count_multiplies_its_children_under_a_resource():
    doc = {"version": 1, "resources": [{"type": "node", "count": 1, "with": [{"type": "slot", "count": 3,
           "label": "t", "with": [{"type": "core", "count": 2}]}]}],
           "tasks": [{"command": ["a"], "slot": "t", "count": {"per_slot": 1}}]}
    assert parse_jobspec(doc).groups[0].needs[0].groups[0].needs[0].demand == 6


def test_a_slot_at_the_top_is_placed_whole():
    doc = {"version": 1, "resources": [{"type": "slot", "count": 3, "label": "t", "with": [
        {"type": "node", "count": 2, "with": [{"type": "core", "count": 1}]}]}],
           "tasks": [{"command": ["a"], "slot": "t", "count": {"per_slot": 1}}]}
    need = parse_jobspec(doc).groups[0].needs[0]
    assert (need.type, need.mode, need.demand, need.hosts) == ("slot", "slots", 3, frozenset({"node"}))
    assert need.groups[0].needs[0].demand == 2


def test_a_slot_of_one_resource_is_a_plain_need():
    doc = {"version": 1, "resources": [{"type": "slot", "count": 3, "label": "t", "with": [
        {"type": "node", "count": 1, "with": [{"type": "core", "count": 1}]}]}],
           "tasks": [{"command": ["a"], "slot": "t", "count": {"per_slot": 1}}]}
    need = parse_jobspec(doc).groups[0].needs[0]
    assert (need.type, need.demand) == ("node", 3)


def test_memory_units_become_bytes():
    doc = {"version": 1, "resources": {"m": {"type": "node", "with": [
        {"type": "memory", "count": 2, "unit": "GB"}, {"type": "memory", "count": 1, "unit": "MB"}]}}}
    (group,) = parse_jobspec(doc).groups[0].needs[0].groups
    assert [n.demand for n in group.needs] == [2 * 2**30, 2**20]


def test_memory_without_a_unit_counts_in_the_graphs_unit():
    doc = {"version": 1, "resources": {"m": {"type": "node", "with": [{"type": "memory", "count": 8}]}}}
    (group,) = parse_jobspec(doc).groups[0].needs[0].groups
    assert (group.mode, group.needs[0].demand) == ("size", 8)


@pytest.mark.parametrize("nodes,tasks,cores", [(2, 24, 12), (3, 37, 13), (4, 4, 1), (1, 1, 1), (5, 3, 1)])
def test_simple_jobspec(nodes, tasks, cores):
    doc = simple_jobspec(nodes, tasks, ["mpirun", "app"], name="run")
    assert doc["name"] == "run"
    request = parse_jobspec(doc)
    need = request.groups[0].needs[0]
    assert (need.type, need.demand) == ("node", nodes)
    assert need.groups[0].needs[0].demand == cores
    assert request.command == ["mpirun", "app"]
    assert parse_jobspec(simple_jobspec(1, 1, ["/usr/bin/app"])).name == "app"


@pytest.mark.parametrize("args,message", [
    ((0, 1, ["a"]), "nodes: must be a positive integer"),
    ((1, 0, ["a"]), "tasks: must be a positive integer"),
    ((1, 1, []), "command: must not be empty"),
])
def test_simple_jobspec_rejects(args, message):
    with pytest.raises(JobspecError, match=message):
        simple_jobspec(*args)


def test_fold_artifact_keeps_the_original_and_merges():
    base = simple_jobspec(1, 1, ["lmp"])
    base["requires"] = {"org.supercontainers": {"os.vendor": "ubuntu"}}
    folded = fold_artifact(base, upstream_json("artifacts/compspec-openmpi-ubuntu-gpu-22.04.json"))
    assert base["requires"] == {"org.supercontainers": {"os.vendor": "ubuntu"}}
    assert folded["requires"]["org.supercontainers"]["mpi.version"] == "4.1.2"
    assert parse_jobspec(folded).requires == folded["requires"]


def test_fold_artifact_conflict_and_bad_artifact():
    base = simple_jobspec(1, 1, ["lmp"])
    base["requires"] = {"org.supercontainers": {"os.vendor": "rocky"}}
    with pytest.raises(JobspecError, match="requires.org.supercontainers.os.vendor: jobspec asks 'rocky'"):
        fold_artifact(base, upstream_json("artifact-lammps.json"))
    with pytest.raises(JobspecError, match="kind"):
        fold_artifact(base, {"kind": "Nope", "compatibilities": []})


def _nextgen(resource=None, **top):
    doc = {"version": 1, "resources": {"r": resource or {"type": "node"}}}
    doc.update(top)
    return doc


def _requirement(**entry):
    return _nextgen({"type": "node", "requires": [entry]})


BAD = [
    ("not yaml", "version: [1", "jobspec: not valid YAML or JSON"),
    ("not json", "{\"version\": 1,", "jobspec: not valid YAML or JSON"),
    ("a list", "[1, 2]", "jobspec: the document must be a mapping"),
    ("not utf-8", b"\xff\xfe", "jobspec: not UTF-8 text"),
    ("version", _nextgen(version=10000), "jobspec: version: 10000 is greater than the maximum of 9999"),
    ("version zero", _nextgen(version=0), "jobspec: version: 0 is less than the minimum of 1"),
    ("no resources", {"version": 1}, "jobspec: <document>: 'resources' is a required property"),
    ("empty resources", {"version": 1, "resources": {}}, "jobspec: resources: {} should be non-empty"),
    ("count zero", _nextgen({"type": "node", "count": 0}), "jobspec: resources.r.count: 0 is less than the minimum"),
    ("count string", _nextgen({"type": "node", "count": "2"}), "resources.r.count: '2' is not of type 'integer'"),
    ("typo key", _nextgen({"type": "node", "cont": 2}), "resources.r: Additional properties are not allowed"),
    ("no type", _nextgen({"count": 2}), "resources.r: 'type' is a required property"),
    ("unquoted value", _requirement(name="io", field="type", match=1), "requires[0].match: 1 is not of type"),
    ("no expression", _requirement(field="x"), "jobspec: resources.r.requires[0]: needs match, min/max or op"),
    ("bad min", _requirement(name="spack", field="version", min="latest"), "min: 'latest' is not a version"),
    ("bad op", _requirement(field="x", op="Like"), "requires[0].op: 'Like' is not one of"),
    ("gt text", _requirement(field="x", op="Gt", value="big"), "op Gt needs integer values, got big"),
    ("gtlt order", _requirement(field="x", op="GtLt", values=["5", "1"]), "op GtLt needs the lower value first"),
    ("gtlt count", _requirement(field="x", op="GtLt", values=["5"]), "op GtLt needs exactly 2 values"),
    ("in empty", _requirement(field="x", op="In", values=[]), "op In needs at least one value"),
    ("exists values", _requirement(field="x", op="Exists", value="y"), "op Exists takes no values"),
    ("value and values", _requirement(field="x", op="In", value="a", values=["b"]), "give value or values"),
    ("values without op", _requirement(field="x", values=["b"]), "value/values need op"),
    ("identity field", _requirement(name="io", field="uniq_id", match="1"), "'uniq_id' identifies a single vertex"),
    ("unknown namespace", _nextgen(requires={"org.example": {"x": "1"}}),
     "requires: unknown compatibility namespace 'org.example'"),
    ("unknown attribute", _nextgen(requires={"io.archspec": {"cpu.speed": "1"}}),
     "requires.io.archspec: unknown attribute 'cpu.speed'"),
    ("unknown target", _nextgen(requires={"io.archspec": {"cpu.target": "pentium9"}}),
     "cpu.target 'pentium9' is not a known microarchitecture"),
    ("gpu available", _nextgen(requires={"org.supercontainers": {"hardware.gpu.available": "maybe"}}),
     "'maybe' is not yes or no"),
    ("requires value type", _nextgen(requires={"io.archspec": {"cpu.target": 3}}),
     "requires.io.archspec.cpu.target: 3 is not of type 'string'"),
    ("task resource", _nextgen(tasks=[{"command": ["a"], "resources": "nope"}]),
     "tasks[0].resources: no resource named 'nope'"),
    ("parameter type", _nextgen(attributes={"parameter": {"x": [1]}}), "attributes.parameter.x"),
    ("slot requires", {"version": 1, "resources": [{"type": "slot", "count": 1, "requires": [
        {"field": "x", "op": "Exists"}], "with": [{"type": "core", "count": 1}]}],
                       "tasks": [{"command": ["a"], "slot": "s", "count": {"per_slot": 1}}]},
     "a slot cannot carry requires"),
    ("flux tasks", {"version": 1, "resources": [{"type": "node", "count": 1}]},
     "'tasks' is a required property"),
    ("mixed siblings", _nextgen({"type": "node", "with": [{"type": "memory", "count": 4},
                                                           {"type": "memory", "with": [{"type": "x"}]}]}),
     "resources of type memory under one parent mix sizes and children"),
    ("too deep", {"version": 1, "resources": {"r": json.loads(
        "".join('{"type": "x", "with": [' for _ in range(20)) + '{"type": "y"}' + "]}" * 20)}},
     "resources nest deeper than 16 levels"),
]


@pytest.mark.parametrize("case,data,message", BAD, ids=[c[0] for c in BAD])
def test_bad_jobspecs_name_the_field(case, data, message):
    with pytest.raises(JobspecError) as caught:
        parse_jobspec(data)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, FormatError)


def test_reading_a_jobspec_does_not_load_the_graph_library():
    import subprocess
    import sys

    probe = "import sys, rainbow.jobspec, rainbow.match; print('networkx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
