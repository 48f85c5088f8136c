"""`compspec match`: images of a manifest against wanted values and against a node."""
from __future__ import annotations

import json

import pytest

from compspec.manifest import attribute_value, is_registry_reference, mismatches

from .helpers import MANIFESTS, NODES, UPSTREAM, run

MANIFEST = MANIFESTS / "lammps.yaml"
PREFIX = "ghcr.io/rse-ops/lammps-matrix:"
ALL = [PREFIX + t for t in ("intel-mpi-rocky-8-amd64", "intel-mpi-rocky-9-amd64", "openmpi-ubuntu-gpu-20.04",
                            "openmpi-ubuntu-gpu-22.04")]


def test_without_filters_every_image_matches():
    result = run("match", "-i", MANIFEST)
    assert result.exit_code == 0 and result.stdout.split() == ALL


def test_match_on_namespaced_values():
    result = run("match", "-i", MANIFEST, "--match", "org.supercontainers.mpi.implementation=OpenMPI")
    assert result.stdout.split() == ALL[2:]
    result = run("match", "-i", MANIFEST, "--match", "org.supercontainers.mpi.implementation=intel-mpi",
                 "--match", "org.supercontainers.os.version=9.3")
    assert result.stdout.split() == [ALL[1]]


def test_no_match_is_an_error_with_reasons():
    result = run("match", "-i", MANIFEST, "--match", "io.archspec.cpu.target=arm64")
    assert result.exit_code == 1
    assert "no image" in result.stderr.splitlines()[-1]
    assert "artifact has amd64" in result.stderr


@pytest.mark.parametrize("node,expected", [("beta", [ALL[3]]), ("alpha", [ALL[1]]), ("gamma", [])])
def test_host_keeps_compatible_images(node, expected):
    result = run("match", "-i", MANIFEST, "--host", "--from", NODES / "basic" / f"{node}.json", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["matches"] == expected
    assert sorted(doc["matches"] + list(doc["mismatches"])) == ALL


def test_host_reasons_use_the_compatibility_comparisons():
    result = run("match", "-i", MANIFEST, "--host", "--from", NODES / "basic" / "beta.json", "--json")
    reasons = json.loads(result.stdout)["mismatches"][ALL[2]]
    # ubuntu 22.04 does not satisfy 20.04 (same series only); the GPU and the amd64 target are fine
    assert "os.version 20.04: node has 22.04" in reasons
    assert not any(r.startswith(("hardware.gpu", "cpu.target")) for r in reasons)


def test_host_with_match_combines_both():
    result = run("match", "-i", MANIFEST, "--host", "--from", NODES / "basic" / "alpha.json",
                 "--match", "org.supercontainers.os.vendor=ubuntu")
    assert result.exit_code == 1


def test_randomize_and_single():
    seen = set()
    for seed in range(8):
        result = run("match", "-i", MANIFEST, "--randomize", "--seed", seed)
        assert sorted(result.stdout.split()) == ALL
        seen.add(tuple(result.stdout.split()))
    assert len(seen) > 1
    result = run("match", "-i", MANIFEST, "--single", "--match", "org.supercontainers.os.vendor=rocky")
    assert result.stdout.split() == [ALL[0]]


def test_registry_reference_is_fetched_and_its_failure_names_the_image(tmp_path):
    manifest = tmp_path / "m.yaml"
    manifest.write_text("images:\n- name: app\n  artifact: 127.0.0.1:1/app:v1-compspec\n")
    result = run("match", "-i", manifest, "--no-cache")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: image 127.0.0.1:1/app:v1-compspec: registry 127.0.0.1:1 unreachable (connection refused)"]


def test_missing_artifact_and_bad_manifest(tmp_path):
    manifest = tmp_path / "m.yaml"
    manifest.write_text("images:\n- name: a\n  artifact: nope.json\n")
    result = run("match", "-i", manifest)
    assert result.exit_code == 1 and "nope.json not found" in result.stderr
    manifest.write_text("images:\n- artifact: a.json\n")
    result = run("match", "-i", manifest)
    assert result.exit_code == 1 and "images[0]" in result.stderr
    manifest.write_text("images:\n- name: Not/A Reference\n")
    result = run("match", "-i", manifest, "--no-cache")
    assert result.exit_code == 1 and "image Not/A Reference: repository" in result.stderr


def test_bad_match_key():
    result = run("match", "-i", MANIFEST, "--match", "os=ubuntu")
    assert result.exit_code == 1 and "namespaced" in result.stderr


def test_from_needs_host():
    assert run("match", "-i", MANIFEST, "--from", NODES / "basic" / "beta.json").exit_code == 2


def test_registry_reference_shapes():
    assert is_registry_reference("ghcr.io/rse-ops/lammps-matrix:intel-mpi-rocky-9-amd64-compspec")
    assert is_registry_reference("localhost:5000/app:1.0")
    assert not is_registry_reference("specs/compspec-intel.json")
    assert not is_registry_reference("../artifacts/a.json")


def test_longest_namespace_wins():
    spec = {"compatibilities": [{"name": "org", "attributes": {"x.y": "short"}},
                                {"name": "org.x", "attributes": {"y": "long"}}]}
    assert attribute_value(spec, "org.x.y") == "long"
    assert mismatches(spec, {"org.x.y": "LONG"}) == []
    assert mismatches(spec, {"org.z": "1"}) == ["org.z 1: artifact has none"]


def test_host_extracts_this_node():
    result = run("match", "-i", MANIFEST, "--host", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert sorted(doc["matches"] + list(doc["mismatches"])) == ALL
    for reasons in doc["mismatches"].values():
        assert all(": " in r for r in reasons)


@pytest.mark.parametrize("node,gpu", [("alpha", "no"), ("beta", "yes")])
def test_artifact_made_on_a_node_matches_that_node(tmp_path, node, gpu):
    """Round trip: create artifact writes a CompatibilitySpec that match reads back and finds compatible."""
    source = NODES / "basic" / f"{node}.json"
    request = UPSTREAM / "artifact-request-lammps.yaml"
    made = run("create", "artifact", "-i", request, "--from", source, "-a", f"custom.gpu.available={gpu}",
               "-o", tmp_path / "spec.json")
    assert made.exit_code == 0, made.output
    (tmp_path / "m.yaml").write_text("images:\n- name: mine\n  artifact: spec.json\n")
    result = run("match", "-i", tmp_path / "m.yaml", "--host", "--from", source, "--json")
    assert json.loads(result.stdout) == {"matches": ["mine"], "mismatches": {}}
    other = "beta" if node == "alpha" else "alpha"
    result = run("match", "-i", tmp_path / "m.yaml", "--host", "--from", NODES / "basic" / f"{other}.json")
    assert result.exit_code == 1
