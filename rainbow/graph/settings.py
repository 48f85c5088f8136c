"""Matching data kept in rainbow/data/matching.yaml (identity properties, units)."""
from __future__ import annotations

from typing import Any

from compspec.documents import package_data


def matching_data() -> dict[str, Any]:
    return package_data("rainbow", "matching.yaml")


def identity_properties() -> frozenset[str]:
    return frozenset(matching_data()["identity_properties"])


def device_properties() -> frozenset[str]:
    return frozenset(matching_data()["device_properties"])


def byte_units() -> dict[str, int]:
    return dict(matching_data()["byte_units"])


def default_unit(vertex_type: str) -> str:
    return matching_data()["default_units"].get(vertex_type, "")


def identity_fields() -> frozenset[str]:
    return frozenset(matching_data()["identity_fields"])


def max_depth() -> int:
    return int(matching_data()["max_depth"])
