"""The whole flow against a real `rainbow serve` with the upstream sample data: register, subsystems, state,
submit (matched and selected on the server), receive, accept, list, delete."""
from __future__ import annotations

import json
import threading

import grpc
import pytest
import yaml
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from rainbow.client import FailedPrecondition, PermissionDenied, RainbowClient
from rainbow.jobspec import simple_jobspec
from rainbow.protos import memory_pb2, memory_pb2_grpc, rainbow_pb2, rainbow_pb2_grpc
from serverutil import DEFAULT_SECRET

from .e2e_util import data_text, rows

JOB_KEYS = {"id", "cluster", "name", "jobspec", "command"}


@pytest.fixture
def client(rainbow_server):
    with RainbowClient(rainbow_server.address, timeout=20) as c:
        yield c


def _register(client, name="keebler"):
    result = client.register(name, DEFAULT_SECRET, data_text("cluster-nodes.json"))
    assert result.status == "REGISTER_SUCCESS"
    assert result.token and result.secret and result.token != result.secret
    return result


def test_full_flow(rainbow_server, client):
    assert client.health() == "SERVING"
    keebler = _register(client)
    tokens = [("keebler", keebler.token)]

    # Registering the same name again answers EXISTS with no credentials.
    again = client.register("keebler", DEFAULT_SECRET, data_text("cluster-nodes.json"))
    assert (again.status, again.token, again.secret) == ("REGISTER_EXISTS", "", "")

    # The io job needs the io subsystem: before it is registered, nothing fits and the reason says why.
    with pytest.raises(FailedPrecondition) as denied:
        client.submit(data_text("jobspec-io.yaml"), tokens)
    assert "keebler" in denied.value.details
    assert rows(rainbow_server.db_path, "SELECT COUNT(*) FROM jobs") == [(0,)]
    assert client.register_subsystem("keebler", keebler.secret, "io",
                                      data_text("cluster-io-subsystem.json")) == "REGISTER_SUCCESS"
    assert client.register_subsystem("keebler", keebler.secret, "io",
                                      data_text("cluster-io-subsystem.json")) == "REGISTER_EXISTS"
    io_job = client.submit(data_text("jobspec-io.yaml"), tokens, name="io-job")
    assert (io_job.status, io_job.cluster) == ("SUBMIT_SUCCESS", "keebler")
    assert io_job.jobid > 0

    # Simple jobs: 2 nodes x 12 cores fit, 4 nodes do not; satisfy_only stores nothing.
    fits = client.submit(simple_jobspec(2, 24, ["hostname"]), tokens)
    assert fits.cluster == "keebler" and fits.jobid > io_job.jobid
    probe = client.submit(simple_jobspec(4, 4, ["hostname"]), tokens, satisfy_only=True)
    assert probe.status == "SUBMIT_SUCCESS" and probe.clusters == [] and "keebler" in probe.reasons
    with pytest.raises(FailedPrecondition) as too_big:
        client.submit(simple_jobspec(4, 4, ["hostname"]), tokens)
    assert "keebler:" in too_big.value.details
    assert client.submit(data_text("jobspec-constraint.yaml"), tokens, satisfy_only=True).clusters == ["keebler"]

    # State feeds constraint selection.
    assert client.update_state("keebler", keebler.secret, data_text("cluster-state.json")) == "UPDATE_STATE_SUCCESS"
    # Upstream's Python client sends a state file's text JSON-encoded once more; the object inside is taken.
    assert client.update_state("keebler", keebler.secret,
                               json.dumps(data_text("cluster-state.json"))) == "UPDATE_STATE_SUCCESS"
    priorities = yaml.safe_load(data_text("rainbow-selection-config.yaml"))
    options = priorities["scheduler"]["algorithms"]["selection"]["options"]
    constrained = client.submit(data_text("jobspec-constraint.yaml"), tokens, select_algorithm="constraint",
                                select_options=options)
    assert constrained.cluster == "keebler"

    # Satisfy (the upstream clients' first call) sees the registered clusters.
    satisfied = client.satisfy(json.dumps(yaml.safe_load(data_text("jobspec-constraint.yaml"))))
    assert (satisfied.clusters, satisfied.total_clusters, satisfied.total_matches) == (["keebler"], 1, 1)

    # The cluster receives its jobs in id order, as the protocol's job JSON, and accepts them once.
    queued = [io_job.jobid, fits.jobid, constrained.jobid]
    with grpc.insecure_channel(rainbow_server.address) as channel:
        raw = rainbow_pb2_grpc.RainbowSchedulerStub(channel).ReceiveJobs(
            rainbow_pb2.ReceiveJobsRequest(cluster="keebler", secret=keebler.secret, maxJobs=0))
    assert sorted(raw.jobs) == queued
    first = json.loads(raw.jobs[io_job.jobid])
    assert set(first) >= JOB_KEYS
    assert first["id"] == io_job.jobid and first["cluster"] == "keebler" and first["name"] == "io-job"
    assert first["jobspec"] == data_text("jobspec-io.yaml")
    assert [j.id for j in client.receive("keebler", keebler.secret, max_jobs=2)] == queued[:2]
    assert client.accept("keebler", keebler.secret, queued[:2]) == "RESULT_TYPE_SUCCESS"
    assert client.accept("keebler", keebler.secret, queued) == "RESULT_TYPE_PARTIAL"
    assert client.receive("keebler", keebler.secret) == []
    listed = list(client.iter_jobs("keebler", keebler.secret, limit=2))
    assert [(j.id, j.state) for j in listed] == [(i, "accepted") for i in queued]
    assert all(j.accepted is not None and j.submitted is not None for j in listed)
    assert [j.id for j in client.list_jobs("keebler", keebler.secret, state="pending").jobs] == []

    # Subsystem and cluster deletion.
    assert client.delete_subsystem("keebler", keebler.secret, "io") == "DELETE_SUCCESS"
    assert client.delete_subsystem("keebler", keebler.secret, "io") == "DELETE_NO_EXISTS"
    assert client.submit(data_text("jobspec-io.yaml"), tokens, satisfy_only=True).clusters == []
    client.submit(simple_jobspec(1, 1, ["true"]), tokens)
    assert client.delete("keebler", keebler.secret) == "DELETE_SUCCESS"
    with pytest.raises(PermissionDenied):  # a cluster that is gone is an error, answered as a wrong secret is
        client.delete("keebler", keebler.secret)
    assert rows(rainbow_server.db_path, "SELECT state, COUNT(*) FROM jobs GROUP BY state") == [("accepted", 3)]
    assert rows(rainbow_server.db_path, "SELECT COUNT(*) FROM graphs") == [(0,)]
    with pytest.raises(PermissionDenied):
        client.submit(simple_jobspec(1, 1, ["true"]), tokens)
    with pytest.raises(PermissionDenied):
        client.receive("keebler", keebler.secret)

    # A new cluster under the same name inherits nothing: not the old jobs, not the old credentials.
    fresh = _register(client)
    assert list(client.iter_jobs("keebler", fresh.secret)) == []
    with pytest.raises(PermissionDenied):
        client.receive("keebler", keebler.secret)


