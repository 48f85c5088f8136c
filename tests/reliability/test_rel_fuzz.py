"""Fuzz the running server: generated graphs, subsystems, jobspecs, state payloads, names and credentials.

For every input the server must stay up and answer either a status or a clear INVALID_ARGUMENT /
PERMISSION_DENIED (FAILED_PRECONDITION / NOT_FOUND where the protocol says so: a job no cluster fits); after any
refusal, and after any read-only call, the store must be byte-for-byte what it was.
"""
from __future__ import annotations

import collections
import json
from typing import Any, Callable

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rainbow.client import RainbowClient, RainbowError
from rainbow.protos import memory_pb2, memory_pb2_grpc

from .rel_env import pick
from .rel_graphs import cluster_graph, io_subsystem, nextgen_jobspec
from .rel_load import register
from .rel_store import dump_diff, store_dump
from .rel_strategies import (broken_graph_texts, broken_jobspec_texts, broken_state_texts, broken_subsystem_texts,
                             credentials, names, valid_graphs, valid_jobspec_texts, valid_states,
                             valid_subsystems)

from serverutil import start_server  # noqa: E402

# Inputs per operation; the short run sends ~1,100 in all, the long one five times as many.
SCALE = pick(1, 5)
EXAMPLES = {"register": 200, "subsystem": 120, "state": 120, "submit": 300, "queue": 180, "delete": 80,
            "satisfy": 120, "memory-register": 20}
MINIMUM_INPUTS = 1000

ALLOWED_ERRORS = {"INVALID_ARGUMENT", "PERMISSION_DENIED", "FAILED_PRECONDITION", "NOT_FOUND"}
# Answers that say nothing was done: the store must not change under them either.
NOTHING_DONE = {"REGISTER_EXISTS", "REGISTER_ERROR", "REGISTER_DENIED", "DELETE_ERROR", "DELETE_DENIED",
                "DELETE_NO_EXISTS", "UPDATE_STATE_ERROR", "SUBMIT_ERROR", "SUBMIT_DENIED", "RESULT_TYPE_ERROR",
                "REQUEST_JOBS_ERROR", "REQUEST_JOBS_DENIED"}

pytestmark = [pytest.mark.soak, pytest.mark.timeout(pick(290, 3000))]


class Probe:
    """Sends one input, checks the answer and the store, and counts outcomes per operation."""

    def __init__(self, server, client: RainbowClient) -> None:
        self.server = server
        self.client = client
        self.outcomes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.sent = 0

    def __call__(self, operation: str, call: Callable[[], Any], *, read_only: bool = False) -> str:
        before = store_dump(self.server.db_path)
        changed_ok = not read_only
        try:
            answer = call()
            outcome = _status(answer)
            if outcome in NOTHING_DONE:
                changed_ok = False
        except RainbowError as exc:
            outcome = exc.code
            assert exc.code in ALLOWED_ERRORS, f"{operation}: unexpected {exc.code}: {exc.details}"
            assert exc.details.strip(), f"{operation}: {exc.code} without a message"
            assert "Traceback" not in exc.details and len(exc.details) < 2000, f"{operation}: unclear message"
            changed_ok = False
        self.sent += 1
        self.outcomes[operation][outcome] += 1
        assert self.server.running, f"server died on {operation}: {self.server.log_tail()}"
        if not changed_ok:
            after = store_dump(self.server.db_path)
            assert after == before, f"{operation} answered {outcome} but changed the store:\n" \
                                    f"{dump_diff(before, after)}"
        return outcome


def _status(answer: Any) -> str:
    if isinstance(answer, str):
        return answer
    status = getattr(answer, "status", None)
    if status is not None:
        return status
    return type(answer).__name__ if not isinstance(answer, list) else "list"


