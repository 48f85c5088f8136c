"""Create a compatibility artifact (CompatibilitySpec) from an artifact request and a node extraction.

The request maps each namespaced attribute to an extractor field; the artifact holds the values those fields have
on the node. Upstream writes "" for a field it cannot find, which later reads as a real (empty) requirement; here a
missing field is an error naming it, unless the caller allows it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from compspec import documents
from compspec.nodes import field_aliases, get_field, split_field
from compspec.schemas import FormatError, validate

ARTIFACT_KIND = "CompatibilitySpec"
# Fields under this extractor name never come from extraction: only from -a overrides.
CUSTOM_EXTRACTOR = "custom"


def load_request(path: str | Path) -> dict[str, Any]:
    """Read and check an artifact request YAML (or JSON) file."""
    return documents.read(path, schema="artifact-request")


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """`extractor.section.key=value` items → {field: value}; the last one for a field wins."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise FormatError(f"{item}: expected extractor.section.key=value")
        split_field(name.strip())
        out[name.strip()] = value
    return out


def requested_fields(request: Mapping[str, Any]) -> list[str]:
    """Every extractor field the request maps, in request order, without repeats."""
    seen: dict[str, None] = {}
    for compat in request.get("compatibilities", []):
        for value in compat.get("attributes", {}).values():
            seen.setdefault(str(value), None)
    return list(seen)


def needed_extractors(request: Mapping[str, Any], overrides: Mapping[str, str] = {}) -> list[str]:
    """The extractors to run so that every requested field not given by an override can be found."""
    names: set[str] = set()
    for name in requested_fields(request):
        if name in overrides:
            continue
        for candidate in [name, *field_aliases().get(name, ())]:
            extractor = split_field(candidate)[0]
            if extractor != CUSTOM_EXTRACTOR:
                names.add(extractor)
    return sorted(names)


def resolve(name: str, extraction: Mapping[str, Any], overrides: Mapping[str, str] = {}) -> str | None:
    """The value of a requested field: an override, else the extraction's (old-style names through aliases)."""
    if name in overrides:
        return overrides[name]
    if split_field(name)[0] == CUSTOM_EXTRACTOR:
        return None
    return get_field(extraction, name)


def create_artifact(request: Mapping[str, Any], extraction: Mapping[str, Any], overrides: Mapping[str, str] = {},
                    *, allow_missing: bool = False) -> tuple[dict[str, Any], list[str]]:
    """The CompatibilitySpec for `extraction`, and the fields that could not be found (written as "").

    Raises FormatError naming the missing fields unless `allow_missing`.
    """
    missing: list[str] = []
    compatibilities = []
    for compat in request["compatibilities"]:
        attributes = {}
        for attribute, name in compat["attributes"].items():
            value = resolve(str(name), extraction, overrides)
            if value is None:
                if name not in missing:
                    missing.append(str(name))
                value = ""
            attributes[attribute] = value
        compatibilities.append({
            "name": compat["name"],
            "version": str(compat.get("version", "0.0.0")),
            "attributes": dict(sorted(attributes.items())),
        })
    if missing and not allow_missing:
        raise FormatError(f"field{'s' if len(missing) > 1 else ''} not found on this node: {', '.join(missing)} "
                          "(set with -a FIELD=VALUE, or use --allow-missing)")
    metadata = request.get("metadata") or {}
    spec = {
        "version": str(request.get("version", "0.0.0")),
        "kind": ARTIFACT_KIND,
        "metadata": {
            "name": str(metadata.get("name", "")),
            "schemas": dict(sorted((metadata.get("schemas") or {}).items())),
        },
        "compatibilities": compatibilities,
    }
    validate("artifact", spec, "artifact")
    return spec, missing
