"""The same store suite on both backends: a SQLite file and a fresh PostgreSQL database (see tests/conftest.py)."""
from __future__ import annotations

import threading
import time

import pytest

from rainbow.store import ACCEPTED, PENDING, REGISTRATION_SECRET_HASH, SchemaVersionError, StoreError, open_store


@pytest.fixture
def store(store_url):
    s = open_store(store_url)
    yield s
    s.close()


def test_new_store_records_its_schema_version(store, store_url):
    from rainbow.store import postgresql, sqlite
    from rainbow.store.schema import load_schema

    latest = load_schema((postgresql if str(store_url).startswith("postgresql")
                          else sqlite).SCHEMA_FILE)["version"]
    assert store.schema_version() == latest
    store.close()
    again = open_store(store_url)
    assert again.schema_version() == latest
    again.close()


def test_register_once(store):
    assert store.register_cluster("red", "t1", "s1", '{"graph": {}}')
    assert not store.register_cluster("red", "t2", "s2", '{"other": 1}')
    record = store.get_cluster("red")
    assert (record.token_hash, record.secret_hash) == ("t1", "s1")
    assert store.get_graphs("red").graph == '{"graph": {}}'
    assert store.cluster_names() == ["red"]
    assert store.get_cluster("blue") is None


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
    assert store.count_jobs() == 5
    assert [j.id for j in store.list_jobs("red", "", ids[0], 2)] == ids[1:3]
    assert [j.state for j in store.list_jobs("red", PENDING)] == [PENDING] * 3
    assert store.delete_cluster("red")
    assert not store.delete_cluster("red")
    assert store.get_graphs("red") is None
    # Accepted jobs stay on record, retired; pending ones go with the cluster.
    assert store.list_jobs("red") == [] and store.count_jobs("red") == 0
    assert [row[0] for row in store.rows("jobs") if row[1] == "red"] == ids[:2]
    # A new cluster of the same name sees none of them, and ids are never reused.
    store.register_cluster("red", "t", "s", "{}")
    again = store.add_job("red", "again", "spec")
    assert again > ids[-1]
    assert [j.id for j in store.list_jobs("red")] == [again]


def test_accept_exactly_once_across_connections(store, store_url):
    store.register_cluster("red", "t", "s", "{}")
    ids = [store.add_job("red", "j", "spec") for _ in range(200)]
    others = [open_store(store_url, pool_size=2) for _ in range(4)]
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


