"""The container attribute `rainbow submit --image` writes: both jobspec forms carry it, the schema checks it, and
a jobspec naming another image is an error rather than a silent override."""
from __future__ import annotations

import pytest
import yaml

from rainbow.jobspec import JobspecError, parse_jobspec, set_container, simple_jobspec

PINNED = "127.0.0.1:5000/lammps@sha256:" + "ab" * 32
CONTAINER = {"image": "127.0.0.1:5000/lammps:rocky9", "pull": PINNED, "digest": "sha256:" + "ab" * 32,
             "artifact": "127.0.0.1:5000/lammps@sha256:" + "cd" * 32}
FLUX = yaml.safe_load("""
version: 1
resources:
- {type: node, count: 1, with: [{type: slot, count: 1, label: default, with: [{type: core, count: 2}]}]}
tasks:
- {command: [lmp], slot: default, count: {per_slot: 1}}
attributes: {system: {duration: 60}}
""")


@pytest.mark.parametrize("doc", [simple_jobspec(1, 2, ["lmp"]), FLUX], ids=["nextgen", "flux"])
def test_both_forms_carry_the_image(doc):
    request = parse_jobspec(set_container(doc, CONTAINER))
    assert request.system["container"] == CONTAINER
    assert "container" not in (doc.get("attributes") or {}).get("system", {})  # the input is not changed


def test_the_schema_checks_the_attribute_and_another_image_is_refused():
    with pytest.raises(JobspecError, match="container.digest"):
        parse_jobspec(set_container(simple_jobspec(1, 1, ["lmp"]), {"image": "x", "digest": "md5:1"}))
    with pytest.raises(JobspecError, match="container"):
        parse_jobspec(set_container(simple_jobspec(1, 1, ["lmp"]), {"pull": "x"}))
    named = set_container(simple_jobspec(1, 1, ["lmp"]), {"image": "a/b:1"})
    assert set_container(named, {"image": "a/b:1", "pull": "a/b@" + "sha256:" + "ab" * 32})
    with pytest.raises(JobspecError, match="jobspec names 'a/b:1', --image names 'a/c:1'"):
        set_container(named, {"image": "a/c:1"})
