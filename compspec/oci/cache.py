"""The artifact cache: artifact blobs by digest, and what each image reference resolved to.

`blobs/sha256/<hex>` holds an artifact's bytes under their own digest, so a blob is fetched once whatever names
it, and a file that does not hash to its name is ignored. `refs/<sha256 of the reference>.json` remembers where a
reference's artifact was found. A reference by digest names content that never changes, so its record is used
without asking the registry; a reference by tag asks the registry (tags move) and uses its record only when the
registry cannot be reached. Files are written whole or not at all (compspec.outfile).
"""
from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from compspec import documents
from compspec.oci import CACHE_ENV
from compspec.outfile import OutputError, write_output
from compspec.schemas import FormatError



def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def default_dir(env: Mapping[str, str] | None = None) -> Path:
    """COMPSPEC_CACHE_DIR, else $XDG_CACHE_HOME/compspec/oci, else ~/.cache/compspec/oci."""
    env = os.environ if env is None else env
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV])
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "compspec" / "oci"


class ArtifactCache:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _blob_path(self, digest: str) -> Path:
        algorithm, _, hex_digits = digest.partition(":")
        return self.root / "blobs" / algorithm / hex_digits

    def _ref_path(self, reference: str) -> Path:
        return self.root / "refs" / f"{hashlib.sha256(reference.encode()).hexdigest()}.json"

    def blob(self, digest: str) -> bytes | None:
        """The cached bytes of `digest`, if present and intact."""
        try:
            data = self._blob_path(digest).read_bytes()
        except OSError:
            return None
        return data if sha256(data) == digest else None

    def put_blob(self, data: bytes) -> str:
        digest = sha256(data)
        if self.blob(digest) is None:
            self._write(self._blob_path(digest), data)
        return digest

    def record(self, reference: str) -> dict[str, Any] | None:
        """What `reference` resolved to last time, if remembered and its blob is still here."""
        path = self._ref_path(reference)
        if not path.is_file():
            return None
        try:
            entry = documents.read(path, syntax="json", kind=dict, schema="oci-cache-entry")
        except FormatError:
            return None  # a damaged record is a cache miss, never an error
        if entry["reference"] != reference or self.blob(entry["artifact_digest"]) is None:
            return None
        return entry

    def remember(self, entry: Mapping[str, Any]) -> None:
        entry = {**entry, "resolved": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        self._write(self._ref_path(entry["reference"]), json.dumps(entry, indent=2) + "\n")

    def _write(self, path: Path, data: bytes | str) -> None:
        """Only artifacts that passed their checks (JSON, so UTF-8 text) are cached: text keeps their bytes."""
        try:
            write_output(path, data.decode("utf-8") if isinstance(data, bytes) else data, make_parents=True)
        except (OSError, OutputError, UnicodeDecodeError):
            pass  # a cache that cannot be written only costs a fetch next time
