"""Find an image's compatibility artifact in its registry, and put one there.

An image's artifact is, in order: the reference itself when it names an artifact; a referrer of the image's
manifest (OCI 1.1: an artifact manifest whose `subject` is the image), newest first; the tag compspec-go's
convention gives it (IMAGE:TAG-compspec). What is found is checked on the way in: a layer of a CompatibilitySpec
media type, under the size limit, with the digest its descriptor names, JSON that satisfies the artifact schema.
Each failure is a RegistryError of one line naming the image; a missing artifact is never an empty requirement.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

from compspec import documents
from compspec.oci import RegistryError, settings
from compspec.oci.cache import ArtifactCache
from compspec.oci.client import (EMPTY_CONFIG, OCI_INDEX, OCI_MANIFEST, Manifest, RegistryClient, Unreachable,
                                 fallback_tag)
from compspec.oci.reference import Reference, parse_reference
from compspec.schemas import FormatError

TITLE = "org.opencontainers.image.title"
CREATED = "org.opencontainers.image.created"
ARTIFACT_FILE = "compspec.json"


def artifact_types() -> list[str]:
    return list(settings()["artifact_types"])


@dataclass
class Resolved:
    """An image and the artifact found for it."""

    reference: str                 # as the user gave it
    image: Reference
    image_digest: str | None       # the image manifest's digest, when the registry has the image
    artifact: str                  # where the artifact manifest is (repository@digest)
    artifact_digest: str           # the CompatibilitySpec blob's digest
    media_type: str
    via: str                       # self (the reference is the artifact), referrer, or tag (IMAGE:TAG-compspec)
    spec: dict[str, Any] = field(default_factory=dict)
    cached: bool = False           # read from the cache without asking the registry
    offline: bool = False          # the registry was unreachable: the cache's last answer for a tag

    @property
    def pinned(self) -> str:
        """The image by digest when known: what the matched requirements were read for."""
        return f"{self.image.name}@{self.image_digest}" if self.image_digest else str(self.image)

    def as_dict(self) -> dict[str, Any]:
        return {"image": self.reference, "reference": str(self.image), "digest": self.image_digest,
                "artifact": self.artifact, "artifact_digest": self.artifact_digest, "media_type": self.media_type,
                "via": self.via, "cached": self.cached, "offline": self.offline, "spec": self.spec}


@dataclass
class Pushed:
    artifact: str                  # repository@digest of the artifact manifest
    digest: str
    tag: str | None
    subject: str | None            # repository@digest of the image it is attached to
    fallback: bool                 # the referrers tag schema was updated (the registry has no referrers API)


def _is_artifact(manifest: Manifest, types: list[str]) -> bool:
    doc = manifest.document
    return (doc.get("artifactType") in types or (doc.get("config") or {}).get("mediaType") in types
            or any(layer.get("mediaType") in types for layer in doc.get("layers") or []))


def _created(descriptor: Mapping[str, Any]) -> str:
    return (descriptor.get("annotations") or {}).get(CREATED, "")


class Resolver:
    """Resolves and pushes artifacts; one client per registry, one cache (None: no cache)."""

    def __init__(self, insecure_hosts: Iterable[str] = (), cache_dir: str | Path | None = None,
                 env: Mapping[str, str] | None = None):
        self.insecure_hosts = [h for item in insecure_hosts for h in str(item).replace(",", " ").split()]
        self.cache = ArtifactCache(cache_dir) if cache_dir is not None else None
        self.env = env
        self._clients: dict[str, RegistryClient] = {}

    def client(self, registry: str) -> RegistryClient:
        if registry not in self._clients:
            self._clients[registry] = RegistryClient(registry, self.insecure_hosts, self.env)
        return self._clients[registry]

    # -- resolving ------------------------------------------------------------------------------------------------

    def resolve(self, text: str) -> Resolved:
        """The artifact of the image `text` names."""
        ref = parse_reference(text)
        key = str(ref)
        if self.cache is not None and ref.pinned:
            entry = self.cache.record(key)
            if entry is not None:
                return self._from_cache(text, ref, entry, offline=False)
        try:
            image_digest, where, manifest, via = self._locate(ref)
            layer = self._layer(manifest, where)
            data = self.cache.blob(layer["digest"]) if self.cache is not None else None
            if data is None:
                data = self.client(ref.registry).blob(where, layer, settings()["max_artifact_bytes"],
                                                      f"artifact {where}")
        except Unreachable as exc:
            entry = self.cache.record(key) if self.cache is not None else None
            if entry is not None:
                return self._from_cache(text, ref, entry, offline=True)
            raise RegistryError(f"image {text}: {exc}") from None
        except RegistryError as exc:
            raise RegistryError(f"image {text}: {exc}") from None
        spec = self._spec(text, str(where), data)
        found = Resolved(text, ref, image_digest, f"{where.name}@{manifest.digest}", layer["digest"],
                         layer["mediaType"], via, spec)
        if self.cache is not None:
            self.cache.put_blob(data)
            self.cache.remember({"reference": key, "image_digest": image_digest, "artifact": found.artifact,
                                 "artifact_digest": found.artifact_digest, "media_type": found.media_type,
                                 "via": via})
        return found

    def _locate(self, ref: Reference) -> tuple[str | None, Reference, Manifest, str]:
        """(image digest, where the artifact manifest is, the artifact manifest, how it was found)."""
        types = artifact_types()
        client = self.client(ref.registry)
        manifest = client.manifest(ref)
        convention = ref.artifact_tag()
        if manifest is None:
            if convention is not None:
                found = client.manifest(convention)
                if found is not None:
                    return None, convention, found, "tag"
                raise RegistryError(f"not in registry {ref.registry}, nor its artifact tag {convention.tag}")
            raise RegistryError(f"not in registry {ref.registry}")
        if _is_artifact(manifest, types):
            subject = manifest.document.get("subject") or {}
            return subject.get("digest"), ref.at(digest=manifest.digest), manifest, "self"
        referrers = client.referrers(ref, manifest.digest, types)
        if referrers:
            newest = max(enumerate(referrers), key=lambda pair: (_created(pair[1]), pair[0]))[1]
            where = ref.at(digest=newest["digest"])
            found = client.manifest(where)
            if found is None:
                raise RegistryError(f"its referrer {newest['digest']} is listed but not in the registry")
            return manifest.digest, where, found, "referrer"
        if convention is not None:
            found = client.manifest(convention)
            if found is not None:
                return manifest.digest, convention, found, "tag"
        tail = f" and no tag {convention.tag}" if convention is not None else ""
        raise RegistryError(f"no compatibility artifact (no referrer of type {types[0]}{tail})")

    def _layer(self, manifest: Manifest, where: Reference) -> dict[str, Any]:
        types = artifact_types()
        for layer in manifest.document.get("layers") or []:
            if layer.get("mediaType") in types:
                return layer
        found = sorted({str(layer.get("mediaType")) for layer in manifest.document.get("layers") or []})
        raise RegistryError(f"artifact {where} has no layer of type {' or '.join(types)} "
                            f"({'its layers: ' + ', '.join(found) if found else 'it has no layers'})")

    def _spec(self, text: str, where: str, data: bytes) -> dict[str, Any]:
        try:
            return documents.load(data, f"image {text}: artifact {where}", syntax="json", kind=dict,
                                  schema="artifact")
        except FormatError as exc:
            raise RegistryError(str(exc)) from None

    def _from_cache(self, text: str, ref: Reference, entry: Mapping[str, Any], offline: bool) -> Resolved:
        assert self.cache is not None
        data = self.cache.blob(entry["artifact_digest"]) or b""
        spec = self._spec(text, entry["artifact"], data)
        return Resolved(text, ref, entry.get("image_digest"), entry["artifact"], entry["artifact_digest"],
                        entry.get("media_type") or artifact_types()[0], entry["via"], spec, cached=True,
                        offline=offline)

    # -- pushing --------------------------------------------------------------------------------------------------

    def push(self, spec: Mapping[str, Any], target: str | None = None, subject: str | None = None) -> Pushed:
        """Put `spec` in a registry: at the tag `target`, and/or as a referrer of the image `subject`."""
        if not target and not subject:
            raise RegistryError("push: name a target reference, a subject image, or both")
        tref = parse_reference(target) if target else None
        sref = parse_reference(subject) if subject else None
        if tref is not None and tref.digest:
            raise RegistryError(f"push {target}: push to a tag, not a digest")
        if tref is not None and sref is not None and tref.name != sref.name:
            raise RegistryError(f"push {target}: an artifact attached to {subject} must be in its repository "
                                f"({sref.name})")
        where = tref if tref is not None else sref.at()  # type: ignore[union-attr]
        label = target or subject
        client = self.client(where.registry)
        types = artifact_types()
        data = (json.dumps(spec, indent=2) + "\n").encode()
        try:
            subject_manifest = None
            if sref is not None:
                subject_manifest = client.manifest(sref)
                if subject_manifest is None:
                    raise RegistryError(f"image {subject}: not in registry {sref.registry}")
            created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            config = client.upload(where, b"{}", EMPTY_CONFIG)
            layer = client.upload(where, data, types[0])
            layer["annotations"] = {TITLE: ARTIFACT_FILE}
            manifest: dict[str, Any] = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": types[0],
                                        "config": config, "layers": [layer], "annotations": {CREATED: created}}
            if subject_manifest is not None:
                manifest["subject"] = {k: v for k, v in subject_manifest.descriptor().items()
                                       if k in ("mediaType", "digest", "size")}
            digest, noted = client.put_manifest(where, manifest, OCI_MANIFEST)
            fallback = False
            if subject_manifest is not None and not noted:
                self._list_referrer(client, where, subject_manifest.digest, {
                    "mediaType": OCI_MANIFEST, "digest": digest,
                    "size": len(json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()),
                    "artifactType": types[0], "annotations": {CREATED: created}})
                fallback = True
        except RegistryError as exc:
            message = str(exc)
            raise RegistryError(message if message.startswith("image ") else f"push {label}: {message}") from None
        return Pushed(f"{where.name}@{digest}", digest, where.tag,
                      f"{sref.name}@{subject_manifest.digest}" if subject_manifest is not None and sref else None,
                      fallback)

    def _list_referrer(self, client: RegistryClient, where: Reference, subject_digest: str,
                       descriptor: dict[str, Any]) -> None:
        """Add a referrer to the index at the subject's fallback tag (the referrers tag schema)."""
        tag_ref = where.at(tag=fallback_tag(subject_digest))
        existing = client.manifest(tag_ref, accept=(OCI_INDEX,))
        manifests = [m for m in (existing.document.get("manifests") if existing else None) or []
                     if m.get("digest") != descriptor["digest"]]
        manifests.append(descriptor)
        client.put_manifest(tag_ref, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}, OCI_INDEX)
