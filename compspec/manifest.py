"""Match manifests: container images listed with the compatibility artifacts that describe them.

`compspec match` keeps the images whose artifact asks for what the user (`--match`) or this node (`--host`)
offers. An entry's artifact is a local file (relative to the manifest) or a registry reference to the artifact; an
entry without one names an image whose artifact is found in its registry (compspec.oci).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from compspec import documents
from compspec.schemas import FormatError

# registry/path/name:tag or ...@sha256:digest, where the first component names a host (has a dot or a port, or
# is localhost): how an OCI reference differs from a relative file path.
_REGISTRY_REF = re.compile(
    r"^(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?::\d+)?/[a-z0-9._/-]+(?::[\w.-]+|@sha256:[0-9a-f]{64})$")


# Resolves an image (or artifact) reference to its CompatibilitySpec; raises FormatError naming the image.
Fetch = Callable[[str], dict]


@dataclass
class Image:
    name: str
    artifact: str | None
    spec: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)


def is_registry_reference(ref: str) -> bool:
    return bool(_REGISTRY_REF.match(ref)) or ref.startswith(("oci://", "docker://", "oras://"))


def load_manifest(path: str | Path, fetch: Fetch | None = None) -> list[Image]:
    """The manifest's images, each with its artifact read and checked; `fetch` reads those in registries."""
    path = Path(path)
    doc = documents.read(path, schema="match-manifest")
    images = []
    for entry in doc["images"]:
        image = Image(entry["name"], entry.get("artifact"))
        image.spec = load_artifact(image, path.parent, fetch)
        images.append(image)
    return images


def load_artifact(image: Image, base: Path, fetch: Fetch | None = None) -> dict[str, Any]:
    """An image's CompatibilitySpec: from a local file (relative to the manifest), else from its registry."""
    if image.artifact is None:
        if fetch is None:
            raise FormatError(f"image {image.name}: no artifact named, and registries are not consulted here")
        return fetch(image.name)
    target = Path(image.artifact)
    if not target.is_absolute():
        target = base / target
    if not target.is_file():
        if is_registry_reference(image.artifact):
            if fetch is None:
                raise FormatError(f"image {image.name}: artifact {image.artifact} is a registry reference, "
                                  "and registries are not consulted here")
            return fetch(image.artifact)
        raise FormatError(f"image {image.name}: artifact file {image.artifact} not found")
    return documents.read(target, f"image {image.name}: {image.artifact}", syntax="json", schema="artifact")


def parse_match(items: Sequence[str]) -> dict[str, str]:
    """`namespace.attribute=value` items → {key: value}."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or "." not in key:
            raise FormatError(f"--match {item}: expected a namespaced key and a value, e.g. "
                              "org.supercontainers.mpi.implementation=OpenMPI")
        out[key] = value.strip()
    return out


def attribute_value(spec: Mapping[str, Any], key: str) -> str | None:
    """The artifact's value for a fully namespaced key (namespace names contain dots: the longest that fits)."""
    best: tuple[int, str | None] = (-1, None)
    for compat in spec.get("compatibilities", []):
        namespace = compat["name"]
        if key.startswith(namespace + ".") and len(namespace) > best[0]:
            best = (len(namespace), compat["attributes"].get(key[len(namespace) + 1:]))
    return best[1]


def mismatches(spec: Mapping[str, Any], wanted: Mapping[str, str]) -> list[str]:
    """Why an artifact does not have the wanted values (compared case-insensitively); [] when it has them all."""
    reasons = []
    for key in sorted(wanted):
        value = attribute_value(spec, key)
        if value is None:
            reasons.append(f"{key} {wanted[key]}: artifact has none")
        elif value.casefold() != wanted[key].casefold():
            reasons.append(f"{key} {wanted[key]}: artifact has {value}")
    return reasons
