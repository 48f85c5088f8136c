"""Shared bits of the create/match tests: paths to the data, building extraction documents."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from compspec.cli import main

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"
NODES = DATA / "nodes"
MANIFESTS = DATA / "manifests"
UPSTREAM = HERE.parent / "data" / "upstream"


def run(*args: str):
    """Run the compspec command in-process; stdout and stderr stay apart."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def extraction(hostname: str | None = "n", cores: int | None = 4, sockets: int | None = 1,
               memtotal: str | None = "8388608 kB", gpus: dict | None = None, **sections) -> dict:
    """A small node extraction document (format A); `sections` are extra {"extractor.section": {...}}."""
    cpu = {}
    if cores is not None:
        cpu["cores"] = str(cores)
    if sockets is not None:
        cpu["sockets"] = str(sockets)
    results = {"system": {"sections": {"cpu": cpu, "os": {"name": "Ubuntu 22.04.3 LTS", "vendor": "ubuntu",
                                                           "version": "22.04", "release": "22.04.3"}}}}
    if memtotal is not None:
        results["system"]["sections"]["memory"] = {"memtotal": memtotal}
    if gpus is not None:
        results["gpu"] = {"sections": gpus}
    for name, values in sections.items():
        extractor, section = name.split(".")
        results.setdefault(extractor, {"sections": {}})["sections"][section] = values
    doc = {"results": results}
    if hostname is not None:
        doc["metadata"] = {"hostname": hostname, "extracted_at": "2026-01-01T00:00:00Z", "tool_version": "0.1.0",
                           "host_root": "/"}
    return doc


def write_nodes(directory: Path, docs: dict[str, dict]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, doc in docs.items():
        (directory / name).write_text(json.dumps(doc))
    return directory
