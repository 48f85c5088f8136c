"""Compatibility artifacts in OCI registries: image references, registry access, the artifact cache, and the
rules that find an image's artifact (a referrer, else compspec-go's `TAG-compspec` tag)."""
from __future__ import annotations

import functools
from typing import Any

from compspec import documents


CACHE_ENV = "COMPSPEC_CACHE_DIR"


class RegistryError(Exception):
    """Resolving or pushing through a registry failed; the message is one line that names the image."""


@functools.lru_cache(maxsize=None)
def settings() -> dict[str, Any]:
    """compspec/data/oci.yaml: media types, the naming convention, defaults and limits."""
    return documents.package_data("compspec", "oci.yaml")