def test_job_ids_unique_across_stores(store, store_url):
    """Two servers on one store submit at once: every id is handed out once."""
    store.register_cluster("red", "t", "s", "{}")
    others = [open_store(store_url, pool_size=2) for _ in range(3)]
    got: list[list[int]] = [[] for _ in others]

    def submit(k: int) -> None:
        for i in range(40):
            got[k].append(others[k].add_job("red", f"{k}-{i}", "spec"))

    threads = [threading.Thread(target=submit, args=(k,)) for k in range(len(others))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for other in others:
        other.close()
    ids = [i for ids in got for i in ids]
    assert len(set(ids)) == len(ids) == 120
    assert store.count_jobs("red", PENDING) == 120


def test_leased_receive_hands_each_job_to_one_caller(store, store_url):
    store.register_cluster("red", "t", "s", "{}")
    ids = [store.add_job("red", "j", "spec") for _ in range(60)]
    others = [open_store(store_url, pool_size=2) for _ in range(3)]
    got: list[list[int]] = [[] for _ in others]
    barrier = threading.Barrier(len(others))

    def receive(k: int) -> None:
        barrier.wait()
        while True:
            jobs = others[k].pending_jobs("red", 7, lease_seconds=60)
            if not jobs:
                return
            got[k] += [job.id for job in jobs]

    threads = [threading.Thread(target=receive, args=(k,)) for k in range(len(others))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for other in others:
        other.close()
    handed = [i for ids in got for i in ids]
    assert sorted(handed) == ids, "a job was handed out twice, or not at all"
    # Unleased receives still list every pending job; a lease that ran out hands the job out again.
    assert [j.id for j in store.pending_jobs("red")] == ids
    assert store.pending_jobs("red", lease_seconds=60) == []
    assert store.accept_jobs("red", ids[:10]) == ids[:10]
    # a tiny lease expires at once
    first = store.add_job("red", "late", "spec")
    assert [j.id for j in store.pending_jobs("red", lease_seconds=1e-6)] == [first]
    assert [j.id for j in store.pending_jobs("red", lease_seconds=60)] == [first]


def test_change_counters_and_revisions(store):
    start = store.changes()
    revision = store.register_cluster("red", "t", "s", "{}")
    after = store.changes()
    assert after.clusters > start.clusters and after.states == start.states
    assert store.cluster_revisions() == {"red": (revision, "t")}
    sub = store.add_subsystem("red", "io", "{}")
    assert sub > revision and store.cluster_revisions()["red"][0] == sub
    store.set_state("red", '{"a": 1}')
    moved = store.changes()
    assert moved.states > after.states
    assert store.states_since(after.states) == {"red": '{"a": 1}'}
    assert store.states_since(moved.states) == {}
    store.add_job("red", "j", "spec")
    assert store.changes() == moved, "submits must not move the counters"
    store.delete_cluster("red")
    assert store.changes().clusters > moved.clusters
    assert store.cluster_revisions() == {}


def test_settings_move_the_cluster_counter(store):
    assert store.get_setting(REGISTRATION_SECRET_HASH) is None
    before = store.changes().clusters
    store.set_setting(REGISTRATION_SECRET_HASH, "abc")
    store.set_setting(REGISTRATION_SECRET_HASH, "def")
    assert store.get_setting(REGISTRATION_SECRET_HASH) == "def"
    assert store.changes().clusters == before + 2


def test_leadership_is_held_by_one_store_at_a_time(store, store_url):
    other = open_store(store_url, pool_size=1)
    try:
        lead = store.try_leadership("expire-leases")
        assert lead is not None
        assert other.try_leadership("expire-leases") is None
        other_work = other.try_leadership("another-task")
        assert other_work is not None
        other_work.release()
        lead.release()
        taken = other.try_leadership("expire-leases")
        assert taken is not None
        assert store.try_leadership("expire-leases") is None
        taken.release()
    finally:
        other.close()


def test_newer_schema_is_refused(store, store_url):
    store.load_rows("meta", [])  # opens a write: the store works
    _set_version(store, 99)
    store.close()
    with pytest.raises(SchemaVersionError, match=r"schema version 99, newer than this rainbow's \d+: "):
        open_store(store_url)
    with pytest.raises(SchemaVersionError):
        open_store(store_url, upgrade=True)


def test_closed_store(store_url):
    s = open_store(store_url)
    s.close()
    with pytest.raises(StoreError):
        s.cluster_names()


def _set_version(store, version: int) -> None:
    if store.kind == "sqlite":
        with store._write() as db:
            db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
    else:
        store._write(lambda c: c.execute("UPDATE meta SET value = %s WHERE key = 'schema_version'",
                                         (str(version),)))


def test_a_dead_holder_frees_its_lock(store, store_url, tmp_path):
    """The process holding a lock is SIGKILLed: the lock is free at once, so another replica takes the work over."""
    import subprocess
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from rainbow.store import open_store; "
         "s = open_store(sys.argv[1]); lead = s.try_leadership('bid-windows'); "
         "print('held' if lead else 'refused', flush=True); time.sleep(120)", store_url],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert store.try_leadership("bid-windows") is None
        holder.kill()
        holder.wait()
        deadline = time.monotonic() + 10
        taken = store.try_leadership("bid-windows")
        while taken is None and time.monotonic() < deadline:  # PostgreSQL notices the closed session
            time.sleep(0.05)
            taken = store.try_leadership("bid-windows")
        assert taken is not None
        taken.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_job_ids_past_the_wire_format_are_refused(store):
    from rainbow.store import MAX_JOB_ID, JobIdsExhausted

    store.register_cluster("red", "t", "s", "{}")
    store.load_rows("jobs", [(MAX_JOB_ID, "red", "last", "spec", PENDING, 1.0, None, 0, None)])
    with pytest.raises(JobIdsExhausted):
        store.add_job("red", "one-too-many", "spec")
    assert [j.name for j in store.pending_jobs("red")] == ["last"]
    assert store.count_jobs("red") == 1


def test_active_jobs_count_pending_and_accepted_of_live_clusters(store):
    for name in ("red", "blue", "gone"):
        store.register_cluster(name, f"t-{name}", f"s-{name}", "{}")
    red = [store.add_job("red", f"r{i}", "spec") for i in range(3)]
    store.add_job("blue", "b", "spec")
    store.add_job("gone", "g", "spec")
    store.accept_jobs("red", red[:2])
    store.delete_cluster("gone")
    assert store.active_jobs(["red", "blue", "gone", "never"]) == {"red": 3, "blue": 1}
    assert store.active_jobs([]) == {}
