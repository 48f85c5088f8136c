"""Compatibility artifacts through a real registry (distribution 2.8, which has no referrers API): push, attach,
resolve by referrer, by the TAG-compspec convention and by digest, credentials, the cache offline, and each failure
as one line naming the image."""
from __future__ import annotations

import json
from pathlib import Path

import oras.client
import pytest
from click.testing import CliRunner

from compspec.cli import main
from compspec.oci import RegistryError
from compspec.oci.artifacts import Resolver
from compspec.oci.client import OCI_INDEX, RegistryClient, fallback_tag
from compspec.oci.reference import parse_reference

from .conftest import USERS, docker_login, push_image

ARTIFACTS = Path(__file__).resolve().parents[1] / "data" / "upstream" / "artifacts"
ROCKY_8 = ARTIFACTS / "compspec-intel-mpi-rocky-8-amd64.json"
ROCKY_9 = ARTIFACTS / "compspec-intel-mpi-rocky-9-amd64.json"


def compspec(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result


def failure(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def test_attach_as_referrer_with_the_tag_schema_fallback(registry, tmp_path):
    image = f"{registry.address}/lammps:rocky9"
    image_digest = push_image(image)
    pushed = compspec("artifact", "push", ROCKY_9, "--subject", image)
    assert pushed.exit_code == 0, pushed.output
    assert pushed.stdout.startswith(f"pushed {registry.address}/lammps@sha256:")
    assert pushed.stdout.rstrip().endswith(f"attached to {registry.address}/lammps@{image_digest} "
                                           "(referrers tag schema)")
    # the fallback index lists it, with the artifact type
    client = RegistryClient(registry.address)
    index = client.manifest(parse_reference(image).at(tag=fallback_tag(image_digest)), accept=(OCI_INDEX,))
    assert [m["artifactType"] for m in index.document["manifests"]] == ["application/org.supercontainers.compspec"]
    shown = compspec("artifact", "show", image)
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[:2] == [f"image: {image}", f"digest: {image_digest}"]
    assert lines[2].startswith(f"artifact: {registry.address}/lammps@sha256:") and lines[2].endswith("(referrer)")
    assert "org.supercontainers.os.version: 9.3" in lines
    # by digest, and by the artifact's own reference
    found = Resolver(cache_dir=None).resolve(f"{registry.address}/lammps@{image_digest}")
    assert found.via == "referrer" and found.image_digest == image_digest
    assert found.spec == json.loads(ROCKY_9.read_text())
    itself = Resolver(cache_dir=None).resolve(found.artifact)
    assert itself.via == "self" and itself.image_digest == image_digest


def test_newest_referrer_wins(registry):
    image = f"{registry.address}/newest:v1"
    push_image(image)
    resolver = Resolver(cache_dir=None)
    first = resolver.push(json.loads(ROCKY_8.read_text()), subject=image)
    second = resolver.push(json.loads(ROCKY_9.read_text()), subject=image)
    assert first.digest != second.digest
    assert resolver.resolve(image).artifact.endswith(second.digest)


def test_create_artifact_push_and_the_naming_convention(registry, tmp_path):
    request = Path(__file__).resolve().parents[1] / "data" / "upstream" / "artifact-request-lammps.yaml"
    node = tmp_path / "node.json"
    extract = CliRunner().invoke(main, ["extract", "--host-root",
                                        str(Path(__file__).resolve().parents[1] / "data" / "hosts"
                                            / "x86-intel-2s-rocky9-impi"), "--out", str(node)],
                                 catch_exceptions=False)
    if extract.exit_code != 0:
        pytest.skip(f"extract: {extract.output}")
    out = tmp_path / "spec.json"
    result = compspec("create", "artifact", "-i", request, "--from", node, "--allow-missing", "-o", out,
                      "--push", f"{registry.address}/app:v1-compspec")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"pushed {registry.address}/app:v1-compspec (sha256:")
    # the image itself need not be in the registry: compspec-go's convention finds the artifact
    found = Resolver(cache_dir=None).resolve(f"{registry.address}/app:v1")
    assert found.via == "tag" and found.image_digest is None
    assert found.spec == json.loads(out.read_text())


def test_reads_what_the_oras_sdk_pushes_and_the_renamed_media_type(registry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.json").write_text(ROCKY_8.read_text())
    sdk = oras.client.OrasClient(hostname=registry.address, insecure=True)
    image = f"{registry.address}/sdk:rocky8"
    digest = push_image(image)
    sdk.push(target=f"{image}-compspec", files=["spec.json:application/org.compspec"])
    found = Resolver(cache_dir=None).resolve(image)
    assert found.via == "tag" and found.media_type == "application/org.compspec"
    assert found.image_digest == digest and found.spec == json.loads(ROCKY_8.read_text())
    # and the SDK pulls what compspec pushes
    Resolver(cache_dir=None).push(json.loads(ROCKY_9.read_text()), target=f"{registry.address}/sdk:rocky9-compspec")
    files = sdk.pull(target=f"{registry.address}/sdk:rocky9-compspec", outdir=str(tmp_path / "pulled"))
    assert [Path(f).name for f in files] == ["compspec.json"]
    assert json.loads(Path(files[0]).read_text()) == json.loads(ROCKY_9.read_text())


def test_credentials_from_the_docker_config(auth_registry, tmp_path, monkeypatch):
    image = f"{auth_registry.address}/private:v1"
    (user, password), = USERS.items()
    assert "needs credentials" in failure(compspec("artifact", "push", ROCKY_8, f"{image}-compspec"))
    docker_login(tmp_path / "docker", auth_registry.address, user, "wrong")
    assert "refused the credentials" in failure(compspec("artifact", "push", ROCKY_8, f"{image}-compspec"))
    docker_login(tmp_path / "docker", auth_registry.address, user, password)
    assert compspec("artifact", "push", ROCKY_8, f"{image}-compspec").exit_code == 0
    assert compspec("artifact", "show", image).exit_code == 0
    (tmp_path / "docker" / "config.json").unlink()
    monkeypatch.setenv("ORAS_USER", user)
    monkeypatch.setenv("ORAS_PASS", password)
    assert Resolver(cache_dir=None).resolve(image).via == "tag"


def test_cache_serves_a_resolved_image_with_the_registry_stopped(registry, tmp_path):
    image = f"{registry.address}/cached:v1"
    digest = push_image(image)
    Resolver(cache_dir=None).push(json.loads(ROCKY_8.read_text()), subject=image)
    cache = tmp_path / "cache"
    assert not Resolver(cache_dir=cache).resolve(image).cached
    pinned = Resolver(cache_dir=cache).resolve(f"{registry.address}/cached@{digest}")
    assert not pinned.cached
    assert Resolver(cache_dir=cache).resolve(f"{registry.address}/cached@{digest}").cached  # no registry asked
    registry.stop()
    try:
        by_tag = Resolver(cache_dir=cache).resolve(image)
        assert by_tag.cached and by_tag.offline and by_tag.spec == json.loads(ROCKY_8.read_text())
        assert Resolver(cache_dir=cache).resolve(f"{registry.address}/cached@{digest}").image_digest == digest
        shown = compspec("artifact", "show", image, "--cache-dir", cache)
        assert shown.exit_code == 0 and "registry unreachable; using the artifact cached" in shown.stderr
        message = failure(compspec("artifact", "show", image, "--no-cache"))
        assert message == f"Error: image {image}: registry {registry.address} unreachable (connection refused)"
    finally:
        registry.start()


def _push_raw(registry, reference: str, data: bytes, media_type: str) -> None:
    """An artifact manifest with one layer of any bytes and media type, as a careless tool would push it."""
    ref = parse_reference(reference)
    client = RegistryClient(registry.address)
    config = client.upload(ref, b"{}", "application/vnd.oci.empty.v1+json")
    layer = client.upload(ref, data, media_type)
    client.put_manifest(ref, {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                              "artifactType": media_type, "config": config, "layers": [layer]},
                        "application/vnd.oci.image.manifest.v1+json")


def test_each_failure_is_one_line_naming_the_image(registry):
    base = f"{registry.address}/broken"
    push_image(f"{base}:bare")
    _push_raw(registry, f"{base}:wrongtype-compspec", ROCKY_8.read_bytes(), "application/json")
    _push_raw(registry, f"{base}:notjson-compspec", b"not json {", "application/org.supercontainers.compspec")
    _push_raw(registry, f"{base}:schema-compspec", b'{"kind": "Other"}', "application/org.supercontainers.compspec")
    _push_raw(registry, f"{base}:big-compspec", b" " * (1024 * 1024 + 1), "application/org.supercontainers.compspec")
    cases = {
        "bare": "no compatibility artifact (no referrer of type application/org.supercontainers.compspec and no "
                "tag bare-compspec)",
        "absent": f"not in registry {registry.address}, nor its artifact tag absent-compspec",
        "wrongtype": f"artifact {base}:wrongtype-compspec has no layer of type application/org.supercontainers."
                     "compspec or application/org.compspec (its layers: application/json)",
        "notjson": "not valid JSON",
        "schema": "'compatibilities' is a required property",
        "big": "is 1048577 bytes, over the limit of 1048576",
    }
    for tag, words in cases.items():
        message = failure(compspec("artifact", "show", f"{base}:{tag}", "--no-cache"))
        assert message.startswith(f"Error: image {base}:{tag}: ") and words in message, message
    with pytest.raises(RegistryError, match="push .*: an artifact attached to .* must be in its repository"):
        Resolver(cache_dir=None).push({}, target=f"{registry.address}/other:x", subject=f"{base}:bare")


def test_plain_http_only_for_loopback_or_named_hosts(registry):
    # 0.0.0.0 reaches the loopback registry but is not a loopback name: HTTPS is required unless it is named
    image = f"0.0.0.0:{registry.port}/plain:v1"
    Resolver(cache_dir=None).push(json.loads(ROCKY_8.read_text()), target=f"{registry.address}/plain:v1-compspec")
    message = failure(compspec("artifact", "show", image, "--no-cache"))
    assert "TLS failed" in message and "--insecure-registry" in message
    shown = compspec("artifact", "show", image, "--no-cache", "--insecure-registry", f"0.0.0.0:{registry.port}")
    assert shown.exit_code == 0, shown.output


def test_match_by_image(registry):
    push_image(f"{registry.address}/match:rocky8")
    Resolver(cache_dir=None).push(json.loads(ROCKY_8.read_text()), subject=f"{registry.address}/match:rocky8")
    Resolver(cache_dir=None).push(json.loads(ROCKY_9.read_text()), target=f"{registry.address}/match:rocky9-compspec")
    images = [f"{registry.address}/match:rocky8", f"{registry.address}/match:rocky9"]
    result = compspec("match", "--image", images[0], "--image", images[1],
                      "--match", "org.supercontainers.os.version=9.3")
    assert result.exit_code == 0 and result.stdout.split() == [images[1]]


def test_manifest_entries_naming_images(registry, tmp_path):
    base = f"{registry.address}/manifest"
    push_image(f"{base}:rocky8")
    Resolver(cache_dir=None).push(json.loads(ROCKY_8.read_text()), subject=f"{base}:rocky8")
    pushed = Resolver(cache_dir=None).push(json.loads(ROCKY_9.read_text()), target=f"{base}:rocky9-compspec")
    manifest = tmp_path / "images.yaml"
    manifest.write_text(f"images:\n- name: {base}:rocky8\n- name: rocky9-build\n  artifact: {pushed.artifact}\n"
                        f"- name: ubuntu-file\n  artifact: {ARTIFACTS / 'compspec-openmpi-ubuntu-gpu-22.04.json'}\n")
    result = compspec("match", "-i", manifest, "--match", "org.supercontainers.os.vendor=rocky", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["matches"] == [f"{base}:rocky8", "rocky9-build"] and list(found["mismatches"]) == ["ubuntu-file"]
    manifest.write_text(f"images:\n- name: {base}:rocky7\n")
    message = failure(compspec("match", "-i", manifest))
    assert message.startswith(f"Error: image {base}:rocky7: not in registry")


def test_a_damaged_cache_is_a_miss_never_an_error(registry, tmp_path):
    image = f"{registry.address}/damaged:v1"
    Resolver(cache_dir=None).push(json.loads(ROCKY_8.read_text()), target=f"{image}-compspec")
    cache = tmp_path / "cache"
    first = Resolver(cache_dir=cache).resolve(image)
    blob, = (cache / "blobs" / "sha256").iterdir()
    assert "sha256:" + blob.name == first.artifact_digest
    blob.write_text("{}")  # no longer the content its name says
    for record in (cache / "refs").iterdir():
        record.write_text("not json")
    again = Resolver(cache_dir=cache).resolve(image)
    assert not again.cached and again.spec == first.spec
    assert blob.read_bytes() != b"{}"  # fetched and stored again


def test_tls_registry_trusted_by_its_ca_or_named_insecure(tls_registry, monkeypatch):
    # 0.0.0.0 reaches it without being loopback, so nothing is allowed without TLS and a trusted certificate
    here = f"0.0.0.0:{tls_registry.port}"
    image = f"{here}/secure:v1"
    assert "its certificate is not trusted" in failure(compspec("artifact", "push", ROCKY_8, f"{image}-compspec"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", tls_registry.ca)
    pushed = compspec("artifact", "push", ROCKY_8, f"{tls_registry.address}/secure:v1-compspec")
    assert pushed.exit_code == 0, pushed.output
    assert compspec("artifact", "show", f"{tls_registry.address}/secure:v1", "--no-cache").exit_code == 0
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    shown = compspec("artifact", "show", image, "--no-cache", "--insecure-registry", here)
    assert shown.exit_code == 0, shown.output
    assert "org.supercontainers.os.version: 8.9" in shown.stdout
