"""Two schedulers on one store, as two replicas are: what one changes, the other answers by on its very next call,
with warm caches on both sides (on each backend)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from rainbow.jobspec import simple_jobspec
from rainbow.server.errors import FailedPrecondition, NotFound, PermissionDenied
from rainbow.server.scheduler import SUCCESS, Scheduler
from rainbow.store import open_store

DATA = Path(__file__).resolve().parents[1] / "data" / "upstream"
GRAPH = (DATA / "cluster-nodes.json").read_text()
IO = (DATA / "cluster-io-subsystem.json").read_text()
IO_JOB = (DATA / "jobspec-io.yaml").read_text()
SMALL = json.dumps(simple_jobspec(1, 1, ["x"]))


@pytest.fixture
def pair(store_url):
    first = Scheduler(open_store(store_url, pool_size=4), registration_secret="reg")
    second = Scheduler(open_store(store_url, pool_size=4), registration_secret="reg")
    first.rebuild()
    second.rebuild()
    yield first, second
    first.store.close()
    second.store.close()


def test_registration_subsystem_state_and_deletion_are_seen_at_once(pair):
    first, second = pair
    red = first.register("red", "reg", GRAPH)
    blue = first.register("blue", "reg", GRAPH)
    tokens = [("red", red.token), ("blue", blue.token)]
    # The second replica answers for clusters the first registered, and keeps the answers in its caches.
    assert second.submit(SMALL, tokens, satisfy_only=True).clusters == ["blue", "red"]
    assert second.satisfy(SMALL).total_clusters == 2
    assert second.submit(IO_JOB, tokens, satisfy_only=True).clusters == []

    assert first.register_subsystem("red", red.secret, "io", IO) == SUCCESS
    assert second.submit(IO_JOB, tokens, satisfy_only=True).clusters == ["red"]

    first.update_state("red", red.secret, json.dumps({"nodes_free": 0}))
    first.update_state("blue", blue.secret, json.dumps({"nodes_free": 3}))
    priorities = '- priority: 1\n  steps:\n  - filter: "nodes_free > 0"\n  - select: first\n'
    chosen = second.submit(SMALL, tokens, algorithm="constraint", options={"priorities": priorities})
    assert chosen.cluster == "blue"

    assert first.delete("red", red.secret) == SUCCESS
    with pytest.raises(PermissionDenied):
        second.submit(SMALL, [("red", red.token)])
    with pytest.raises((PermissionDenied, NotFound)):
        second.receive("red", red.secret)
    assert second.satisfy(SMALL).total_clusters == 1

    # Registered again under the same name: the old token is refused everywhere, the new one works everywhere.
    again = first.register("red", "reg", GRAPH)
    with pytest.raises(PermissionDenied):
        second.submit(SMALL, [("red", red.token)])
    assert second.submit(SMALL, [("red", again.token)]).cluster == "red"
    with pytest.raises(FailedPrecondition):  # the new cluster has no io subsystem
        second.submit(IO_JOB, [("red", again.token)])


def test_a_rotated_registration_secret_is_used_by_every_replica(pair):
    from rainbow.server.registration import settle_registration_secret

    first, second = pair
    assert first.register("one", "reg", GRAPH).status == SUCCESS
    settle_registration_secret(first.store, "new-secret", rotate=True)
    with pytest.raises(PermissionDenied):
        second.register("two", "reg", GRAPH)
    assert second.register("two", "new-secret", GRAPH).status == SUCCESS


def test_templates_and_nodes_in_use_are_seen_by_the_other_replica(pair):
    from rainbow.graph.generate import make_graph

    first, second = pair
    cloud = first.register("cloud", "reg", json.dumps(make_graph("cloud", [])))
    tokens = [("cloud", cloud.token)]
    four = json.dumps(simple_jobspec(4, 32, ["x"]))
    assert second.submit(four, tokens, satisfy_only=True).clusters == []  # warm cache, no nodes yet
    templates = {"templates": [{"name": "c5", "instance_type": "c5", "cores": 8, "max_nodes": 4,
                                "cost_per_hour": 0.5, "startup_seconds": 60}]}
    assert first.register_subsystem("cloud", cloud.secret, "templates", json.dumps(templates)) == SUCCESS
    assert second.submit(four, tokens, satisfy_only=True).clusters == ["cloud"]
    first.update_state("cloud", cloud.secret, json.dumps({"templates.c5.in_use": 1}))
    refused = second.submit(four, tokens, satisfy_only=True)
    assert refused.clusters == [] and refused.reasons["cloud"] == "template c5: 4 nodes needed, max_nodes 4, 1 in use"
    three = json.dumps(simple_jobspec(3, 24, ["x"]))
    chosen = second.submit(three, tokens, algorithm="earliest-start")
    assert chosen.cluster == "cloud" and "ETA 60 s (with 60 s to start template nodes)" in chosen.reasons["cloud"]
    # a graph replaced in place keeps the templates and the nodes in use, on both replicas
    from rainbow.graph.generate import NodeKind
    from rainbow.server.access import Access

    Access(first).update_graph("cloud", cloud.secret,
                               json.dumps(make_graph("cloud", [NodeKind(count=1, cores_per_socket=8)])))
    for replica in (first, second):
        assert replica.submit(four, tokens, satisfy_only=True).clusters == ["cloud"]
        assert replica.submit(json.dumps(simple_jobspec(5, 40, ["x"])), tokens, satisfy_only=True).reasons["cloud"] \
            == "template c5: 4 nodes needed, max_nodes 4, 1 in use"
