"""A clone anywhere runs the suite: nothing in the tree reads a folder beside the repository."""
from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", "build", "dist"}
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".json", ".sh", ".toml", ".cfg", ".txt", ""}
# A path that climbs out of the repository into the sibling data folder, written as a string or with pathlib.
OUTSIDE = re.compile(r"\.\./shared\b|[\"']\.\.[\"']\s*/\s*[\"']shared[\"']")


def _files():
    for path in REPO.rglob("*"):
        if any(part in SKIP_DIRS or part.endswith(".egg-info") for part in path.relative_to(REPO).parts):
            continue
        if path.is_file() and path.suffix in TEXT_SUFFIXES:
            yield path


def test_nothing_reads_beside_the_repository():
    found = []
    for path in _files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_upstream_samples_are_in_the_repository():
    upstream = REPO / "tests" / "data" / "upstream"
    sources = (upstream / "SOURCES.md").read_text()
    for sample in sorted(p for p in upstream.rglob("*") if p.is_file() and p.name != "SOURCES.md"):
        listed = sample.name if sample.parent == upstream else f"{sample.parent.name}/*.json"
        assert listed in sources, f"{sample.relative_to(upstream)} is not listed in SOURCES.md"