def _fuzz(examples: int):
    return settings(max_examples=examples * SCALE, deadline=None, database=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much, HealthCheck.large_base_example])


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("fuzz"))
    try:
        with RainbowClient(server.address, timeout=30) as client:
            creds = {}
            for name in ("fz-a", "fz-b"):
                graph = cluster_graph(name, nodes=6, sockets=2, cores=8, memory_gib=64)
                token, secret = register(client, name, server.secret, graph)
                assert client.register_subsystem(name, secret, "io", io_subsystem(graph)) == "REGISTER_SUCCESS"
                client.update_state(name, secret, {"nodes_free": 4, "cost_per_node_hour": 3})
                client.submit(nextgen_jobspec(nodes=1, cores=2), [(name, token)], name=f"seed-{name}")
                creds[name] = (token, secret, graph)
            yield server, client, creds
    finally:
        if server.running:
            server.stop()


def test_fuzz_every_rpc(target, figures):
    server, client, creds = target
    probe = Probe(server, client)
    a_token, a_secret, a_graph = creds["fz-a"]
    b_token, b_secret, _ = creds["fz-b"]
    known_secrets = st.sampled_from([a_secret, b_secret, a_token, b_token, server.secret])
    any_secret = st.one_of(credentials, known_secrets)

    # -- Register: graphs valid and broken, names, registration secrets -----------------------------------------
    @_fuzz(EXAMPLES["register"])
    @given(name=names, secret=st.one_of(st.just(server.secret), any_secret),
           graph=st.one_of(valid_graphs.map(json.dumps), broken_graph_texts()))
    def register_inputs(name, secret, graph):
        probe("Register", lambda: client.register(name, secret, graph))

    # -- RegisterSubsystem ---------------------------------------------------------------------------------------
    @_fuzz(EXAMPLES["subsystem"])
    @given(cluster=st.one_of(st.just("fz-a"), names), secret=st.one_of(st.just(a_secret), any_secret),
           subsystem=names,
           graph=st.one_of(valid_subsystems(a_graph).map(json.dumps), broken_subsystem_texts(a_graph)))
    def subsystem_inputs(cluster, secret, subsystem, graph):
        probe("RegisterSubsystem", lambda: client.register_subsystem(cluster, secret, subsystem, graph))

    # -- UpdateState ---------------------------------------------------------------------------------------------
    @_fuzz(EXAMPLES["state"])
    @given(cluster=st.one_of(st.just("fz-a"), st.just("fz-b"), names),
           secret=st.one_of(st.just(a_secret), any_secret),
           payload=st.one_of(valid_states.map(json.dumps), broken_state_texts))
    def state_inputs(cluster, secret, payload):
        probe("UpdateState", lambda: client.update_state(cluster, secret, payload))

    # -- SubmitJob -----------------------------------------------------------------------------------------------
    cluster_pairs = st.lists(st.one_of(st.just(("fz-a", a_token)), st.just(("fz-b", b_token)),
                                       st.tuples(st.sampled_from(["fz-a", "fz-b"]), any_secret),
                                       st.tuples(names, credentials)), max_size=4)

    @_fuzz(EXAMPLES["submit"])
    @given(jobspec=st.one_of(valid_jobspec_texts, broken_jobspec_texts()), clusters=cluster_pairs, name=names,
           algorithm=st.one_of(st.sampled_from(["", "random", "constraint", "match"]), names),
           options=st.dictionaries(names, st.one_of(st.just("- priority: 1\n  steps:\n  - select: first\n"),
                                                    st.text(max_size=40)), max_size=2),
           satisfy_only=st.booleans())
    def submit_inputs(jobspec, clusters, name, algorithm, options, satisfy_only):
        probe("SubmitJob", lambda: client.submit(jobspec, clusters, name=name, select_algorithm=algorithm,
                                                 select_options=options, satisfy_only=satisfy_only),
              read_only=satisfy_only)

    # -- ReceiveJobs, AcceptJobs, ListJobs ----------------------------------------------------------------------
    int32 = st.integers(-2 ** 31, 2 ** 31 - 1)

    @_fuzz(EXAMPLES["queue"])
    @given(which=st.sampled_from(["receive", "accept", "list"]),
           cluster=st.one_of(st.just("fz-b"), names), secret=st.one_of(st.just(b_secret), any_secret),
           max_jobs=int32, ids=st.lists(int32, max_size=6),
           state=st.one_of(st.sampled_from(["", "all", "pending", "accepted"]), names),
           after=st.integers(-2 ** 63, 2 ** 63 - 1), limit=int32)
    def queue_inputs(which, cluster, secret, max_jobs, ids, state, after, limit):
        if which == "receive":
            probe("ReceiveJobs", lambda: client.receive(cluster, secret, max_jobs=max_jobs), read_only=True)
        elif which == "accept":
            probe("AcceptJobs", lambda: client.accept(cluster, secret, ids))
        else:
            probe("ListJobs", lambda: client.list_jobs(cluster, secret, state=state, after_id=after, limit=limit),
                  read_only=True)

    # -- Delete and DeleteSubsystem with credentials that are never right ---------------------------------------
    @_fuzz(EXAMPLES["delete"])
    @given(which=st.sampled_from(["cluster", "subsystem"]), cluster=st.one_of(st.just("fz-a"), names),
           secret=st.one_of(credentials, st.just(b_secret), st.just(a_token)), subsystem=names)
    def delete_inputs(which, cluster, secret, subsystem):
        if which == "cluster":
            outcome = probe("Delete", lambda: client.delete(cluster, secret))
        else:
            outcome = probe("DeleteSubsystem", lambda: client.delete_subsystem(cluster, secret, subsystem))
        if cluster == "fz-a":
            assert outcome != "DELETE_SUCCESS", f"fz-a deleted with a wrong secret {secret!r}"

    # -- MemoryGraph.Satisfy (no credential) and MemoryGraph.Register (always refused) ---------------------------
    @_fuzz(EXAMPLES["satisfy"])
    @given(payload=st.one_of(valid_jobspec_texts, broken_jobspec_texts()),
           matcher=st.one_of(st.just(""), st.just("match"), names))
    def satisfy_inputs(payload, matcher):
        probe("Satisfy", lambda: client.satisfy(payload, matcher=matcher), read_only=True)

    channel = grpc.insecure_channel(server.address)
    memory = memory_pb2_grpc.MemoryGraphStub(channel)

    @_fuzz(EXAMPLES["memory-register"])
    @given(name=names, payload=st.one_of(valid_graphs.map(json.dumps), broken_graph_texts()), subsystem=names)
    def memory_register_inputs(name, payload, subsystem):
        def call():
            try:
                return memory.Register(memory_pb2.RegisterRequest(name=name, payload=payload, subsystem=subsystem),
                                       timeout=30)
            except grpc.RpcError as exc:
                raise RainbowError(exc.code().name, exc.details() or "") from None
        assert probe("MemoryGraph.Register", call) == "PERMISSION_DENIED"

    try:
        for run in (register_inputs, subsystem_inputs, state_inputs, submit_inputs, queue_inputs, delete_inputs,
                    satisfy_inputs, memory_register_inputs):
            run()
            assert client.health() == "SERVING", f"not serving after {run.__name__}"
    finally:
        channel.close()
        for operation, counts in sorted(probe.outcomes.items()):
            figures.line(f"{operation}: " + ", ".join(f"{k}={v}" for k, v in counts.most_common()))
        figures.add(inputs=probe.sent)
    assert probe.sent >= MINIMUM_INPUTS * SCALE

    # The cluster the fuzzer hammered still works as before.
    jobs = client.receive("fz-a", a_secret)
    assert any(job.name == "seed-fz-a" for job in jobs)
    assert client.submit(nextgen_jobspec(nodes=1, cores=2), [("fz-a", a_token)]).status == "SUBMIT_SUCCESS"
