"""Image references as docker reads them: registry ports, digests, default registry, namespace and tag."""
from __future__ import annotations

import pytest

from compspec.oci import RegistryError
from compspec.oci.reference import is_loopback, parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("text, registry, repository, tag, digest", [
    ("127.0.0.1:5000/app:1.0", "127.0.0.1:5000", "app", "1.0", None),
    ("localhost:5000/group/app", "localhost:5000", "group/app", "latest", None),
    ("localhost/app:v2", "localhost", "app", "v2", None),
    (f"registry.example.org:8443/a/b/c@{DIGEST}", "registry.example.org:8443", "a/b/c", None, DIGEST),
    (f"127.0.0.1:5000/app:1.0@{DIGEST}", "127.0.0.1:5000", "app", "1.0", DIGEST),
    ("ubuntu", "docker.io", "library/ubuntu", "latest", None),
    ("rse-ops/lammps-matrix:intel-mpi-rocky-9-amd64", "docker.io", "rse-ops/lammps-matrix",
     "intel-mpi-rocky-9-amd64", None),
    ("ghcr.io/rse-ops/lammps-matrix:intel-mpi-rocky-9-amd64", "ghcr.io", "rse-ops/lammps-matrix",
     "intel-mpi-rocky-9-amd64", None),
    ("docker://[::1]:5000/app:x", "[::1]:5000", "app", "x", None),
])
def test_parse(text, registry, repository, tag, digest):
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)


def test_convention_tag_and_round_trip():
    ref = parse_reference("127.0.0.1:5000/app:1.0")
    assert str(ref.artifact_tag()) == "127.0.0.1:5000/app:1.0-compspec"
    assert parse_reference(f"127.0.0.1:5000/app@{DIGEST}").artifact_tag() is None
    assert str(parse_reference(str(ref))) == str(ref)
    assert parse_reference("[::1]:5000/app").host == "::1" and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("registry.example.org")


@pytest.mark.parametrize("text, words", [
    ("", "empty"),
    ("127.0.0.1:5000/App:1", "repository 'App'"),
    ("127.0.0.1:5000/app:bad tag", "tag 'bad tag'"),
    ("127.0.0.1:5000/app@sha256:123", "digest"),
    ("bad_host:x/app", "registry 'bad_host:x'"),
])
def test_invalid(text, words):
    with pytest.raises(RegistryError, match="image|reference") as caught:
        parse_reference(text)
    assert words in str(caught.value) and "\n" not in str(caught.value)