def test_selection_among_clusters_and_state(rainbow_server, client):
    red, blue = _register(client, "red"), _register(client, "blue")
    tokens = [("red", red.token), ("blue", blue.token)]
    client.update_state("red", red.secret, {"nodes_free": 0, "cost_per_node_hour": 1, "memory_per_node": 100})
    client.update_state("blue", blue.secret, {"nodes_free": 5, "cost_per_node_hour": 1, "memory_per_node": 100})
    options = {"priorities": "- priority: 1\n  steps:\n  - filter: nodes_free > 0\n  - select: first\n"}
    for _ in range(3):
        assert client.submit(simple_jobspec(1, 1, ["x"]), tokens, select_algorithm="constraint",
                             select_options=options).cluster == "blue"
    both = client.submit(simple_jobspec(1, 1, ["x"]), tokens, satisfy_only=True)
    assert sorted(both.clusters) == ["blue", "red"]
    assert rows(rainbow_server.db_path, "SELECT cluster, COUNT(*) FROM jobs GROUP BY cluster") == [("blue", 3)]


def test_concurrent_pollers_accept_each_job_once(rainbow_server, client):
    keebler = _register(client)
    ids = [client.submit(simple_jobspec(1, 1, ["x"]), [("keebler", keebler.token)]).jobid for _ in range(40)]
    won: list[list[int]] = [[] for _ in range(4)]
    barrier = threading.Barrier(4)

    def poll(k: int) -> None:
        with RainbowClient(rainbow_server.address, timeout=20) as mine:
            barrier.wait()
            for job in mine.receive("keebler", keebler.secret):
                if mine.accept("keebler", keebler.secret, [job.id]) == "RESULT_TYPE_SUCCESS":
                    won[k].append(job.id)

    threads = [threading.Thread(target=poll, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(i for w in won for i in w) == ids


def test_memorygraph_register_refused_and_reflection(rainbow_server):
    with grpc.insecure_channel(rainbow_server.address) as channel:
        with pytest.raises(grpc.RpcError) as refused:
            memory_pb2_grpc.MemoryGraphStub(channel).Register(
                memory_pb2.RegisterRequest(name="evil", payload=data_text("cluster-nodes.json")), timeout=10)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        answers = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                            timeout=10)
        names = {s.name for answer in answers for s in answer.list_services_response.service}
    assert {"convergedcomputing.org.grpc.v1.RainbowScheduler", "service.MemoryGraph", "rainbow.jobs.v1.RainbowJobs",
            "grpc.health.v1.Health"} <= names
    assert rows(rainbow_server.db_path, "SELECT COUNT(*) FROM clusters") == [(0,)]
