"""A matrix of bad requests against a live server: each gets its clear status, and the store is unchanged."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

import grpc
import pytest

from rainbow.client import RainbowClient
from rainbow.jobspec import simple_jobspec
from rainbow.protos import jobs_pb2, jobs_pb2_grpc, memory_pb2, memory_pb2_grpc, rainbow_pb2, rainbow_pb2_grpc
from serverutil import DEFAULT_SECRET, start_server

from .e2e_util import data_text, store_dump

GRAPH = data_text("cluster-nodes.json")
JOB = json.dumps(simple_jobspec(1, 1, ["hostname"]))
TOO_BIG = "x" * (2 * 1024 * 1024)


def _cyclic_graph() -> str:
    doc = json.loads(GRAPH)
    nodes = doc["graph"]["nodes"]
    core = next(label for label, node in nodes.items() if node["metadata"]["type"] == "core")
    doc["graph"]["edges"].append({"source": core, "target": "0", "relation": "contains", "metadata": {}})
    return json.dumps(doc)


def _wrong_types_graph() -> str:
    doc = json.loads(GRAPH)
    first = next(iter(doc["graph"]["nodes"].values()))
    first["metadata"]["type"] = 42
    return json.dumps(doc)


@dataclass
class World:
    address: str
    db_path: str
    red: Any
    blue: Any
    blue_job: int


@dataclass
class Case:
    id: str
    call: Callable[[dict, World], Any]
    code: grpc.StatusCode | None  # None: answered with a status field, checked by `status`
    says: str = ""
    status: Callable[[Any], bool] | None = None


S = rainbow_pb2
M = memory_pb2


def reg(name=..., secret=DEFAULT_SECRET, nodes=GRAPH):
    return lambda stubs, w: stubs["s"].Register(S.RegisterRequest(
        name="fresh" if name is ... else name, secret=secret, nodes=nodes))


def sub(cluster="red", secret=None, subsystem="io", nodes=None):
    return lambda stubs, w: stubs["s"].RegisterSubsystem(S.RegisterRequest(
        name=cluster, secret=w.red.secret if secret is None else secret(w),
        subsystem=subsystem, nodes=data_text("cluster-io-subsystem.json") if nodes is None else nodes))


def state(payload, secret=None, cluster="red"):
    return lambda stubs, w: stubs["s"].UpdateState(S.UpdateStateRequest(
        cluster=cluster, secret=w.red.secret if secret is None else secret(w), payload=payload))


def submit(jobspec=JOB, clusters=None, **kw):
    def call(stubs, w):
        pairs = [("red", w.red.token)] if clusters is None else clusters(w)
        return stubs["s"].SubmitJob(S.SubmitJobRequest(
            jobspec=jobspec, clusters=[S.SubmitJobRequest.Cluster(name=n, token=t) for n, t in pairs], **kw))
    return call


def receive(cluster="red", secret=None):
    return lambda stubs, w: stubs["s"].ReceiveJobs(S.ReceiveJobsRequest(
        cluster=cluster, secret=w.red.secret if secret is None else secret(w)))


def accept(ids, cluster="red", secret=None):
    return lambda stubs, w: stubs["s"].AcceptJobs(S.AcceptJobsRequest(
        cluster=cluster, secret=w.red.secret if secret is None else secret(w), jobids=ids(w)))


PARTIAL = lambda r: r.status == S.AcceptJobsResponse.RESULT_TYPE_PARTIAL  # noqa: E731
BLUE_SECRET = lambda w: w.blue.secret  # noqa: E731
BLUE_TOKEN = lambda w: w.blue.token  # noqa: E731
INVALID, DENIED = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED

CASES = [
    # Register: credentials, names, graphs.
    Case("register-wrong-secret", reg(secret="guess"), DENIED, "secret"),
    Case("register-missing-secret", reg(secret=""), DENIED, "secret"),
    Case("register-missing-name", reg(name=""), INVALID, "name"),
    Case("register-name-quotes", reg(name='red"cluster\''), INVALID, "name"),
    Case("register-name-sql", reg(name="x'); DROP TABLE clusters; --"), INVALID, "name"),
    Case("register-name-unicode", reg(name="κλάστερ-🌈"), INVALID, "name"),
    Case("register-name-10000", reg(name="a" * 10_000), INVALID, "name"),
    Case("register-name-newline", reg(name="red\n"), INVALID, "name"),
    Case("register-empty-graph", reg(nodes=""), INVALID, "nodes"),
    Case("register-malformed-json", reg(nodes='{"graph": {"nodes": '), INVALID, "nodes"),
    Case("register-json-array", reg(nodes="[1, 2, 3]"), INVALID, "nodes"),
    Case("register-wrong-json-types", reg(nodes=_wrong_types_graph()), INVALID, "nodes"),
    Case("register-cyclic-graph", reg(nodes=_cyclic_graph()), INVALID, "nodes"),
    Case("register-over-message-limit", reg(nodes=TOO_BIG), grpc.StatusCode.RESOURCE_EXHAUSTED),
    Case("register-existing-name", reg(name="red"), None,
         status=lambda r: r.status == S.RegisterResponse.REGISTER_EXISTS and not r.token and not r.secret),
    # Subsystems.
    Case("subsystem-another-clusters-secret", sub(secret=BLUE_SECRET), DENIED, "red"),
    Case("subsystem-unknown-cluster", sub(cluster="nowhere"), DENIED, "nowhere"),
    Case("subsystem-bad-name", sub(subsystem="i o"), INVALID, "subsystem"),
    Case("subsystem-garbage-graph", sub(nodes="{{{"), INVALID, "nodes"),
    # State.
    Case("state-not-object", state("[1, 2]"), INVALID, "payload"),
    Case("state-not-json", state("nodes_free=3"), INVALID, "payload"),
    Case("state-nested", state('{"a": {"b": 1}}'), INVALID, "payload"),
    Case("state-string-not-holding-object", state('"nodes_free"'), INVALID, "payload"),
    Case("state-another-clusters-secret", state("{}", secret=BLUE_SECRET), DENIED, "red"),
    # Submit.
    Case("submit-garbage-jobspec", submit(jobspec=": : [ {"), INVALID, "jobspec"),
    Case("submit-jobspec-wrong-shape", submit(jobspec='{"version": 1, "resources": 7}'), INVALID, "jobspec"),
    Case("submit-empty-jobspec", submit(jobspec=""), INVALID, "jobspec"),
    Case("submit-deeply-nested-yaml", submit(jobspec="version: 1\nresources: " + "[" * 100_000), INVALID, "jobspec"),
    Case("submit-deeply-nested-json", submit(jobspec='{"a": ' + "[" * 100_000), INVALID, "jobspec"),
    Case("submit-over-message-limit", submit(jobspec=TOO_BIG), grpc.StatusCode.RESOURCE_EXHAUSTED),
    Case("submit-no-clusters", submit(clusters=lambda w: []), INVALID, "clusters"),
    Case("submit-wrong-token", submit(clusters=lambda w: [("red", "guess")]), DENIED, "red"),
    Case("submit-missing-token", submit(clusters=lambda w: [("red", "")]), DENIED, "red"),
    Case("submit-another-clusters-token", submit(clusters=lambda w: [("red", w.blue.token)]), DENIED, "red"),
    Case("submit-one-bad-token-of-two",
         submit(clusters=lambda w: [("blue", w.blue.token), ("red", "guess")]), DENIED, "red"),
    Case("submit-unknown-cluster", submit(clusters=lambda w: [("ghost", "t")]), DENIED, "ghost"),
    Case("submit-sql-cluster-name", submit(clusters=lambda w: [("red' OR '1'='1", "t")]), INVALID, "name"),
    Case("submit-unknown-algorithm", submit(select_algorithm="fastest"), INVALID, "fastest"),
    Case("submit-control-chars-in-name", submit(name="job\x00\x1b"), INVALID, "name"),
    Case("submit-nothing-fits", submit(jobspec=json.dumps(simple_jobspec(50, 50, ["x"]))),
         grpc.StatusCode.FAILED_PRECONDITION, "red:"),
    # Receive and accept.
    Case("receive-wrong-secret", receive(secret=lambda w: "guess"), DENIED, "red"),
    Case("receive-missing-secret", receive(secret=lambda w: ""), DENIED, "red"),
    Case("receive-another-clusters-secret", receive(secret=BLUE_SECRET), DENIED, "red"),
    Case("receive-unknown-cluster", receive(cluster="ghost"), DENIED, "ghost"),
    Case("accept-foreign-ids", accept(lambda w: [w.blue_job]), None, status=PARTIAL),
    Case("accept-unknown-ids", accept(lambda w: [987654, -1]), None, status=PARTIAL),
    Case("accept-empty-list", accept(lambda w: []), INVALID, "jobids"),
    Case("accept-with-another-clusters-secret", accept(lambda w: [w.blue_job], cluster="blue",
                                                       secret=lambda w: w.red.secret), DENIED, "blue"),
    # Delete and the other services.
    Case("delete-wrong-secret", lambda stubs, w: stubs["s"].Delete(S.DeleteRequest(name="red", secret="guess")),
         DENIED, "red"),
    Case("delete-subsystem-another-clusters-secret", lambda stubs, w: stubs["s"].DeleteSubsystem(
        S.DeleteRequest(name="blue", secret=w.red.secret, subsytem="io")), DENIED, "blue"),
    Case("list-jobs-bad-state", lambda stubs, w: stubs["j"].ListJobs(jobs_pb2.ListJobsRequest(
        cluster="red", secret=w.red.secret, state="running")), INVALID, "state"),
    Case("list-jobs-another-clusters-secret", lambda stubs, w: stubs["j"].ListJobs(jobs_pb2.ListJobsRequest(
        cluster="blue", secret=w.red.secret)), DENIED, "blue"),
    Case("satisfy-deeply-nested-yaml", lambda stubs, w: stubs["m"].Satisfy(M.SatisfyRequest(
        payload="resources: " + "{a: " * 50_000)), INVALID, "payload"),
    Case("satisfy-garbage", lambda stubs, w: stubs["m"].Satisfy(M.SatisfyRequest(payload="{not a jobspec")),
         INVALID, "payload"),
    Case("memorygraph-register", lambda stubs, w: stubs["m"].Register(
        M.RegisterRequest(name="evil", payload=GRAPH)), DENIED, "Register"),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("bad-requests"), extra_args=["--max-message-mb", "1"])
    try:
        with RainbowClient(server.address, timeout=20) as client:
            red = client.register("red", DEFAULT_SECRET, GRAPH)
            blue = client.register("blue", DEFAULT_SECRET, GRAPH)
            client.register_subsystem("blue", blue.secret, "io", data_text("cluster-io-subsystem.json"))
            client.update_state("red", red.secret, {"nodes_free": 2})
            blue_job = client.submit(JOB, [("blue", blue.token)]).jobid
            client.submit(JOB, [("red", red.token)])
        yield World(server.address, str(server.db_path), red, blue, blue_job)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def stubs(world):
    channel = grpc.insecure_channel(world.address)
    yield {"s": rainbow_pb2_grpc.RainbowSchedulerStub(channel), "m": memory_pb2_grpc.MemoryGraphStub(channel),
           "j": jobs_pb2_grpc.RainbowJobsStub(channel)}
    channel.close()


def test_matrix_is_large_enough():
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_request(case: Case, world: World, stubs):
    before = store_dump(world.db_path)
    if case.code is None:
        answer = case.call(stubs, world)
        assert case.status(answer), f"unexpected answer {answer}"
    else:
        with pytest.raises(grpc.RpcError) as err:
            case.call(stubs, world)
        assert err.value.code() == case.code, err.value.details()
        details = err.value.details() or ""
        assert details and "\n" not in details and len(details) < 1000
        assert case.says in details
    assert store_dump(world.db_path) == before
