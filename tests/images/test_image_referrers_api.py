"""A registry with the OCI 1.1 referrers API: the artifact is attached through the subject field alone (no
tag-schema index is written) and found through the API."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from compspec.oci.artifacts import Resolver

from .conftest import push_image
from .fakeregistry import FakeRegistry

ARTIFACTS = Path(__file__).resolve().parents[1] / "data" / "upstream" / "artifacts"


@pytest.fixture
def oci11():
    registry = FakeRegistry()
    yield registry
    registry.close()


def test_referrers_api(oci11):
    image = f"{oci11.address}/app:v1"
    digest = push_image(image)
    spec = json.loads((ARTIFACTS / "compspec-intel-mpi-rocky-9-amd64.json").read_text())
    pushed = Resolver(cache_dir=None).push(spec, subject=image)
    assert not pushed.fallback and pushed.subject == f"{oci11.address}/app@{digest}"
    assert not any(tag.startswith("sha256-") for _, tag in oci11.tags)  # no referrers tag-schema index
    assert [r["digest"] for r in oci11.referrers[digest]] == [pushed.digest]
    found = Resolver(cache_dir=None).resolve(image)
    assert found.via == "referrer" and found.artifact == pushed.artifact and found.spec == spec
