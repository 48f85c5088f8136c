"""What ReceiveJobs carries is written by the database: the same five keys, the same values, for any text a job
may hold, on both stores and with or without a lease."""
from __future__ import annotations

import json

import pytest

from rainbow.store import open_store


@pytest.fixture
def store(store_url):
    s = open_store(store_url)
    yield s
    s.close()


ODD = ['version: 1\nname: "q\\"uote"\n', "tab\there, newline\n, backslash \\ and unicode: é ü 漢字 🚀", "\u0001\u001f"]


@pytest.mark.parametrize("lease", [0.0, 30.0])
def test_job_texts_are_the_jobs_as_json(store, lease):
    store.register_cluster("red", "t", "s", "{}")
    ids = [store.add_job("red", f"name {i} \"x\"", text) for i, text in enumerate(ODD)]
    texts = store.pending_job_texts("red", lease_seconds=lease)
    assert [jobid for jobid, _ in texts] == ids
    for (jobid, text), spec, i in zip(texts, ODD, range(len(ODD))):
        assert json.loads(text) == {"id": jobid, "cluster": "red", "name": f"name {i} \"x\"", "jobspec": spec,
                                    "command": ""}
        assert list(json.loads(text)) == ["id", "cluster", "name", "jobspec", "command"]
    if lease:
        assert store.pending_job_texts("red", lease_seconds=lease) == []  # leased to the first caller
    assert [j for j, _ in store.pending_job_texts("red", limit=2)] == ids[:2]
