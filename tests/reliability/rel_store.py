"""Snapshots of the server's store (a SQLite file or a PostgreSQL database), read through a connection of our own.

After a refused request nothing may have changed in the store. Comparing `iterdump()` text (schema and every row,
in a stable order) from a separate read-only connection shows exactly what the server committed, without going
through the server's own code and without touching its connection or its WAL checkpoints. On PostgreSQL the same
comes from reading every table in one snapshot (REPEATABLE READ), ordered by every column.
"""
from __future__ import annotations

import difflib
import sqlite3
import time
from pathlib import Path


_PG_TABLES = ("meta", "changes", "clusters", "graphs", "states", "jobs", "assignments")


def _is_url(db: str | Path) -> bool:
    return "://" in str(db)


_PG_CONNECTIONS: dict = {}


def _pg_dump(url: str) -> str:
    """Every row, read in one snapshot; one connection per database is kept (the fuzz tests dump twice per input),
    and made again after PostgreSQL or the network dropped it."""
    import psycopg

    for attempt in range(2):
        conn = _PG_CONNECTIONS.get(url)
        if conn is None or conn.closed:
            conn = _PG_CONNECTIONS[url] = psycopg.connect(url, autocommit=True)
        lines: list[str] = []
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                for table in _PG_TABLES:
                    for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall():
                        lines.append(f"{table}: {row!r}")
            return "\n".join(lines)
        except psycopg.OperationalError:
            conn.close()
            if attempt:
                raise
    raise AssertionError("unreachable")


def store_dump(db_path: str | Path, retries: int = 50) -> str:
    """The committed content of the database as text; retried while the server holds a lock."""
    if _is_url(db_path):
        return _pg_dump(str(db_path))
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
    """Rows of one read-only query against the server's store (for counts and cross-checks); `?` placeholders."""
    if _is_url(db_path):
        import psycopg

        with psycopg.connect(str(db_path)) as conn:
            return [tuple(row) for row in conn.execute(sql.replace("?", "%s"), params).fetchall()]
    conn = sqlite3.connect(f"file:{Path(db_path)}?mode=ro", uri=True, timeout=5.0)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()
