"""Fuzz the running server: generated graphs, subsystems, jobspecs, state payloads, names and credentials.

For every input the server must stay up and answer either a status or a clear INVALID_ARGUMENT /
PERMISSION_DENIED (FAILED_PRECONDITION / NOT_FOUND where the protocol says so: a job no cluster fits); after any
refusal, and after any read-only call, the store must be byte-for-byte what it was.
"""
from __future__ import annotations

import collections
import copy
import json
from typing import Any, Callable

import grpc
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from rainbow.client import RainbowClient, RainbowError
from rainbow.protos import memory_pb2, memory_pb2_grpc

from .rel_env import pick
from .rel_graphs import cluster_graph, io_subsystem, nextgen_jobspec, render
from .rel_load import died, register
from .rel_store import dump_diff, store_dump
from .rel_strategies import (DEEP_DOCUMENTS, NOT_DOCUMENTS, broken_graph_texts, broken_jobspec_texts,
                             broken_state_texts, broken_subsystem_texts, credentials, is_json_object, names,
                             valid_graphs, valid_jobspec_texts, valid_states, valid_subsystems)

from serverutil import start_server  # noqa: E402

# Generated inputs per operation: 1,220 in the short run, five times as many in the long one; the fixed lists of
# non-documents, deep documents and hostile priorities come on top.
SCALE = pick(1, 5)
EXAMPLES = {"register": 180, "subsystem": 120, "state": 120, "submit": 280, "queue": 180, "delete": 80,
            "satisfy": 120, "memory-register": 20, "raw": 120}
assert sum(EXAMPLES.values()) >= 1000

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
            assert not died(self.server, exc), f"{operation}: {died(self.server)}"
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


def _fuzz(operation: str):
    # No shrinking: every example costs a round trip and two store dumps, and the unshrunk input is reported anyway.
    return settings(max_examples=EXAMPLES[operation] * SCALE, deadline=None, database=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much, HealthCheck.large_base_example])


class Target:
    """The fuzzed server, a client, and two clusters (`fz-a`, `fz-b`) whose credentials the fuzzer mixes in."""

    def __init__(self, server, client: RainbowClient, creds: dict) -> None:
        self.server = server
        self.client = client
        self.a_token, self.a_secret, self.a_graph = creds["fz-a"]
        self.b_token, self.b_secret, _ = creds["fz-b"]
        self.probe = Probe(server, client)
        known = st.sampled_from([self.a_secret, self.b_secret, self.a_token, self.b_token, server.secret])
        self.any_secret = st.one_of(credentials, known)

    def mostly(self, right: Any) -> st.SearchStrategy:
        """The right value three times in four, anything else otherwise: most inputs get past the credentials."""
        return st.one_of(st.just(right), st.just(right), st.just(right), self.any_secret)

    def finish(self, figures, operations: list[str], key: str) -> None:
        """Check the server is still serving, and report what the operations were answered."""
        assert self.client.health() == "SERVING"
        total = 0
        for operation in operations:
            counts = self.probe.outcomes[operation]
            total += sum(counts.values())
            figures.line(f"{operation}: " + ", ".join(f"{k}={v}" for k, v in counts.most_common()))
        figures.add(inputs=total, all_inputs_so_far=self.probe.sent)
        assert total >= EXAMPLES[key] * SCALE // 2, f"only {total} inputs reached the server"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def target(request, tmp_path_factory):
    """The fuzzed server, once on each store backend."""
    db = request.getfixturevalue("postgres_server").new_database() if request.param == "postgresql" else None
    server = start_server(tmp_path_factory.mktemp("fuzz"), db=db)
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
            yield Target(server, client, creds)
    finally:
        if server.running:
            server.stop()


@pytest.fixture(autouse=True)
def _revive(target):
    """A server that an earlier test killed is started again, so that one crash fails one test, not the module."""
    if not target.server.running:
        target.server.start(target.server.port)
        target.client.close()
        target.client = RainbowClient(target.server.address, timeout=30)
        target.probe.client = target.client


