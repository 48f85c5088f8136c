"""Shared pieces of the end-to-end tests: the upstream sample data and a read-only look at the server's database."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "upstream"


def data_text(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def store_dump(db_path: str | Path) -> str:
    """Everything committed in the server's SQLite file, as SQL text, read through a separate read-only connection."""
    last: Exception | None = None
    for _ in range(50):
        try:
            conn = sqlite3.connect(f"file:{Path(db_path)}?mode=ro", uri=True, timeout=5.0)
            try:
                return "\n".join(conn.iterdump())
            finally:
                conn.close()
        except sqlite3.OperationalError as exc:
            last = exc
            time.sleep(0.05)
    raise AssertionError(f"cannot read {db_path}: {last}")


def rows(db_path: str | Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(f"file:{Path(db_path)}?mode=ro", uri=True, timeout=5.0)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()
