"""RainbowClient against a real scheduler in this process (tests/cli/conftest.py): what goes on the wire, how
answers and errors come back."""
from __future__ import annotations

import json

import grpc
import pytest

from rainbow import client as rc

from .conftest import UPSTREAM, World

GRAPH = (UPSTREAM / "cluster-nodes.json").read_text()
JOB = {"version": 1, "resources": [{"type": "node", "count": 1}],
       "tasks": [{"command": ["true"], "slot": "default", "count": {"per_slot": 1}}]}


@pytest.fixture
def wire(world: World):
    with world.client() as client:
        yield client, world


def _last(world: World, method: str):
    return world.transport.requests(method)[-1]


def test_register_sends_graph_json_and_returns_credentials(wire):
    client, world = wire
    result = client.register("red", "reg", GRAPH)
    assert result.status == "REGISTER_SUCCESS" and result.token and result.secret
    sent = _last(world, "Register")
    assert (sent.name, sent.secret, json.loads(sent.nodes)) == ("red", "reg", json.loads(GRAPH))
    assert sent.sent.seconds > 0
    assert client.register("red", "reg", GRAPH) == rc.RegisterResult("REGISTER_EXISTS", "", "")


def test_subsystem_delete_and_state_use_the_wire_names(wire):
    client, world = wire
    red = client.register("red", "reg", GRAPH)
    io = (UPSTREAM / "cluster-io-subsystem.json").read_bytes()
    assert client.register_subsystem("red", red.secret, "io", io) == "REGISTER_SUCCESS"
    assert _last(world, "RegisterSubsystem").subsystem == "io"
    assert client.update_state("red", red.secret, {"nodes_free": 3}) == "UPDATE_STATE_SUCCESS"
    assert json.loads(_last(world, "UpdateState").payload) == {"nodes_free": 3}
    assert client.delete_subsystem("red", red.secret, "io") == "DELETE_SUCCESS"
    assert _last(world, "DeleteSubsystem").subsytem == "io"
    assert client.delete_subsystem("red", red.secret, "io") == "DELETE_NO_EXISTS"
    assert client.delete("red", red.secret) == "DELETE_SUCCESS"


def test_submit_carries_clusters_options_and_reasons(wire):
    client, world = wire
    red, blue = client.register("red", "reg", GRAPH), client.register("blue", "reg", GRAPH)
    result = client.submit(JOB, [("red", red.token), ("blue", blue.token)], name="job", select_algorithm="random",
                           select_options={"seed": "1"}, satisfy_only=True)
    assert result == rc.SubmitResult("SUBMIT_SUCCESS", 0, "", ["blue", "red"], {})
    sent = _last(world, "SubmitJob")
    assert [(c.name, c.token) for c in sent.clusters] == [("red", red.token), ("blue", blue.token)]
    assert (json.loads(sent.jobspec), sent.name, sent.select_algorithm, sent.satisfy_only) == (JOB, "job",
                                                                                              "random", True)
    assert dict(sent.select_options) == {"seed": "1"}


def test_satisfy(wire):
    client, world = wire
    client.register("red", "reg", GRAPH)
    result = client.satisfy(JOB)
    assert result == rc.SatisfyResult(["red"], {}, 1, 1, 0)
    assert json.loads(_last(world, "Satisfy").payload) == JOB


def test_receive_orders_by_id(wire):
    client, world = wire
    red = client.register("red", "reg", GRAPH)
    ids = [client.submit(JOB, [("red", red.token)], name=f"j{n}").jobid for n in range(3)]
    jobs = client.receive("red", red.secret, max_jobs=5)
    assert [j.id for j in jobs] == ids
    assert jobs[0].to_dict() == {"id": ids[0], "cluster": "red", "name": "j0", "jobspec": jobs[0].jobspec,
                                 "command": ""}
    assert json.loads(jobs[0].jobspec) == JOB
    assert _last(world, "ReceiveJobs").maxJobs == 5


def test_receive_keeps_odd_entries():
    assert rc.parse_job(4, "not json", "red") == rc.Job(4, "red", "", "not json", "")
    text = json.dumps({"id": 9, "cluster": "red", "name": "b", "jobspec": "version: 1", "command": "", "x": 1})
    assert rc.parse_job(9, text, "red").to_dict() == {"id": 9, "cluster": "red", "name": "b",
                                                      "jobspec": "version: 1", "command": ""}


def test_accept_returns_status(wire):
    client, world = wire
    red = client.register("red", "reg", GRAPH)
    job = client.submit(JOB, [("red", red.token)]).jobid
    assert client.accept("red", red.secret, [job, job + 100]) == "RESULT_TYPE_PARTIAL"
    assert list(_last(world, "AcceptJobs").jobids) == [job, job + 100]


def test_iter_jobs_follows_every_page(wire):
    client, _ = wire
    red = client.register("red", "reg", GRAPH)
    ids = [client.submit(JOB, [("red", red.token)], name=f"j{n}").jobid for n in range(5)]
    assert client.accept("red", red.secret, ids[:1]) == "RESULT_TYPE_SUCCESS"
    page = client.list_jobs("red", red.secret, limit=2)
    assert [j.id for j in page.jobs] == ids[:2] and page.next_after_id == ids[1]
    jobs = list(client.iter_jobs("red", red.secret, limit=2))
    assert [j.id for j in jobs] == ids
    assert jobs[0].to_dict()["accepted"].endswith("Z") and jobs[0].state == "accepted"
    assert jobs[1].accepted is None and jobs[1].to_dict()["submitted"].endswith("Z")


def test_server_errors_come_back_as_classes(wire):
    client, _ = wire
    red = client.register("red", "reg", GRAPH)
    with pytest.raises(rc.PermissionDenied) as denied:
        client.update_state("red", "wrong", "{}")
    assert denied.value.code == "PERMISSION_DENIED"
    with pytest.raises(rc.InvalidArgument):
        client.update_state("red", red.secret, "[not json")
    with pytest.raises(rc.PermissionDenied):
        client.register("blue", "not-the-registration-secret", GRAPH)


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
def test_errors_map_to_classes(code, details, cls, name):
    error = rc.error_from_status(code.name, details)
    assert type(error) is cls
    assert error.code == name
    assert error.details == details
    assert "\n" not in str(error)


def test_unreachable_server_is_unavailable():
    with rc.RainbowClient("127.0.0.1:1", timeout=5) as client:
        with pytest.raises(rc.Unavailable):
            client.delete("red", "cs")


def test_cert_without_key_is_refused(tmp_path):
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    with pytest.raises(ValueError, match="key"):
        rc.RainbowClient("127.0.0.1:1", tls_cert=str(cert))