job_names = st.one_of(st.from_regex(r"[a-z][a-z0-9 _.-]{0,40}", fullmatch=True), names)


def test_fuzz_register(target, figures):
    t = target

    @_fuzz("register")
    @given(name=names, secret=t.mostly(t.server.secret),
           graph=st.one_of(valid_graphs.map(json.dumps), broken_graph_texts()))
    def run(name, secret, graph):
        t.probe("Register", lambda: t.client.register(name, secret, graph))

    run()
    t.finish(figures, ["Register"], "register")


def test_fuzz_register_subsystem(target, figures):
    t = target

    @_fuzz("subsystem")
    @given(cluster=st.one_of(st.just("fz-a"), st.just("fz-a"), names), secret=t.mostly(t.a_secret),
           subsystem=names,
           graph=st.one_of(valid_subsystems(t.a_graph).map(json.dumps), broken_subsystem_texts(t.a_graph)))
    def run(cluster, secret, subsystem, graph):
        t.probe("RegisterSubsystem", lambda: t.client.register_subsystem(cluster, secret, subsystem, graph))

    run()
    t.finish(figures, ["RegisterSubsystem"], "subsystem")


def test_fuzz_update_state(target, figures):
    t = target

    @_fuzz("state")
    @given(cluster=st.one_of(st.just("fz-a"), st.just("fz-a"), names), secret=t.mostly(t.a_secret),
           payload=st.one_of(valid_states.map(json.dumps), broken_state_texts))
    def run(cluster, secret, payload):
        t.probe("UpdateState", lambda: t.client.update_state(cluster, secret, payload))

    run()
    t.finish(figures, ["UpdateState"], "state")


def test_fuzz_submit(target, figures):
    t = target
    right = [("fz-a", t.a_token), ("fz-b", t.b_token)]
    clusters = st.one_of(
        st.just(right[:1]), st.just(right), st.just(right[1:]),
        st.lists(st.one_of(st.sampled_from(right), st.tuples(st.sampled_from(["fz-a", "fz-b"]), t.any_secret),
                           st.tuples(names, credentials)), max_size=4))

    @_fuzz("submit")
    @given(jobspec=st.one_of(valid_jobspec_texts, broken_jobspec_texts()), clusters=clusters, name=job_names,
           algorithm=st.one_of(st.just(""), st.just(""), st.sampled_from(["random", "constraint", "match"]), names),
           options=st.dictionaries(names, st.one_of(st.just("- priority: 1\n  steps:\n  - select: first\n"),
                                                    st.text(max_size=40)), max_size=2),
           satisfy_only=st.booleans())
    def run(jobspec, clusters, name, algorithm, options, satisfy_only):
        t.probe("SubmitJob", lambda: t.client.submit(jobspec, clusters, name=name, select_algorithm=algorithm,
                                                     select_options=options, satisfy_only=satisfy_only),
                read_only=satisfy_only)

    run()
    t.finish(figures, ["SubmitJob"], "submit")


def test_fuzz_receive_accept_list(target, figures):
    t = target
    int32 = st.integers(-2 ** 31, 2 ** 31 - 1)

    @_fuzz("queue")
    @given(which=st.sampled_from(["receive", "accept", "list"]),
           cluster=st.one_of(st.just("fz-b"), st.just("fz-b"), names), secret=t.mostly(t.b_secret),
           max_jobs=int32, ids=st.lists(st.one_of(int32, st.integers(0, 50)), max_size=6),
           state=st.one_of(st.sampled_from(["", "all", "pending", "accepted"]), names),
           after=st.integers(-2 ** 63, 2 ** 63 - 1), limit=int32)
    def run(which, cluster, secret, max_jobs, ids, state, after, limit):
        c = t.client
        if which == "receive":
            t.probe("ReceiveJobs", lambda: c.receive(cluster, secret, max_jobs=max_jobs), read_only=True)
        elif which == "accept":
            t.probe("AcceptJobs", lambda: c.accept(cluster, secret, ids))
        else:
            t.probe("ListJobs", lambda: c.list_jobs(cluster, secret, state=state, after_id=after, limit=limit),
                    read_only=True)

    run()
    t.finish(figures, ["ReceiveJobs", "AcceptJobs", "ListJobs"], "queue")


