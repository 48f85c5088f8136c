"""Helpers of the store tests: a store of today's first schema, answers to compare before and after a move."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "store"
_LAUNCH = "import sys; from rainbow.cli import main; sys.exit(main())"


def make_v1_store(path: Path) -> None:
    """A SQLite store as rainbow made it before schema versions were recorded, with one cluster and two jobs."""
    conn = sqlite3.connect(path)
    conn.executescript((DATA / "schema-v1.sql").read_text(encoding="utf-8"))
    conn.execute("INSERT INTO clusters VALUES ('old', 'th', 'sh', 1.0)")
    conn.execute("INSERT INTO graphs VALUES ('old', '', '{\"graph\": {}}', 1.0)")
    conn.execute("INSERT INTO states VALUES ('old', '{\"a\": 1}', 1.0)")
    conn.execute("INSERT INTO jobs (cluster, name, jobspec, state, submitted) VALUES ('old', 'j1', 'x', 'pending', 2)")
    conn.execute("INSERT INTO jobs (cluster, name, jobspec, state, submitted, accepted) "
                 "VALUES ('old', 'j2', 'y', 'accepted', 2, 3)")
    conn.commit()
    conn.close()


def rainbow(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the `rainbow` command as a user does; returns the finished process (text output)."""
    import os

    full = {k: v for k, v in os.environ.items() if not k.startswith("RAINBOW_")}
    full.update(env or {})
    return subprocess.run([sys.executable, "-c", _LAUNCH, *args], capture_output=True, text=True, env=full,
                          timeout=120)
