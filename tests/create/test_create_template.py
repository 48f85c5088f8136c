"""`compspec create template`: node templates from flags or a node extraction file, checked before they are written,
and read back by rainbow as the nodes they describe."""
from __future__ import annotations

import json

from compspec.schemas import validate
from rainbow.graph import build_index, parse_graph
from rainbow.graph.generate import make_graph
from rainbow.graph.templates import elastic_index, parse_templates

from .helpers import NODES, extraction, run


def test_from_flags(tmp_path):
    out = tmp_path / "t.json"
    done = run("create", "template", "--name", "c5", "--instance-type", "c5.2xlarge", "--cores", "8", "--sockets", "2",
               "--memory-gib", "16", "--gpus", "1", "--gpu-model", "T4", "--label", "zone=a", "--property", "os=linux",
               "--cost-per-hour", "0.5", "--min-nodes", "1", "--max-nodes", "4", "--startup-seconds", "90",
               "--limit", "cores=24", "--requirement", "instance_family In c5,m5", "--requirement", "gpus Exists",
               "--output", out)
    assert done.exit_code == 0, done.output
    assert done.stderr.strip() == f"compspec: wrote 1 template to {out}"
    doc = json.loads(out.read_text())
    validate("node-templates", doc)
    assert doc["templates"] == [{"name": "c5", "instance_type": "c5.2xlarge", "cores": 8, "sockets": 2,
                                 "memory_gib": 16, "gpus": 1, "gpu_model": "T4", "labels": {"zone": "a"},
                                 "properties": {"os": "linux"}, "cost_per_hour": 0.5, "min_nodes": 1,
                                 "max_nodes": 4, "startup_seconds": 90.0}]
    assert doc["limits"] == {"cores": 24}
    assert doc["requirements"] == [{"key": "instance_family", "operator": "In", "values": ["c5", "m5"]},
                                   {"key": "gpus", "operator": "Exists"}]
    index = elastic_index(build_index(parse_graph(make_graph("c", []))), parse_templates(out.read_text()))
    assert index.node_count == 3 and index.totals["core"] == 24 and index.totals["gpu"] == 3


def test_from_a_node_file_and_added_to_a_file(tmp_path):
    node = tmp_path / "node.json"
    node.write_text(json.dumps(extraction(hostname="n1", cores=16, sockets=2, memtotal="33554432 kB")))
    out = tmp_path / "t.json"
    assert run("create", "template", "--name", "big", "--from-node", node, "--max-nodes", "2", "-o", out).exit_code == 0
    entry = json.loads(out.read_text())["templates"][0]
    assert (entry["cores"], entry["sockets"], entry["memory_gib"], entry["instance_type"]) == (16, 2, 32, "big")
    assert "hostname" not in entry.get("properties", {})
    assert entry["properties"]["system.os.name"] == "Ubuntu 22.04.3 LTS"
    # flags override the node; --add-to keeps the others and replaces one of the same name
    done = run("create", "template", "--name", "alpha", "--from-node", NODES / "basic" / "alpha.json", "--cores", "4",
               "--max-nodes", "1", "--add-to", out)
    assert done.exit_code == 0, done.output
    doc = json.loads(done.stdout)
    assert [t["name"] for t in doc["templates"]] == ["big", "alpha"] and doc["templates"][1]["cores"] == 4
    done = run("create", "template", "--name", "big", "--cores", "2", "--max-nodes", "1", "--add-to", out)
    assert [(t["name"], t["cores"]) for t in json.loads(done.stdout)["templates"]] == [("big", 2)]


def test_bad_values_are_one_line_naming_the_field(tmp_path):
    cases = [
        (["--cores", "8", "--max-nodes", "-1"], "templates[0].max_nodes"),
        (["--cores", "6", "--sockets", "4", "--max-nodes", "1"], "templates[0].cores"),
        (["--cores", "8", "--max-nodes", "1", "--min-nodes", "2"], "templates[0].min_nodes"),
        (["--cores", "8", "--max-nodes", "1", "--limit", "disks=3"], "limits"),
        (["--cores", "8", "--max-nodes", "1", "--requirement", "zone Near a"], "requirement"),
        (["--max-nodes", "1"], "--cores"),
        (["--cores", "8", "--max-nodes", "1", "--label", "novalue"], "--label"),
    ]
    for args, field in cases:
        out = tmp_path / "never.json"
        done = run("create", "template", "--name", "x", *args, "--output", out)
        assert done.exit_code != 0, args
        lines = done.stderr.strip().splitlines()
        assert field in lines[-1] and lines[-1].startswith("Error: "), (args, done.stderr)
        assert not out.exists()


def test_a_file_with_a_name_twice_is_refused(tmp_path):
    twice = tmp_path / "twice.json"
    entry = {"name": "a", "instance_type": "c5", "cores": 2, "max_nodes": 1}
    twice.write_text(json.dumps({"templates": [entry, entry]}))
    done = run("create", "template", "--name", "b", "--cores", "2", "--max-nodes", "1", "--add-to", twice)
    assert done.exit_code == 1 and done.stderr.strip() == "Error: templates: templates[1].name: a is given twice"
