"""RainbowClient against a scripted in-process servicer: what goes on the wire, how answers and errors come back."""
from __future__ import annotations

import json

import grpc
import pytest

from rainbow import client as rc

from .fake_rainbow import FakeServer


@pytest.fixture(scope="module")
def fake():
    server = FakeServer()
    with rc.RainbowClient(server.address, timeout=10) as client:
        yield client, server.scheduler, server.graph
    server.stop()


@pytest.fixture
def wire(fake):
    client, scheduler, graph = fake
    scheduler.requests.clear()
    scheduler.abort_with = None
    graph.requests.clear()
    return fake


def test_register_sends_graph_json_and_returns_credentials(wire):
    client, scheduler, _ = wire
    result = client.register("red", "s3", {"graph": {"nodes": {}}})
    assert result == rc.RegisterResult(status="REGISTER_SUCCESS", token="tok", secret="sec")
    sent = scheduler.requests[-1]
    assert (sent.name, sent.secret, json.loads(sent.nodes)) == ("red", "s3", {"graph": {"nodes": {}}})
    assert sent.sent.seconds > 0
    assert client.register("exists", "s3", "{}") == rc.RegisterResult("REGISTER_EXISTS", "", "")


def test_subsystem_delete_and_state_use_the_wire_names(wire):
    client, scheduler, _ = wire
    assert client.register_subsystem("red", "cs", "io", b'{"graph": {}}') == "REGISTER_SUCCESS"
    assert scheduler.requests[-1].subsystem == "io"
    assert client.delete("red", "cs") == "DELETE_SUCCESS"
    assert client.delete_subsystem("red", "cs", "io") == "DELETE_NO_EXISTS"
    assert scheduler.requests[-1].subsytem == "io"
    assert client.update_state("red", "cs", {"nodes_free": 3}) == "UPDATE_STATE_SUCCESS"
    assert json.loads(scheduler.requests[-1].payload) == {"nodes_free": 3}


def test_submit_carries_clusters_options_and_reasons(wire):
    client, scheduler, _ = wire
    result = client.submit("version: 1\n", [("red", "t1"), ("blue", "t2")], name="job", select_algorithm="constraint",
                           select_options={"priorities": "[]"}, satisfy_only=True)
    assert result == rc.SubmitResult("SUBMIT_SUCCESS", 7, "red", ["red"], {"blue": "too small"})
    sent = scheduler.requests[-1]
    assert [(c.name, c.token) for c in sent.clusters] == [("red", "t1"), ("blue", "t2")]
    assert (sent.jobspec, sent.name, sent.select_algorithm, sent.satisfy_only) == ("version: 1\n", "job",
                                                                                  "constraint", True)
    assert dict(sent.select_options) == {"priorities": "[]"}


def test_satisfy(wire):
    client, _, graph = wire
    result = client.satisfy({"version": 1})
    assert result == rc.SatisfyResult(["red"], {"blue": "needs 4 nodes"}, 2, 1, 1)
    assert json.loads(graph.requests[-1].payload) == {"version": 1}


def test_receive_orders_by_id_and_keeps_odd_entries(wire):
    client, scheduler, _ = wire
    jobs = client.receive("red", "cs", max_jobs=5)
    assert [j.id for j in jobs] == [3, 4, 9]
    assert jobs[0] == rc.Job(3, "red", "a", "{}", "hostname")
    assert jobs[1] == rc.Job(4, "red", "", "not json", "")
    assert jobs[2].to_dict() == {"id": 9, "cluster": "red", "name": "b", "jobspec": "version: 1", "command": ""}
    assert scheduler.requests[-1].maxJobs == 5


def test_accept_returns_status(wire):
    client, scheduler, _ = wire
    assert client.accept("red", "cs", [3, 9]) == "RESULT_TYPE_PARTIAL"
    assert list(scheduler.requests[-1].jobids) == [3, 9]


def test_iter_jobs_follows_every_page(wire):
    client, _, _ = wire
    page = client.list_jobs("red", "cs", limit=2)
    assert [j.id for j in page.jobs] == [1, 2] and page.next_after_id == 2
    jobs = list(client.iter_jobs("red", "cs", limit=2))
    assert [j.id for j in jobs] == [1, 2, 3, 4, 5]
    assert jobs[0].to_dict()["accepted"] == "2023-11-14T22:14:20Z"
    assert jobs[1].accepted is None and jobs[1].to_dict()["submitted"] == "2023-11-14T22:13:20Z"


@pytest.mark.parametrize(
    "code, details, cls, name",
    [
        (grpc.StatusCode.PERMISSION_DENIED, "cluster red: bad secret", rc.PermissionDenied, "PERMISSION_DENIED"),
        (grpc.StatusCode.INVALID_ARGUMENT, "nodes: not JSON", rc.InvalidArgument, "INVALID_ARGUMENT"),
        (grpc.StatusCode.NOT_FOUND, "no cluster red", rc.NotFound, "NOT_FOUND"),
        (grpc.StatusCode.FAILED_PRECONDITION, "red: too small\nblue: no gpu", rc.FailedPrecondition,
         "FAILED_PRECONDITION"),
        (grpc.StatusCode.UNKNOWN, "request denied", rc.PermissionDenied, "PERMISSION_DENIED"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "too big", rc.RainbowError, "RESOURCE_EXHAUSTED"),
    ],
)
def test_errors_map_to_classes(wire, code, details, cls, name):
    client, scheduler, _ = wire
    scheduler.abort_with = (code, details)
    with pytest.raises(rc.RainbowError) as info:
        client.update_state("red", "cs", "{}")
    assert type(info.value) is cls
    assert info.value.code == name
    assert info.value.details == details
    assert "\n" not in str(info.value)


def test_unreachable_server_is_unavailable():
    with rc.RainbowClient("127.0.0.1:1", timeout=5) as client:
        with pytest.raises(rc.Unavailable):
            client.delete("red", "cs")


def test_cert_without_key_is_refused(tmp_path):
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    with pytest.raises(ValueError, match="key"):
        rc.RainbowClient("127.0.0.1:1", tls_cert=str(cert))