def test_fuzz_delete_with_wrong_credentials(target, figures):
    t = target

    @_fuzz("delete")
    @given(which=st.sampled_from(["cluster", "subsystem"]), cluster=st.one_of(st.just("fz-a"), names),
           secret=st.one_of(credentials, st.just(t.b_secret), st.just(t.a_token)), subsystem=names)
    def run(which, cluster, secret, subsystem):
        c = t.client
        if which == "cluster":
            outcome = t.probe("Delete", lambda: c.delete(cluster, secret))
        else:
            outcome = t.probe("DeleteSubsystem", lambda: c.delete_subsystem(cluster, secret, subsystem))
        if cluster == "fz-a":
            assert outcome != "DELETE_SUCCESS", f"fz-a deleted with a wrong secret {secret!r}"

    run()
    t.finish(figures, ["Delete", "DeleteSubsystem"], "delete")


def test_fuzz_satisfy(target, figures):
    t = target

    @_fuzz("satisfy")
    @given(payload=st.one_of(valid_jobspec_texts, broken_jobspec_texts()),
           matcher=st.one_of(st.just(""), st.just("match"), names))
    def run(payload, matcher):
        t.probe("Satisfy", lambda: t.client.satisfy(payload, matcher=matcher), read_only=True)

    run()
    t.finish(figures, ["Satisfy"], "satisfy")


def test_fuzz_memory_graph_register_always_refused(target, figures):
    t = target
    channel = grpc.insecure_channel(t.server.address)
    memory = memory_pb2_grpc.MemoryGraphStub(channel)

    def call(name, payload, subsystem):
        try:
            return memory.Register(memory_pb2.RegisterRequest(name=name, payload=payload, subsystem=subsystem),
                                   timeout=30)
        except grpc.RpcError as exc:
            raise RainbowError(exc.code().name, exc.details() or "") from None

    @_fuzz("memory-register")
    @given(name=names, payload=st.one_of(valid_graphs.map(json.dumps), broken_graph_texts()), subsystem=names)
    def run(name, payload, subsystem):
        outcome = t.probe("MemoryGraph.Register", lambda: call(name, payload, subsystem))
        assert outcome == "PERMISSION_DENIED"

    try:
        run()
    finally:
        channel.close()
    t.finish(figures, ["MemoryGraph.Register"], "memory-register")


DOCUMENT_FIELDS = ["Register.nodes", "RegisterSubsystem.nodes", "UpdateState.payload", "SubmitJob.jobspec",
                   "Satisfy.payload"]


@pytest.mark.parametrize("field", DOCUMENT_FIELDS)
@pytest.mark.parametrize("document", sorted(DEEP_DOCUMENTS))
def test_fuzz_deeply_nested_documents(target, figures, field, document):
    """Nesting deeper than a recursive parser's stack, in every field that carries a document."""
    t = target
    text = DEEP_DOCUMENTS[document]
    figures.add(bytes=len(text), answer=_send_document(t, field, text))


def test_fuzz_non_documents_in_every_field(target, figures):
    """Every non-document (empty, truncated, wrong JSON type, BOM, NUL...) in every field that carries one."""
    t = target
    for field in DOCUMENT_FIELDS:
        for text in NOT_DOCUMENTS:
            _send_document(t, field, text)
    figures.add(inputs=len(DOCUMENT_FIELDS) * len(NOT_DOCUMENTS))


def _send_document(t: "Target", field: str, text: str) -> str:
    c = t.client
    calls = {
        "Register.nodes": lambda: c.register("deep-doc", t.server.secret, text),
        "RegisterSubsystem.nodes": lambda: c.register_subsystem("fz-a", t.a_secret, "deep-doc", text),
        "UpdateState.payload": lambda: c.update_state("fz-b", t.b_secret, text),
        "SubmitJob.jobspec": lambda: c.submit(text, [("fz-a", t.a_token)], name="deep-doc"),
        "Satisfy.payload": lambda: c.satisfy(text),
    }
    outcome = t.probe(field, calls[field], read_only=field == "Satisfy.payload")
    if field == "UpdateState.payload" and is_json_object(text):
        return outcome  # {} and {"a": 1, "a": 2} are states
    assert outcome not in {"REGISTER_SUCCESS", "SUBMIT_SUCCESS", "UPDATE_STATE_SUCCESS"}, \
        f"{field} accepted {text[:60]!r}"
    return outcome


