"""Compatibility checks: the shipped namespace table, user mappings, targets and version series."""
from __future__ import annotations

import pytest

from compspec.compat import (check, load_mappings, requirements_from_artifact, target_satisfies,
                             version_satisfies)
from compspec.schemas import FormatError

from .engine_support import upstream_json

NODE = {"system.os.vendor": "ubuntu", "system.os.version": "22.04", "system.os.release": "22.04.3",
        "system.os.name": "Ubuntu 22.04.3 LTS", "system.cpu.target": "haswell", "library.mpi.variant": "OpenMPI",
        "library.mpi.version": "4.1.5", "gpu.count": "2"}


@pytest.mark.parametrize("node,required,ok", [
    ("haswell", "haswell", True),
    ("skylake", "haswell", True),
    ("haswell", "skylake", False),
    ("haswell", "x86_64_v3", True),
    ("haswell", "x86_64_v4", False),
    ("skylake_avx512", "x86_64_v4", True),
    ("zen3", "amd64", True),
    ("zen3", "x86_64", True),
    ("neoverse_v1", "arm64", True),
    ("neoverse_v1", "aarch64", True),
    ("neoverse_v1", "amd64", False),
    ("power9le", "ppc64le", True),
    ("x86_64", "amd64", True),
    ("amd64", "x86_64_v2", False),
    ("unknown_chip", "haswell", False),
])
def test_target_satisfies(node, required, ok):
    assert target_satisfies(node, required) is ok


@pytest.mark.parametrize("node,required,ok", [
    ("4.1.2", "4.1.2", True),
    ("4.1.5", "4.1.2", True),
    ("4.2.0", "4.1.2", False),
    ("4.1.1", "4.1.2", False),
    ("22.04.3", "22.04", True),
    ("22.10", "22.04", True),
    ("24.04", "22.04", False),
    ("8.9", "8", True),
    ("9.3", "8", True),
    ("2021.10", "2021.8", True),
    ("v1.2", "1.2", True),
    ("22", "22.04", False),
])
def test_version_series(node, required, ok):
    assert version_satisfies(node, required) is ok


def test_check_reasons():
    requires = {"org.supercontainers": {"os.vendor": "Ubuntu", "os.version": "22.04", "mpi.implementation": "openmpi",
                                        "mpi.version": "4.1", "hardware.gpu.available": "yes"},
                "io.archspec": {"cpu.target": "x86_64_v3"}}
    assert check(requires, NODE) == []
    wrong = {"org.supercontainers": {"os.vendor": "rocky", "os.release": "9.3"}, "io.archspec": {"cpu.target": "zen3"}}
    assert check(wrong, NODE) == ["cpu.target zen3: node is haswell", "os.release 9.3: node has 22.04.3",
                                  "os.vendor rocky: node has ubuntu"]
    assert check({"org.supercontainers": {"os.name": "Ubuntu 22.04.3 LTS"}}, {}) == \
        ["os.name Ubuntu 22.04.3 LTS: node has none"]
    assert check({"org.supercontainers": {"hardware.gpu.available": "yes"}}, {"gpu.count": "0"}) == \
        ["hardware.gpu.available yes: node has none"]
    assert check({"org.supercontainers": {"hardware.gpu.available": "no"}}, {}) == []


def test_unknown_names_are_format_errors():
    with pytest.raises(FormatError, match="unknown compatibility namespace 'org.nope'"):
        check({"org.nope": {"a": "b"}}, NODE)
    with pytest.raises(FormatError, match="unknown attribute 'os.flavour'"):
        check({"org.supercontainers": {"os.flavour": "b"}}, NODE)


def test_requirements_from_artifact_drops_build_machine_details():
    artifact = upstream_json("artifact-lammps.json")
    plain = requirements_from_artifact(artifact)
    assert plain["io.archspec"] == {"cpu.target": "amd64"}
    assert plain["org.supercontainers"]["mpi.implementation"] == "mpich"
    strict = requirements_from_artifact(artifact, strict=True)
    assert strict["io.archspec"]["cpu.model"] == "13th Gen Intel(R) Core(TM) i5-1335U"
    with pytest.raises(FormatError, match="artifact: compatibilities"):
        requirements_from_artifact({"kind": "CompatibilitySpec", "compatibilities": [{"name": "x"}]})


def test_user_mappings_add_namespaces(tmp_path):
    extra = tmp_path / "site.yaml"
    extra.write_text("compatibilities:\n- name: org.example\n  attributes:\n"
                     "    fabric: custom.net.fabric\n    kernel: kernel.version\n"
                     "  comparisons:\n    kernel: version\n")
    mappings = load_mappings([extra])
    node = {"custom.net.fabric": "slingshot", "kernel.version": "5.14.0"}
    assert check({"org.example": {"fabric": "slingshot", "kernel": "5.14"}}, node, mappings) == []
    assert check({"org.example": {"fabric": "ib"}}, node, mappings) == ["fabric ib: node has slingshot"]
    assert check({"io.archspec": {"cpu.target": "haswell"}}, NODE, mappings) == []
    with pytest.raises(FormatError):
        check({"org.example": {"fabric": "x"}}, node)


def test_bad_user_mappings(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("compatibilities:\n- name: org.example\n  attributes: {a: b}\n  comparisons: {a: fuzzy}\n")
    with pytest.raises(FormatError, match="comparisons.a"):
        load_mappings([bad])
    with pytest.raises(FormatError, match="cannot read"):
        load_mappings([tmp_path / "missing.yaml"])
    broken = tmp_path / "broken.yaml"
    broken.write_text("compatibilities: [")
    with pytest.raises(FormatError, match="not valid YAML"):
        load_mappings([broken])


@pytest.mark.parametrize("value,low,high,ok", [
    ("0.5.3", "0.5.1", "0.5.5", True),
    ("0.5.6", "0.5.1", "0.5.5", False),
    ("v1.2", "1.2.0", None, True),
    ("1.2.0-rc.1", "1.0", "2.0", False),  # a pre-release needs a pre-release bound
    ("1.2.0-rc.1", "1.2.0-rc.0", None, True),
    ("2021.8.0.1", "2021.8", "2021.8.1", True),  # more than three numbers
    ("not-a-version", None, None, False),
])
def test_version_ranges(value, low, high, ok):
    from compspec.versions import in_range

    assert in_range(value, low, high) is ok


@pytest.mark.parametrize("node,required,ok", [
    ("4.1.2a1", "4.1.2", False),  # a pre-release is older than its release
    ("4.1.2a1", "4.1", True),
    ("1.2.0-rc.1", "1.2.0-rc.1", True),
    ("unknown", "unknown", True),
    ("unknown", "4.1", False),
])
def test_version_series_of_unusual_versions(node, required, ok):
    assert version_satisfies(node, required) is ok
