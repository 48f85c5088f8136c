"""The jobspecs, selection priorities and format examples the guide shows are ones the code reads as the guide says."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from compspec.artifact import create_artifact, needed_extractors, parse_overrides
from compspec.extract import run_extractors
from compspec.schemas import validate
from rainbow.jobspec import parse_jobspec
from rainbow.select import parse_priorities, site_presets

DOCS = Path(__file__).resolve().parents[2] / "docs"
INTEL = Path(__file__).resolve().parents[1] / "data" / "hosts" / "x86-intel-2s-rocky9-impi"
YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.M | re.S)


def blocks(page: str) -> list[str]:
    return YAML_BLOCK.findall((DOCS / page).read_text(encoding="utf-8"))


def test_formats_jobspecs_parse():
    jobspecs = [b for b in blocks("formats.md") if b.startswith("version: 1")]
    assert len(jobspecs) == 2
    assert [parse_jobspec(b).command for b in jobspecs] == [["lmp", "-in", "in.reaxc.hns"], ["hostname"]]


@pytest.mark.parametrize("snippet", blocks("matching.md"))
def test_matching_resources_parse(snippet):
    parse_jobspec("version: 1\n" + snippet + "tasks:\n- command: [app]\n")


def test_selection_priorities_parse():
    config, presets = blocks("selection.md")
    priorities = yaml.safe_load(config)["scheduler"]["algorithms"]["selection"]["options"]["priorities"]
    assert len(parse_priorities(priorities)) == 2
    site = yaml.safe_load(presets)
    assert set(site_presets(site["selection_presets"])) == {site["scheduler"]["algorithms"]["selection"]["name"]}


# -- the examples of every format in formats.md are documents the code reads as the page says ----------------------
EXAMPLE_BLOCK = re.compile(r"^```(json|yaml)\n(.*?)^```", re.M | re.S)


def examples(page: str) -> list[Any]:
    found = EXAMPLE_BLOCK.findall((DOCS / page).read_text(encoding="utf-8"))
    return [json.loads(body) if kind == "json" else yaml.safe_load(body) for kind, body in found]


def test_formats_examples_satisfy_their_schemas():
    (node, cluster, subsystem, templates, _, _, request, artifact, manifest, container, config,
     server) = examples("formats.md")
    validate("node-templates", templates, "formats.md: node templates")
    from rainbow.graph.templates import parse_templates

    assert [t.name for t in parse_templates(templates).templates] == ["c5-4xlarge", "p4d"]
    validate("config", server, "formats.md: the server's http and log keys", package="rainbow")
    validate("match-manifest", manifest, "formats.md: match manifest")
    validate("jobspec-nextgen", {"version": 1, "resources": {"n": {"type": "node"}}, **container},
             "formats.md: container attribute")
    assert set(container["attributes"]["system"]["container"]) == {"image", "digest", "pull", "artifact"}
    validate("node-extraction", node, "formats.md: node file")
    validate("artifact-request", request, "formats.md: artifact request")
    validate("artifact", artifact, "formats.md: artifact")
    validate("config", config, "formats.md: config", package="rainbow")
    validate("jgf-rainbow", cluster, "formats.md: cluster graph (an excerpt: its vertices, not a whole tree)")
    validate("jgf-rainbow", subsystem, "formats.md: subsystem graph")


def test_formats_artifact_is_the_request_filled_from_a_node():
    """The page's artifact is what its request gives for the recorded Intel node with `-a custom.gpu.available=no`."""
    _, _, _, _, _, _, request, artifact, _, _, _, _ = examples("formats.md")
    node = run_extractors(needed_extractors(request), host_root=str(INTEL)).document
    made, missing = create_artifact(request, node, parse_overrides(["custom.gpu.available=no"]))
    assert not missing
    assert [c["attributes"] for c in made["compatibilities"]] == [c["attributes"] for c in artifact["compatibilities"]]