def _priorities(*steps: str) -> str:
    return "- priority: 1\n  steps:\n" + "".join(f"  - {step}\n" for step in steps)


HOSTILE_PRIORITIES = {
    "deep-dash": "- " * 5000 + "x",
    "deep-flow": "[" * 5000 + "]" * 5000,
    "not-a-list": "priority: 1",
    "python-tag": "!!python/object/apply:os.system ['true']",
    "huge-number": _priorities('calc: "x=' + "9" * 900 + '*' + "9" * 90 + '"', "sort_ascending: x", "select: first"),
    "power-tower": _priorities('calc: "x=9**9**9**9"', "select: first"),
    "division-by-zero": _priorities('calc: "x=1/0"', "sort_ascending: x", "select: first"),
    "long-expression": _priorities('filter: "' + "+".join(["1"] * 2000) + ' > 0"'),
    "dunder": _priorities('filter: "__import__(\'os\').system(\'true\')"'),
    "attribute": _priorities('filter: "nodes_free.__class__ > 0"'),
    "unknown-step": _priorities("explode: now"),
    "unknown-select": _priorities("select: everything"),
    "sort-missing-var": _priorities("sort_descending: nothing", "select: first"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_PRIORITIES))
def test_fuzz_hostile_selection_priorities(target, figures, case):
    """Constraint priorities come from the submitter: expressions, YAML and numbers chosen to hurt."""
    t = target
    options = {"priorities": HOSTILE_PRIORITIES[case]}
    outcomes = [t.probe("SubmitJob.select_options", lambda: t.client.submit(
        nextgen_jobspec(), [("fz-a", t.a_token), ("fz-b", t.b_token)], select_algorithm="constraint",
        select_options=options, satisfy_only=only), read_only=only) for only in (True, False)]
    figures.add(answers=" ".join(outcomes))


def _with_number(doc: dict, marker: str, digits: int, form: str = "json") -> str:
    """The document as text with the number `marker` replaced by a `digits`-digit integer literal."""
    return render(doc, form).replace(marker, "9" * digits)


def _hostile_number_cases(t: "Target", digits: int) -> dict[str, Callable[[], Any]]:
    c = t.client
    marker = "12345"
    job = nextgen_jobspec(nodes=1, cores=1)
    counts = copy.deepcopy(job)
    counts["resources"]["work"]["with"][0]["count"] = int(marker)
    memory = copy.deepcopy(job)
    memory["resources"]["work"]["with"].append({"type": "memory", "count": int(marker), "unit": "GB"})
    version = nextgen_jobspec(nodes=1, cores=1, requires=[{"name": "io", "field": "type", "min": marker,
                                                            "max": "1"}])
    parameter = nextgen_jobspec(nodes=1, cores=1, parameters={"weight": int(marker)})
    priorities = {"priorities": "- priority: 1\n  steps:\n  - calc: \"w=weight*2\"\n  - sort_ascending: w\n"
                                "  - select: first\n"}
    tokens = [("fz-a", t.a_token), ("fz-b", t.b_token)]
    state = '{"nodes_free": 12345}'
    return {
        "core count (json)": lambda: c.submit(_with_number(counts, marker, digits), tokens, satisfy_only=True),
        "core count (yaml)": lambda: c.submit(_with_number(counts, marker, digits, "yaml"), tokens,
                                              satisfy_only=True),
        "memory count in GB": lambda: c.submit(_with_number(memory, marker, digits), tokens, satisfy_only=True),
        "version bound": lambda: c.submit(_with_number(version, marker, digits), tokens, satisfy_only=True),
        "selection parameter": lambda: c.submit(_with_number(parameter, marker, digits), tokens,
                                                select_algorithm="constraint", select_options=priorities,
                                                satisfy_only=True),
        "state value": lambda: c.update_state("fz-b", t.b_secret, state.replace(marker, "9" * digits)),
        "satisfy count": lambda: c.satisfy(_with_number(counts, marker, digits)),
    }


