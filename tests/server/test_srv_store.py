"""What only the SQLite store has: WAL and its schema, rollback of a failed transaction, a closed or bad location.

What every store must do (registration, cascades, exactly-once acceptance, literal SQL) is tests/store/test_store_suite.py,
run on SQLite and PostgreSQL alike."""
from __future__ import annotations

import sqlite3

import pytest

from rainbow.store import StoreError, open_store


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "store.db")
    yield s
    s.close()


def test_wal_mode_and_schema(tmp_path, store):
    conn = sqlite3.connect(tmp_path / "store.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"clusters", "graphs", "states", "jobs"} <= tables
    conn.close()


def test_failed_transaction_leaves_nothing(store, monkeypatch):
    store.register_cluster("red", "t", "s", "{}")
    with pytest.raises(StoreError):
        with store._write() as db:
            db.execute("INSERT INTO clusters (name, token_hash, secret_hash, created) VALUES ('x', 't', 's', 0)")
            db.execute("INSERT INTO clusters (name, token_hash, secret_hash, created) VALUES ('x', 't', 's', 0)")
    assert store.cluster_names() == ["red"]


def test_closed_store_and_bad_location(tmp_path):
    s = open_store(tmp_path / "a.db")
    s.close()
    with pytest.raises(StoreError):
        s.cluster_names()
    with pytest.raises(StoreError):
        open_store("mysql://somewhere/db")
    with pytest.raises(StoreError):
        open_store(tmp_path / "missing-dir" / "a.db")
