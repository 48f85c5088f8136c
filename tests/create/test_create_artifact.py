"""`compspec create artifact`: a CompatibilitySpec from a request and a node extraction."""
from __future__ import annotations

import json

import pytest

from compspec.artifact import create_artifact, needed_extractors, parse_overrides
from compspec.schemas import FormatError, validate

from .helpers import NODES, UPSTREAM, extraction, run

REQUEST = UPSTREAM / "artifact-request-lammps.yaml"
HOST = NODES / "single" / "ubuntu-mpich.json"


def test_upstream_request_gives_upstream_artifact(tmp_path):
    out = tmp_path / "spec.json"
    result = run("create", "artifact", "-i", REQUEST, "-a", "custom.gpu.available=yes", "--from", HOST, "-o", out)
    assert result.exit_code == 0, result.output
    spec = json.loads(out.read_text())
    assert spec == json.loads((UPSTREAM / "artifact-lammps.json").read_text())
    validate("artifact", spec)


def test_stdout_when_no_output_file():
    result = run("create", "artifact", "-i", REQUEST, "-a", "custom.gpu.available=no", "--from", HOST)
    assert result.exit_code == 0, result.output
    spec = json.loads(result.stdout)
    assert spec["compatibilities"][0]["attributes"]["hardware.gpu.available"] == "no"


def test_missing_field_is_an_error_naming_it():
    result = run("create", "artifact", "-i", REQUEST, "--from", HOST)
    assert result.exit_code == 1
    assert "custom.gpu.available" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_allow_missing_writes_empty_and_warns():
    result = run("create", "artifact", "-i", REQUEST, "--from", HOST, "--allow-missing")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["compatibilities"][0]["attributes"]["hardware.gpu.available"] == ""
    assert "custom.gpu.available" in result.stderr


def test_override_replaces_an_extracted_field():
    result = run("create", "artifact", "-i", REQUEST, "--from", HOST, "-a", "custom.gpu.available=no",
                 "-a", "library.mpi.version=9.9")
    assert json.loads(result.stdout)["compatibilities"][0]["attributes"]["mpi.version"] == "9.9"


def test_normalized_fields_win_over_raw_processor_fields():
    doc = extraction("h", **{"system.cpu": {"cores": "2", "model": "EPYC", "vendor": "AuthenticAMD"},
                             "system.processor": {"0.raw.model_name": "other", "0.raw.vendor_id": "other"}})
    request = {"compatibilities": [{"name": "io.archspec", "attributes": {
        "cpu.model": "system.processor.0.model", "cpu.vendor": "system.processor.0.vendor"}}]}
    spec, missing = create_artifact(request, doc)
    assert spec["compatibilities"][0]["attributes"] == {"cpu.model": "EPYC", "cpu.vendor": "AuthenticAMD"}
    assert missing == []


def test_needed_extractors_skip_custom_and_overridden_fields():
    request = {"compatibilities": [{"name": "x", "attributes": {
        "a": "library.mpi.variant", "b": "custom.gpu.available", "c": "system.processor.0.model",
        "d": "nfd.cpu.model.id"}}]}
    assert needed_extractors(request) == ["library", "nfd", "system"]
    assert needed_extractors(request, {"nfd.cpu.model.id": "1"}) == ["library", "system"]


@pytest.mark.parametrize("items", [["novalue"], ["a.b=1"]])
def test_bad_override(items):
    with pytest.raises(FormatError):
        parse_overrides(items)


def test_bad_override_on_the_command_line():
    result = run("create", "artifact", "-i", REQUEST, "--from", HOST, "-a", "gpu=yes")
    assert result.exit_code == 1 and "extractor.section.key" in result.stderr


def test_invalid_request_names_the_field(tmp_path):
    bad = tmp_path / "req.yaml"
    bad.write_text("compatibilities:\n- name: x\n  attributes:\n    a: notafield\n")
    result = run("create", "artifact", "-i", bad, "--from", HOST)
    assert result.exit_code == 1 and "compatibilities[0].attributes.a" in result.stderr
    bad.write_text("compatibilities: [\n")
    result = run("create", "artifact", "-i", bad, "--from", HOST)
    assert result.exit_code == 1 and "not valid YAML" in result.stderr


def test_from_file_that_is_not_an_extraction(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    result = run("create", "artifact", "-i", REQUEST, "--from", bad, "-a", "custom.gpu.available=no")
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_extracts_this_node_without_from():
    result = run("create", "artifact", "-i", REQUEST, "-a", "custom.gpu.available=no", "--allow-missing")
    assert result.exit_code == 0, result.output
    spec = json.loads(result.stdout)
    validate("artifact", spec)
    assert spec["compatibilities"][1]["attributes"]["cpu.target"] in {"amd64", "arm64", "ppc64le", "s390x",
                                                                       "riscv64", "i386", ""}
