"""Schema versions: today's first schema is migrated by `rainbow db upgrade`, and nothing runs on a store it does
not understand (an older one without the upgrade, a newer one at all), with a one-line reason."""
from __future__ import annotations

import sqlite3

import pytest

from rainbow.store import SchemaVersionError, open_store
from rainbow.store.schema import load_schema
from rainbow.store.sqlite import SCHEMA_FILE

from .storeutil import make_v1_store, rainbow

from serverutil import ServerError, start_server  # noqa: E402

LATEST = load_schema(SCHEMA_FILE)["version"]


def test_v1_store_refused_until_upgraded_then_keeps_everything(tmp_path):
    db = tmp_path / "old.db"
    make_v1_store(db)
    with pytest.raises(SchemaVersionError, match=rf"schema version 1, older than this rainbow's {LATEST}: run "
                                                 r"`rainbow db upgrade --db .*old.db` first"):
        open_store(db)
    refused = rainbow("db", "version", "--db", str(db))
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr

    done = rainbow("db", "upgrade", "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert f"upgraded to schema version {LATEST}" in done.stdout
    again = rainbow("db", "upgrade", "--db", str(db))
    assert f"already at schema version {LATEST}" in again.stdout

    store = open_store(db)
    try:
        assert store.schema_version() == LATEST
        assert store.cluster_names() == ["old"]
        assert store.get_cluster("old").token_hash == "th"
        assert store.get_graphs("old").graph == '{"graph": {}}'
        assert store.get_states(["old"]) == {"old": '{"a": 1}'}
        assert [(j.name, j.state) for j in store.list_jobs("old")] == [("j1", "pending"), ("j2", "accepted")]
        # What the new version adds works on the migrated store.
        before = store.changes()
        assert store.add_subsystem("old", "io", "{}") > 0
        assert store.changes().clusters > before.clusters
        assert [j.name for j in store.pending_jobs("old", lease_seconds=30)] == ["j1"]
        assert store.pending_jobs("old", lease_seconds=30) == []
        assert store.add_job("old", "j3", "z") == 3
    finally:
        store.close()


def test_serve_refuses_an_old_store_in_one_line(tmp_path):
    db = tmp_path / "old.db"
    make_v1_store(db)
    with pytest.raises(ServerError) as err:
        start_server(tmp_path / "srv", db=db)
    assert f"older than this rainbow's {LATEST}: run `rainbow db upgrade" in str(err.value)
    assert "Traceback" not in str(err.value)


def test_serve_refuses_a_newer_store(store_url, tmp_path):
    store = open_store(store_url)
    store.set_setting("schema_version", "7")
    store.close()
    with pytest.raises(ServerError) as err:
        start_server(tmp_path / "srv", db=store_url)
    assert f"schema version 7, newer than this rainbow's {LATEST}: run a newer rainbow" in str(err.value)
    done = rainbow("db", "upgrade", "--db", store_url)
    assert done.returncode == 1 and "newer" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_new_sqlite_files_are_private(tmp_path):
    db = tmp_path / "private.db"
    store = open_store(db)
    try:
        store.register_cluster("red", "t", "s", "{}")  # the -wal and -shm files exist while the store is open
        modes = {p.name: oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir() if p.name.startswith("private")}
    finally:
        store.close()
    assert modes == {"private.db": "0o600", "private.db-wal": "0o600", "private.db-shm": "0o600"}


def test_sqlite_url_and_unknown_scheme(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/u.db")
    assert store.kind == "sqlite" and (tmp_path / "u.db").exists()
    store.close()
    with pytest.raises(Exception, match="unsupported store location"):
        open_store("mysql://x/y")
    conn = sqlite3.connect(tmp_path / "u.db")
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(LATEST),)
    conn.close()
