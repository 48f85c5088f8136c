"""A real registry per session (one anonymous, one with htpasswd auth, each started only when a test asks), and
an environment that reads no credentials or cache outside the test's folders."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import registryutil
from compspec.oci.client import OCI_MANIFEST, RegistryClient
from compspec.oci.reference import parse_reference

USERS = {"ann": "s3cret-pw"}


def _registry(tmp_path_factory, name: str, users=None, tls=None):
    if not registryutil.available():
        pytest.skip("docker-registry is not installed (.ci/run installs it)")
    registry = registryutil.start_registry(tmp_path_factory.mktemp(name), users, tls)
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    yield from _registry(tmp_path_factory, "registry")


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory):
    yield from _registry(tmp_path_factory, "auth-registry", USERS)


@pytest.fixture(scope="session")
def tls_registry(tmp_path_factory):
    """A registry serving HTTPS with a certificate of a throwaway CA; `.ca` is the CA's file."""
    from certs import TestCA

    ca = TestCA(tmp_path_factory.mktemp("registry-ca"))
    served = ca.issue("registry", "127.0.0.1", server=True)
    for registry in _registry(tmp_path_factory, "tls-registry", tls=(served.cert, served.key)):
        registry.ca = ca.ca_path
        yield registry


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    for key in ("ORAS_USER", "ORAS_PASS", "REGISTRY_AUTH_FILE", "COMPSPEC_INSECURE_REGISTRY", "XDG_CACHE_HOME",
                "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(key, raising=False)
    (tmp_path / "docker").mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.setenv("COMPSPEC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def push_image(reference: str, env=None) -> str:
    """A small image (a config and no layers) at `reference`, its own (a label names it); its manifest digest."""
    ref = parse_reference(reference)
    client = RegistryClient(ref.registry, env=env)
    config = client.upload(ref, json.dumps({"architecture": "amd64", "os": "linux",
                                            "config": {"Labels": {"test.reference": reference}},
                                            "rootfs": {"type": "layers", "diff_ids": []}}).encode(),
                           "application/vnd.oci.image.config.v1+json")
    digest, _ = client.put_manifest(ref, {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config,
                                          "layers": []}, OCI_MANIFEST)
    return digest


def docker_login(folder: Path, registry: str, user: str, password: str) -> None:
    """What `docker login` leaves in DOCKER_CONFIG/config.json."""
    import base64

    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (folder / "config.json").write_text(json.dumps({"auths": {registry: {"auth": auth}}}))
