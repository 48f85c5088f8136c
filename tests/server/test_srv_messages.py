"""What a client reads for a bad document names the request field and the document's field once."""
from __future__ import annotations

import json

import pytest

from rainbow.jobspec import simple_jobspec
from rainbow.server.errors import InvalidArgument
from rainbow.server.scheduler import Scheduler
from rainbow.store import open_store


@pytest.fixture
def scheduler(tmp_path):
    s = Scheduler(open_store(tmp_path / "s.db"), registration_secret="reg")
    yield s
    s.store.close()


def test_a_graph_without_graph_names_each_part_once(scheduler):
    with pytest.raises(InvalidArgument) as caught:
        scheduler.register("red", "reg", json.dumps({"name": "x"}))
    assert str(caught.value) == "nodes: graph: missing or not an object"


def test_a_bad_jobspec_is_named_once(scheduler):
    doc = simple_jobspec(1, 1, ["x"])
    doc["resources"]["compute"]["cont"] = 1
    with pytest.raises(InvalidArgument) as caught:
        scheduler.submit(json.dumps(doc), [])
    message = str(caught.value)
    assert message.startswith("jobspec: resources.compute: ") and "jobspec: jobspec" not in message
