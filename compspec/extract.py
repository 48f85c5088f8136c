"""Run extractors on one node and produce its extraction document (format A of the node file).

The document is upstream compspec-go's shape, `{"results": {extractor: {"sections": {section: {key: str}}}}}`,
plus a `metadata` object upstream readers ignore (hostname, time, tool version, host root): the hostname is what
names the node in a cluster graph.

Reading a document (`load_extraction`) accepts files written by compspec-go too, including the old top-level
key `extractors`, and hands back the `results` shape.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

#: Extractors `compspec extract` runs without --name, each with its default sections (nfd: five of nine, kernel:
#: release and version only).
DEFAULT_EXTRACTORS = ("system", "kernel", "library", "nfd", "gpu")

_ITEM = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(?:\[([^\[\]]*)\])?\s*$")


class ExtractorSelectionError(ValueError):
    """An extractor or section name that does not exist; the message lists the valid names."""


@dataclass
class ExtractionResult:
    document: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def parse_selection(selection: Sequence[str] | None) -> list[tuple[str, list[str]]]:
    """Turn items like "system[cpu,os]" or "library" into (extractor, sections) pairs, checked and merged.

    A bare name means every section of that extractor; None means the default set (DEFAULT_EXTRACTORS with
    their default sections). Order follows first mention; sections keep the extractor's own order so the output
    does not depend on how the user spelled the request.
    """
    from compspec.extractors.registry import load_builtin

    registry = load_builtin()
    if selection is None:
        return [(name, registry[name].defaults()) for name in DEFAULT_EXTRACTORS]
    items = list(selection)
    if not items:
        raise ExtractorSelectionError("no extractor selected; valid: " + ", ".join(sorted(registry)))
    wanted: dict[str, set[str]] = {}
    for item in items:
        match = _ITEM.match(item)
        if match is None:
            raise ExtractorSelectionError(f"cannot read extractor selection {item!r}; expected NAME or NAME[section,...]")
        name, sections = match.group(1), match.group(2)
        plugin = registry.get(name)
        if plugin is None:
            raise ExtractorSelectionError(f"unknown extractor {name!r}; valid: " + ", ".join(sorted(registry)))
        chosen = wanted.setdefault(name, set())
        if sections is None:
            chosen.update(plugin.sections)
            continue
        names = [s.strip() for s in sections.split(",") if s.strip()]
        if not names:
            raise ExtractorSelectionError(f"empty section list for extractor {name!r}; valid: " + ", ".join(plugin.sections))
        for section in names:
            if section not in plugin.sections:
                raise ExtractorSelectionError(
                    f"unknown section {section!r} of extractor {name!r}; valid: " + ", ".join(plugin.sections)
                )
            chosen.add(section)
    return [(name, [s for s in registry[name].sections if s in chosen]) for name, chosen in wanted.items()]


def run_extractors(
    selection: Sequence[str] | None = None,
    *,
    host_root: str = "/",
    run_commands: bool | None = None,
) -> ExtractionResult:
    """Extract the selected sections from the node at `host_root`; a failing section becomes a warning.

    Raises ExtractorSelectionError for unknown names and ValueError when `host_root` is not a folder.
    """
    from compspec import __version__
    from compspec.extractors.host import Host
    from compspec.extractors.registry import REGISTRY, SectionUnavailable
    from compspec.extractors.system import hostname

    plan = parse_selection(selection)
    host = Host(host_root, run_commands=run_commands)
    if not os.path.isdir(host.root):
        raise ValueError(f"host root {host_root}: not a folder")
    warnings: list[str] = []
    results: dict[str, Any] = {}
    for name, sections in plan:
        out: dict[str, dict[str, str]] = {}
        for section in sections:
            func = REGISTRY[name].sections[section].func
            try:
                data = func(host)
            except SectionUnavailable as exc:
                warnings.append(f"{name}.{section}: {_flat(str(exc))}")
                data = {}
            except Exception as exc:  # one broken section must not cost the node's other facts
                warnings.append(f"{name}.{section}: {type(exc).__name__}: {_flat(str(exc))}")
                data = {}
            warnings.extend(f"{name}.{section}: {_flat(note)}" for note in host.notes)
            host.notes.clear()
            out[section] = {str(k): _one_line(v) for k, v in data.items()}
        results[name] = {"sections": out}
    document = {
        "results": results,
        "metadata": {
            "hostname": hostname(host) or "",
            "extracted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "tool_version": __version__,
            "host_root": host.root,
        },
    }
    return ExtractionResult(document, warnings)


def _one_line(value: Any) -> str:
    """Values are strings without surrounding whitespace (upstream kept trailing newlines)."""
    return str(value).strip()


def _flat(message: str) -> str:
    """A warning is one line, whatever the exception said."""
    return " ".join(message.split())


def load_extraction(path_or_dict: str | Path | dict[str, Any]) -> dict[str, Any]:
    """Read a node file (ours or compspec-go's), validate it, and return it in the `results` shape.

    Raises FormatError for unreadable files, bad JSON, or a document that is not a node extraction.
    """
    from compspec import documents

    if isinstance(path_or_dict, dict):
        document = documents.load(path_or_dict, "extraction", schema="node-extraction")
    else:
        document = documents.read(path_or_dict, syntax="json", kind=dict, schema="node-extraction")
    raw = document.get("results")
    if raw is None:
        raw = document["extractors"]
    # Go writes an empty section map as null and may leave out an empty `sections`.
    results = {
        name: {"sections": {sec: dict(keys or {}) for sec, keys in (data.get("sections") or {}).items()}}
        for name, data in raw.items()
    }
    normalised: dict[str, Any] = {"results": results}
    if "metadata" in document:
        normalised["metadata"] = document["metadata"]
    return normalised
