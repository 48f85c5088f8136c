"""What the operator views read from the store, on both backends: assignments written with their job, a job by id,
jobs by state with the oldest pending one, and when each cluster last reported."""
from __future__ import annotations

import time

import pytest

from rainbow.store import ACCEPTED, PENDING, Assignment, open_store
from rainbow.store.base import MAX_OTHERS, MAX_REASON_CHARS


@pytest.fixture
def store(store_url):
    s = open_store(store_url)
    yield s
    s.close()


def test_assignment_is_written_with_its_job(store):
    store.register_cluster("red", "t", "s", "{}")
    store.register_cluster("blue", "t", "s", "{}")
    why = Assignment("random", "random: chosen among 1 eligible of 1 that fit", {"blue": "needs 4 gpu, has 0"})
    first = store.add_job("red", "one", "spec", assignment=why)
    second = store.add_job("red", "two", "spec")  # a job without an assignment is still a job
    third = store.add_job("red", "three", "spec", assignment=Assignment("constraint", "priority 1", {}))
    assert store.get_job(second).name == "two" and store.get_assignment(second) is None
    got = store.get_assignment(first)
    assert (got.job, got.name, got.cluster, got.state, got.algorithm) == (first, "one", "red", PENDING, "random")
    assert got.others == {"blue": "needs 4 gpu, has 0"} and got.reason.startswith("random:")
    assert [a.job for a in store.latest_assignments(10)] == [third, first]
    assert [a.job for a in store.latest_assignments(1)] == [third]
    store.accept_jobs("red", [first])
    assert store.get_assignment(first).state == ACCEPTED
    assert store.get_job(999_999) is None and store.get_assignment(999_999) is None


def test_no_assignment_without_its_job(store):
    assert store.add_job("gone", "j", "spec", assignment=Assignment("random", "r", {})) is None
    assert store.latest_assignments() == []


def test_reasons_are_bounded(store):
    store.register_cluster("red", "t", "s", "{}")
    many = {f"c{i:03d}": "x" * (MAX_REASON_CHARS * 2) for i in range(MAX_OTHERS * 2)}
    job = store.add_job("red", "j", "spec", assignment=Assignment("random", "r", many))
    others = store.get_assignment(job).others
    assert len(others) == MAX_OTHERS and all(len(v) == MAX_REASON_CHARS for v in others.values())


def test_deleting_a_cluster_drops_its_pending_assignments(store):
    store.register_cluster("red", "t", "s", "{}")
    kept = store.add_job("red", "kept", "spec", assignment=Assignment("random", "r", {}))
    dropped = store.add_job("red", "dropped", "spec", assignment=Assignment("random", "r", {}))
    store.accept_jobs("red", [kept])
    store.delete_cluster("red")
    assert store.get_assignment(dropped) is None
    assert store.get_assignment(kept).state == ACCEPTED  # the record of where an accepted job went stays
    assert store.get_job(kept).cluster == "red"


def test_job_summary_and_state_times(store):
    assert store.job_summary().by_state == {} and store.job_summary().oldest_pending is None
    store.register_cluster("red", "t", "s", "{}")
    store.register_cluster("blue", "t", "s", "{}")
    before = time.time()
    a = store.add_job("red", "a", "spec")
    store.add_job("red", "b", "spec")
    store.accept_jobs("red", [a])
    summary = store.job_summary()
    assert summary.by_state == {PENDING: 1, ACCEPTED: 1}
    assert summary.oldest_pending is not None and summary.oldest_pending >= before - 1
    assert store.state_times() == {}
    store.set_state("blue", '{"nodes_free": 3}')
    times = store.state_times()
    assert list(times) == ["blue"] and times["blue"] >= before - 1
