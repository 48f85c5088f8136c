"""SQLite reads the change counters on a connection of its own: a request's cache check does not queue behind a
write in progress, and still sees every write committed before it."""
from __future__ import annotations

import threading

import pytest

from rainbow.store import StoreError, open_store


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "rainbow.db")
    yield s
    s.close()


def test_counters_are_read_while_a_write_holds_the_store(store):
    before = store.changes()
    holding, release = threading.Event(), threading.Event()

    def writer():
        with store._write() as db:  # a write in progress: the writer's lock is held until it commits
            holding.set()
            release.wait(10)
            db.execute("UPDATE changes SET clusters = clusters + 1 WHERE id = 1")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(10)
        seen: list = []
        reader = threading.Thread(target=lambda: seen.append(store.changes()))
        reader.start()
        reader.join(5)
        assert seen == [before], "the counters read waited for the writer"
    finally:
        release.set()
        thread.join(10)
    assert store.changes().clusters == before.clusters + 1  # committed: seen at once


def test_a_registration_is_counted_at_once(store):
    before = store.changes().clusters
    assert store.register_cluster("red", "t", "s", '{"graph": {}}')
    assert store.changes().clusters > before


def test_a_closed_store_refuses_the_counters_read(tmp_path):
    s = open_store(tmp_path / "rainbow.db")
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.changes()


def test_an_in_memory_store_reads_them_on_its_only_connection():
    s = open_store(":memory:")
    try:
        before = s.changes().clusters
        assert s.register_cluster("red", "t", "s", '{"graph": {}}')
        assert s.changes().clusters > before
    finally:
        s.close()
