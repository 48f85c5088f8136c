"""Snapshots of the server's SQLite file, read through a connection of our own.

After a refused request nothing may have changed in the store. Comparing `iterdump()` text (schema and every row,
in a stable order) from a separate read-only connection shows exactly what the server committed, without going
through the server's own code and without touching its connection or its WAL checkpoints.
"""
from __future__ import annotations

import difflib
import sqlite3
import time
from pathlib import Path


def store_dump(db_path: str | Path, retries: int = 50) -> str:
    """The committed content of the database as SQL text; retried while the server holds a lock."""
    uri = f"file:{Path(db_path)}?mode=ro"
    last: Exception | None = None
    for _ in range(retries):
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=5.0)
            try:
                conn.execute("BEGIN")
                text = "\n".join(conn.iterdump())
                conn.execute("COMMIT")
                return text
            finally:
                conn.close()
        except sqlite3.OperationalError as exc:
            last = exc
            time.sleep(0.05)
    raise AssertionError(f"could not read {db_path}: {last}")


def dump_diff(before: str, after: str, limit: int = 20) -> str:
    """The first lines of a unified diff between two dumps, for an assertion message."""
    lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), "before", "after", lineterm="", n=0))
    return "\n".join(lines[:limit])


def table_rows(db_path: str | Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of one read-only query against the server's file (for counts and cross-checks)."""
    conn = sqlite3.connect(f"file:{Path(db_path)}?mode=ro", uri=True, timeout=5.0)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()
