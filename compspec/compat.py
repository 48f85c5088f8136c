"""Compatibility checks: does a node (its properties) meet the namespaced attributes an application asks for?

The namespace table (which node property an attribute reads, and how it compares) is data shipped in
`compspec/data/compat-mappings.yaml`, so a site can add its own namespaces with a YAML file in the shape of an
artifact request instead of changing code. Comparisons are small functions registered by name.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from compspec import documents
from compspec.extractors.plugins import Registry
from compspec.schemas import FormatError, validate
from compspec.versions import in_series

@dataclass(frozen=True)
class Shortfall:
    """What a node has instead of what is asked: `node {verb} {value}`, or `node has {missing}` without a value."""

    verb: str = "has"
    value: str | None = None
    missing: str = "none"

    def __str__(self) -> str:
        return f"node {self.verb} {self.value}" if self.value is not None else f"node has {self.missing}"


@dataclass(frozen=True)
class Unmet:
    """One requirement a node does not meet, kept structured so each caller words it once, where it is shown."""

    namespace: str
    attribute: str
    required: str
    shortfall: Shortfall

    def __str__(self) -> str:
        return f"{self.attribute} {self.required}: {self.shortfall}"


Comparison = Callable[[str | None, str], "Shortfall | None"]
_COMPARISONS: Registry[Comparison] = Registry("comparison")


def comparison(name: str) -> Callable[[Comparison], Comparison]:
    """Register a comparison under the name the mapping files use; it returns None when met, else the shortfall."""
    return _COMPARISONS.register(name)


@dataclass(frozen=True)
class Rule:
    """How one namespaced attribute is checked: the node property it reads and the comparison applied."""

    namespace: str
    attribute: str
    prop: str
    compare: str = "equal"
    informational: bool = False


@dataclass
class Mappings:
    """All known namespaces: `rules[namespace][attribute] -> Rule`."""

    rules: dict[str, dict[str, Rule]] = field(default_factory=dict)

    def rule(self, namespace: str, attribute: str) -> Rule:
        space = self.rules.get(namespace)
        if space is None:
            known = ", ".join(sorted(self.rules))
            raise FormatError(f"requires: unknown compatibility namespace {namespace!r} (known: {known})")
        found = space.get(attribute)
        if found is None:
            known = ", ".join(sorted(space))
            raise FormatError(f"requires.{namespace}: unknown attribute {attribute!r} (known: {known})")
        return found

    def merge(self, document: Mapping, what: str) -> None:
        validate("compat-mappings", document, what)
        for entry in document["compatibilities"]:
            space = self.rules.setdefault(entry["name"], {})
            comparisons = entry.get("comparisons", {})
            informational = set(entry.get("informational", ()))
            for attribute, prop in entry["attributes"].items():
                space[attribute] = Rule(entry["name"], attribute, prop, comparisons.get(attribute, "equal"),
                                        attribute in informational)


@functools.lru_cache(maxsize=1)
def _default_mappings() -> Mappings:
    mappings = Mappings()
    mappings.merge(documents.package_data("compspec", "compat-mappings.yaml"), "compat-mappings.yaml")
    return mappings


def load_mappings(extra: Sequence[str | Path] = ()) -> Mappings:
    """The shipped namespace table, then each user file in order (later entries override earlier ones)."""
    if not extra:
        return _default_mappings()
    base = _default_mappings()
    mappings = Mappings({ns: dict(rules) for ns, rules in base.rules.items()})
    for path in extra:
        mappings.merge(documents.read(path, schema="compat-mappings"), str(path))
    return mappings


def requirements_from_artifact(spec: dict, strict: bool = False) -> dict[str, dict[str, str]]:
    """A CompatibilitySpec as requirements; the build machine's cpu vendor/model only when `strict`."""
    validate("artifact", spec, "artifact")
    mappings = _default_mappings()
    out: dict[str, dict[str, str]] = {}
    for entry in spec["compatibilities"]:
        namespace = entry["name"]
        known = mappings.rules.get(namespace, {})
        for attribute, value in entry["attributes"].items():
            rule = known.get(attribute)
            if rule is not None and rule.informational and not strict:
                continue
            out.setdefault(namespace, {})[attribute] = value
    return out


