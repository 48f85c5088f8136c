"""The jobspecs and selection priorities the guide shows are ones the code accepts."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from rainbow.jobspec import parse_jobspec
from rainbow.select import parse_priorities

DOCS = Path(__file__).resolve().parents[2] / "docs"
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
    (config,) = blocks("selection.md")
    priorities = yaml.safe_load(config)["scheduler"]["algorithms"]["selection"]["options"]["priorities"]
    assert len(parse_priorities(priorities)) == 2