HOSTILE_NUMBER_CASES = ["core count (json)", "core count (yaml)", "memory count in GB", "version bound",
                        "selection parameter", "state value", "satisfy count"]


@pytest.mark.parametrize("digits", [400, 5000])
@pytest.mark.parametrize("case", HOSTILE_NUMBER_CASES)
def test_fuzz_hostile_numbers(target, figures, case, digits):
    """Integers too large for a float (400 digits) or for Python's int parsing limit (5,000 digits) in every
    place a number is read: an answer or a clean refusal, never an internal error."""
    t = target
    call = _hostile_number_cases(t, digits)[case]
    figures.add(answer=t.probe(f"number {case}", call, read_only=case != "state value"))


RAW_METHODS = [
    "/convergedcomputing.org.grpc.v1.RainbowScheduler/Register",
    "/convergedcomputing.org.grpc.v1.RainbowScheduler/SubmitJob",
    "/convergedcomputing.org.grpc.v1.RainbowScheduler/UpdateState",
    "/convergedcomputing.org.grpc.v1.RainbowScheduler/AcceptJobs",
    "/convergedcomputing.org.grpc.v1.RainbowScheduler/ReceiveJobs",
    "/convergedcomputing.org.grpc.v1.RainbowScheduler/Delete",
    "/service.MemoryGraph/Satisfy",
    "/rainbow.jobs.v1.RainbowJobs/ListJobs",
]


def test_fuzz_raw_request_bytes(target, figures):
    """Bytes that are no valid protobuf message (or strings that are not UTF-8) sent straight to each method.

    gRPC itself refuses what does not decode (INTERNAL, "Exception deserializing request"), before any servicer
    runs; what decodes by chance carries no valid credential. Either way: no crash, nothing stored.
    """
    t = target
    channel = grpc.insecure_channel(t.server.address)
    calls = {m: channel.unary_unary(m, request_serializer=None, response_deserializer=None) for m in RAW_METHODS}
    # A string field (1) holding bytes that are not UTF-8, and random bytes.
    bad_utf8 = st.binary(min_size=1, max_size=40).filter(_not_utf8).map(lambda b: b"\x0a" + bytes([len(b)]) + b)

    def call(method, payload):
        try:
            calls[method](payload, timeout=30)
            return "answered"
        except grpc.RpcError as exc:
            code, details = exc.code().name, exc.details() or ""
            if code == "INTERNAL" and "deserializ" in details.lower():
                return "UNDECODABLE"
            raise RainbowError(code, details) from None

    @_fuzz("raw")
    @given(method=st.sampled_from(RAW_METHODS), payload=st.one_of(st.binary(max_size=200), bad_utf8))
    def run(method, payload):
        t.probe("raw " + method.rsplit("/", 1)[1], lambda: call(method, payload), read_only=True)

    try:
        run()
    finally:
        channel.close()
    operations = sorted(op for op in t.probe.outcomes if op.startswith("raw "))
    t.finish(figures, operations, "raw")


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return False
    except UnicodeDecodeError:
        return True


def test_fuzzed_clusters_still_work(target, figures):
    """After everything above, the two clusters still receive and take jobs as before."""
    t = target
    assert any(job.name == "seed-fz-a" for job in t.client.receive("fz-a", t.a_secret))
    job = t.client.submit(nextgen_jobspec(nodes=1, cores=2), [("fz-a", t.a_token)], name="after-fuzz")
    assert job.status == "SUBMIT_SUCCESS" and job.cluster == "fz-a"
    assert job.jobid in {j.id for j in t.client.receive("fz-a", t.a_secret)}
    figures.add(inputs_in_module=t.probe.sent)