def check(requires: Mapping[str, Mapping[str, str]], properties: Mapping[str, str],
          mappings: Mappings | None = None) -> list[str]:
    """Every unmet requirement as a short reason; an empty list means the node is compatible."""
    return [str(item) for item in unmet(requires, properties, mappings)]


def unmet(requires: Mapping[str, Mapping[str, str]], properties: Mapping[str, str],
          mappings: Mappings | None = None) -> list[Unmet]:
    """Every unmet requirement, structured; an empty list means the node is compatible."""
    mappings = mappings or _default_mappings()
    reasons: list[Unmet] = []
    for namespace in sorted(requires):
        attributes = requires[namespace]
        if not isinstance(attributes, Mapping):
            raise FormatError(f"requires.{namespace}: must be a mapping of attribute to value")
        for attribute in sorted(attributes):
            rule = mappings.rule(namespace, attribute)
            required = attributes[attribute]
            if not isinstance(required, str):
                raise FormatError(f"requires.{namespace}.{attribute}: must be a string (quote numbers)")
            compare = _COMPARISONS[rule.compare]
            found = compare(properties.get(rule.prop), required)
            if found is not None:
                reasons.append(Unmet(namespace, attribute, required, found))
    return reasons


def validate_requires(requires: Mapping[str, Mapping[str, str]], mappings: Mappings | None = None) -> None:
    """Raise FormatError for an unknown namespace/attribute or a value a comparison cannot understand."""
    check(requires, {}, mappings)


# ---------------------------------------------------------------------------------------------- comparisons


@comparison("equal")
def _equal(node: str | None, required: str) -> Shortfall | None:
    if node is None:
        return Shortfall()
    return None if node == required else Shortfall("has", node)


@comparison("casefold")
def _casefold(node: str | None, required: str) -> Shortfall | None:
    if node is None:
        return Shortfall()
    return None if node.casefold() == required.casefold() else Shortfall("has", node)


@comparison("version")
def _version(node: str | None, required: str) -> Shortfall | None:
    if node is None:
        return Shortfall()
    return None if version_satisfies(node, required) else Shortfall("has", node)


@comparison("archspec")
def _archspec(node: str | None, required: str) -> Shortfall | None:
    _check_target_name(required)
    if node is None:
        return Shortfall(missing="no cpu target")
    return None if target_satisfies(node, required) else Shortfall("is", node)


_YES = {"yes", "true", "1"}
_NO = {"no", "false", "0", ""}


@comparison("available")
def _available(node: str | None, required: str) -> Shortfall | None:
    wanted = required.strip().lower()
    if wanted in _NO:
        return None
    if wanted not in _YES:
        raise FormatError(f"requires: {required!r} is not yes or no")
    try:
        count = int(node) if node is not None else 0
    except ValueError:
        count = 0
    return None if count >= 1 else Shortfall()


# ---------------------------------------------------------------------------------------------- targets

_FAMILY_ALIASES = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64",
                   "ppc64le": "ppc64le", "ppc64": "ppc64", "riscv64": "riscv64", "s390x": "s390x", "i386": "x86",
                   "i686": "x86", "x86": "x86"}


@functools.lru_cache(maxsize=None)
def _targets():
    import archspec.cpu  # imported lazily: it reads its JSON database on import

    return archspec.cpu.TARGETS


def _check_target_name(name: str) -> None:
    if name.lower() in _FAMILY_ALIASES or name in _targets():
        return
    raise FormatError(f"requires: cpu.target {name!r} is not a known microarchitecture or family")


@functools.lru_cache(maxsize=4096)
def target_satisfies(node_target: str, required: str) -> bool:
    """The node's microarchitecture is the required one or a descendant; family names accept the whole family."""
    targets = _targets()
    node_family = _FAMILY_ALIASES.get(node_target.lower())
    node = targets.get(node_target)
    if node_family is None and node is not None:
        node_family = _FAMILY_ALIASES.get(str(node.family.name), str(node.family.name))
    wanted_family = _FAMILY_ALIASES.get(required.lower())
    if wanted_family is not None:
        return node_family == wanted_family
    wanted = targets.get(required)
    if wanted is None or node is None:
        return False
    return node == wanted or wanted in node.ancestors


# ---------------------------------------------------------------------------------------------- versions


def version_satisfies(node_version: str, required: str) -> bool:
    """The node's version is in the required series and not older (the rule is in compspec.versions)."""
    return in_series(node_version, required)
