"""The SQLite store: atomic registration, cascades, exactly-once acceptance, paging, literal (never executed) SQL."""
from __future__ import annotations

import sqlite3
import threading

import pytest

from rainbow.store import ACCEPTED, PENDING, StoreError, open_store


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


def test_register_once(store):
    assert store.register_cluster("red", "t1", "s1", '{"graph": {}}')
    assert not store.register_cluster("red", "t2", "s2", '{"other": 1}')
    record = store.get_cluster("red")
    assert (record.token_hash, record.secret_hash) == ("t1", "s1")
    assert store.get_graphs("red").graph == '{"graph": {}}'
    assert store.cluster_names() == ["red"]


def test_names_are_data_not_sql(store):
    evil = "x'); DROP TABLE clusters; --"
    assert store.register_cluster(evil, "t", "s", "{}")
    assert store.cluster_names() == [evil]
    assert set(store.get_clusters([evil, "nope"])) == {evil}


def test_subsystems(store):
    store.register_cluster("red", "t", "s", "{}")
    assert store.add_subsystem("red", "io", '{"io": 1}')
    assert not store.add_subsystem("red", "io", '{"io": 2}')
    assert not store.add_subsystem("blue", "io", "{}")
    assert dict(store.get_graphs("red").subsystems) == {"io": '{"io": 1}'}
    assert store.delete_subsystem("red", "io")
    assert not store.delete_subsystem("red", "io")
    assert dict(store.get_graphs("red").subsystems) == {}


def test_state_replaced(store):
    store.register_cluster("red", "t", "s", "{}")
    assert store.set_state("red", '{"a": 1}')
    assert store.set_state("red", '{"b": 2}')
    assert not store.set_state("blue", "{}")
    assert store.get_states(["red", "blue"]) == {"red": '{"b": 2}'}


def test_jobs_queue_accept_and_delete(store):
    store.register_cluster("red", "t", "s", "{}")
    store.register_cluster("blue", "t", "s", "{}")
    ids = [store.add_job("red", f"j{i}", "spec") for i in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5
    assert store.add_job("green", "j", "spec") is None
    assert [j.id for j in store.pending_jobs("red", 2)] == ids[:2]
    assert [j.id for j in store.pending_jobs("red")] == ids
    assert store.accept_jobs("blue", ids) == []
    assert store.accept_jobs("red", [ids[0], ids[1], 999999]) == ids[:2]
    assert store.accept_jobs("red", [ids[0]]) == []
    assert [j.id for j in store.pending_jobs("red")] == ids[2:]
    assert store.count_jobs("red", ACCEPTED) == 2
    assert [j.id for j in store.list_jobs("red", "", ids[0], 2)] == ids[1:3]
    assert [j.state for j in store.list_jobs("red", PENDING)] == [PENDING] * 3
    assert store.delete_cluster("red")
    assert not store.delete_cluster("red")
    assert store.get_graphs("red") is None
    # Accepted jobs stay on record, retired; pending ones go with the cluster.
    assert store.list_jobs("red") == [] and store.count_jobs("red") == 0
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT id FROM jobs WHERE cluster = 'red' ORDER BY id").fetchall() == [(i,) for i in ids[:2]]
    conn.close()
    # A new cluster of the same name sees none of them, and ids are never reused.
    store.register_cluster("red", "t", "s", "{}")
    again = store.add_job("red", "again", "spec")
    assert again > ids[-1]
    assert [j.id for j in store.list_jobs("red")] == [again]


def test_accept_exactly_once_across_connections(tmp_path, store):
    store.register_cluster("red", "t", "s", "{}")
    ids = [store.add_job("red", "j", "spec") for _ in range(200)]
    others = [open_store(tmp_path / "store.db") for _ in range(4)]
    results: list[list[int]] = [[] for _ in others]
    barrier = threading.Barrier(len(others))

    def take(k: int) -> None:
        barrier.wait()
        for i in range(0, len(ids), 10):
            results[k] += others[k].accept_jobs("red", ids[i:i + 10])

    threads = [threading.Thread(target=take, args=(k,)) for k in range(len(others))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for other in others:
        other.close()
    taken = [i for r in results for i in r]
    assert sorted(taken) == ids


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
