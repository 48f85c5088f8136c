"""The client's two transports give the same answers: the same calls over a gRPC channel to a real server and
in-process to a scheduler over its own store end with the same statuses, results and errors."""
from __future__ import annotations

import json

import pytest
from serverutil import DEFAULT_SECRET

from rainbow import client as rc
from rainbow.server.inprocess import InProcessTransport

from .conftest import UPSTREAM

GRAPH = (UPSTREAM / "cluster-nodes.json").read_text()
JOB = {"version": 1, "resources": [{"type": "node", "count": 1}],
       "tasks": [{"command": ["true"], "slot": "default", "count": {"per_slot": 1}}]}
TOO_BIG = JOB | {"resources": [{"type": "node", "count": 40}]}


def _outcome(call):
    """What a call gave, with the server-made credentials reduced to whether they were given."""
    try:
        value = call()
    except rc.RainbowError as exc:
        return ("error", type(exc).__name__, exc.code, exc.details)
    if isinstance(value, rc.RegisterResult):
        return ("registered", value.status, bool(value.token), bool(value.secret))
    if isinstance(value, rc.JobPage):
        return [(j.id, j.name, j.state, j.accepted is None, json.loads(j.jobspec)) for j in value.jobs]
    return value


def _session(client: rc.RainbowClient) -> list:
    """One cluster's life: register, state, submit, satisfy, receive, accept, list, delete; and the refusals."""
    red = client.register("red", DEFAULT_SECRET, GRAPH)
    token, secret = red.token, red.secret
    return [
        _outcome(lambda: red),
        _outcome(lambda: client.register("red", DEFAULT_SECRET, GRAPH)),
        _outcome(lambda: client.register("blue", "wrong", GRAPH)),
        _outcome(lambda: client.register("blue", DEFAULT_SECRET, "{not json")),
        _outcome(lambda: client.update_state("red", secret, {"nodes_free": 2})),
        _outcome(lambda: client.update_state("red", "wrong", {"nodes_free": 2})),
        _outcome(lambda: client.submit(JOB, [("red", token)], name="a")),
        _outcome(lambda: client.submit(JOB, [("red", token)], name="b")),
        _outcome(lambda: client.submit(TOO_BIG, [("red", token)], name="c")),
        _outcome(lambda: client.submit(JOB, [("red", "not-the-token")], name="d")),
        _outcome(lambda: client.satisfy(JOB)),
        _outcome(lambda: client.satisfy(TOO_BIG)),
        _outcome(lambda: client.receive("red", secret)),
        _outcome(lambda: client.accept("red", secret, [1, 99])),
        _outcome(lambda: client.list_jobs("red", secret, state="all")),
        _outcome(lambda: client.list_jobs("red", secret, state="bogus")),
        _outcome(lambda: client.delete_subsystem("red", secret, "io")),
        _outcome(lambda: client.health()),
        _outcome(lambda: client.delete("red", secret)),
        _outcome(lambda: client.receive("red", secret)),
    ]


def test_grpc_and_in_process_give_the_same_answers(rainbow_server, tmp_path):
    with rc.RainbowClient(rainbow_server.address, timeout=30) as client:
        over_grpc = _session(client)
    transport = InProcessTransport.over_sqlite(tmp_path, registration_secret=DEFAULT_SECRET)
    try:
        with rc.RainbowClient(rainbow_server.address, transport=transport) as client:
            in_process = _session(client)
    finally:
        transport.scheduler.store.close()
    assert in_process == over_grpc
    # The session did meet answers and refusals of each kind, so the comparison says something.
    kinds = {entry[1] for entry in in_process if isinstance(entry, tuple) and entry[0] == "error"}
    assert {"PermissionDenied", "InvalidArgument", "FailedPrecondition"} <= kinds


def test_in_process_transport_keeps_what_it_carried(tmp_path):
    transport = InProcessTransport.over_sqlite(tmp_path, registration_secret="reg")
    try:
        with rc.RainbowClient(transport=transport) as client:
            with pytest.raises(rc.PermissionDenied):
                client.receive("red", "nope")
        [request] = transport.requests("ReceiveJobs")
        assert (request.cluster, request.secret) == ("red", "nope")
    finally:
        transport.scheduler.store.close()
