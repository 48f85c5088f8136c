"""Limits: a message just over the size limit, an over-long jobspec, deeply nested and alias-bomb jobspecs are
refused cleanly (a clear error, the server up, the store unchanged), while the same kind of input just under the
limit is accepted.
"""
from __future__ import annotations

import json
import sqlite3

import pytest

from rainbow.client import RainbowClient, RainbowError
from rainbow.server.limits import default_limits

from .rel_graphs import (alias_bomb_yaml, cluster_graph, nested_dash_jobspec, nested_flow_jobspec,
                         nested_jobspec_yaml, nextgen_jobspec)
from .rel_env import pick
from .rel_load import died, register, rss_mib
from .rel_store import dump_diff, store_dump

from serverutil import start_server  # noqa: E402

MESSAGE_MB = 1
LIMIT = MESSAGE_MB * 1024 * 1024
# The server's own limit on a jobspec's size (rainbow/data/server-limits.yaml).
FIELD_LIMIT = default_limits().max_jobspec_bytes
STATE_TOO_BIG = {f"key{i}": i for i in range(default_limits().max_state_bytes // 8)}

pytestmark = [pytest.mark.timeout(240)]


def _graph_of_size(name: str, low: int, high: int) -> str:
    """A valid graph whose JSON text lies between low and high bytes (padded through a node property)."""
    nodes = 1
    while len(json.dumps(cluster_graph(name, nodes=nodes * 2, cores=4))) < low:
        nodes *= 2
    graph = cluster_graph(name, nodes=nodes, cores=4)
    text = json.dumps(graph)
    pad = low - len(text) + (high - low) // 2
    assert pad >= 0
    first = next(v for v in graph["graph"]["nodes"].values() if v["metadata"]["type"] == "node")
    first["metadata"]["properties"]["padding"] = "p" * max(0, pad - len(', "padding": ""'))
    text = json.dumps(graph)
    assert low <= len(text) <= high, (low, len(text), high)
    return text


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("limits"), extra_args=["--max-message-mb", str(MESSAGE_MB)])
    try:
        with RainbowClient(server.address) as client:
            token, secret = register(client, "small", server.secret, cluster_graph("small", nodes=2, cores=4))
        yield server, token, secret
    finally:
        if server.running:
            server.stop()


@pytest.fixture(autouse=True)
def _revive(request):
    """A server that an earlier test killed is started again, so that one crash fails one test, not the module."""
    for name in ("limited", "roomy"):
        if name in request.fixturenames:
            server = request.getfixturevalue(name)[0]
            if not server.running:
                server.start(server.port)


def _refused(server, call, codes: set[str]) -> RainbowError:
    before = store_dump(server.db_path)
    with pytest.raises(RainbowError) as info:
        call()
    assert not died(server, info.value), died(server)
    assert info.value.code in codes, f"{info.value.code}: {info.value.details}"
    after = store_dump(server.db_path)
    assert after == before, dump_diff(before, after)
    with RainbowClient(server.address) as client:
        assert client.health() == "SERVING"
    return info.value


def test_message_just_over_the_limit_is_refused(limited, figures):
    server, _, _ = limited
    over = _graph_of_size("too-big", LIMIT + 1024, LIMIT + 8192)
    under = _graph_of_size("fits", LIMIT - 96 * 1024, LIMIT - 64 * 1024)
    with RainbowClient(server.address, timeout=60) as client:
        error = _refused(server, lambda: client.register("too-big", server.secret, over),
                         {"RESOURCE_EXHAUSTED", "INVALID_ARGUMENT"})
        assert client.register("fits", server.secret, under).status == "REGISTER_SUCCESS"
    figures.add(limit_bytes=LIMIT, over_bytes=len(over), under_bytes=len(under), refused_with=error.code)


NESTED = {
    "yaml-block": nested_jobspec_yaml,
    "yaml-flow": nested_flow_jobspec,
    "yaml-dash": nested_dash_jobspec,
    "yaml-key": lambda depth: nested_dash_jobspec(depth, "?"),
    "json": lambda depth: '{"version": 1, "resources": {"work": ' + "[" * depth + "]" * depth + "}}",
}


@pytest.mark.parametrize("form,depth", [("yaml-block", 300), ("yaml-flow", 3000), ("yaml-flow", 200_000),
                                        ("yaml-dash", 3000), ("yaml-dash", 200_000), ("yaml-key", 200_000),
                                        ("json", 3000), ("json", 200_000)])
def test_deeply_nested_jobspec_is_refused_cleanly(limited, figures, form, depth):
    server, token, _ = limited
    text = NESTED[form](depth)
    assert len(text) < LIMIT
    with RainbowClient(server.address, timeout=60) as client:
        error = _refused(server, lambda: client.submit(text, [("small", token)], name=f"deep-{form}"),
                         {"INVALID_ARGUMENT", "FAILED_PRECONDITION"})
        before = store_dump(server.db_path)
        try:
            satisfied = f"{len(client.satisfy(text).clusters)} clusters"
        except RainbowError as exc:
            assert exc.code == "INVALID_ARGUMENT", f"Satisfy: {exc}"
            satisfied = exc.code
        assert server.running and store_dump(server.db_path) == before
        assert client.health() == "SERVING"
    figures.add(form=form, depth=depth, bytes=len(text), submit=error.code, satisfy=satisfied)


def test_yaml_alias_bomb_does_not_take_the_server_down(limited, figures):
    server, token, secret = limited
    text = alias_bomb_yaml()
    rss_before = rss_mib(server.pid)
    with RainbowClient(server.address, timeout=60) as client:
        before = store_dump(server.db_path)
        try:
            answer = client.submit(text, [("small", token)], name="bomb").status
        except RainbowError as exc:
            assert exc.code in {"INVALID_ARGUMENT", "FAILED_PRECONDITION"}, str(exc)
            assert store_dump(server.db_path) == before
            answer = exc.code
        assert server.running
        assert client.health() == "SERVING"
        received = client.receive("small", secret)
        if answer == "SUBMIT_SUCCESS":
            # Stored as the text it came as: kilobytes, not the billions of leaves it names.
            assert len(received[-1].jobspec) == len(text)
            client.accept("small", secret, [received[-1].id])
    growth = rss_mib(server.pid) - rss_before
    figures.add(bomb_bytes=len(text), answer=answer, rss_growth_mib=round(growth, 1))
    assert growth < 256, f"server memory grew {growth:.0f} MiB on a {len(text)}-byte jobspec"


@pytest.fixture(scope="module")
def roomy(tmp_path_factory):
    """A server with the default message limit, so that the per-field limits are what refuses."""
    server = start_server(tmp_path_factory.mktemp("fields"))
    try:
        with RainbowClient(server.address) as client:
            token, secret = register(client, "small", server.secret, cluster_graph("small", nodes=2, cores=4))
        yield server, token, secret
    finally:
        if server.running:
            server.stop()


def test_jobspec_over_its_size_limit_is_refused(roomy, figures):
    server, token, _ = roomy
    spec = nextgen_jobspec(nodes=1, cores=1)
    spec["attributes"] = {"parameter": {"note": "x" * (FIELD_LIMIT + 1024)}}
    text = json.dumps(spec)
    with RainbowClient(server.address, timeout=60) as client:
        error = _refused(server, lambda: client.submit(text, [("small", token)], name="huge"), {"INVALID_ARGUMENT"})
        assert "jobspec" in error.details
        spec["attributes"]["parameter"]["note"] = "x" * (FIELD_LIMIT - 4096)
        assert client.submit(json.dumps(spec), [("small", token)], name="fits").status == "SUBMIT_SUCCESS"
    figures.add(jobspec_bytes=len(text), refused_with=error.code)


def test_long_names_and_many_ids_are_refused_cleanly(roomy, figures):
    server, token, secret = roomy
    with RainbowClient(server.address, timeout=60) as client:
        answers = [
            _refused(server, lambda: client.register("n" * 5000, server.secret, cluster_graph("n")),
                     {"INVALID_ARGUMENT"}),
            _refused(server, lambda: client.submit(nextgen_jobspec(), [("small", token)], name="j" * 100_000),
                     {"INVALID_ARGUMENT"}),
            _refused(server, lambda: client.accept("small", secret, range(1, 200_001)), {"INVALID_ARGUMENT"}),
            _refused(server, lambda: client.update_state("small", secret, STATE_TOO_BIG), {"INVALID_ARGUMENT"}),
        ]
    figures.add(refused=len(answers), fields=" ".join(e.details.split(":")[0] for e in answers))


BIG_NODES = 10_000
CYCLES = pick(5, 12)


def test_ten_thousand_node_graphs_register_and_their_memory_is_given_back(roomy, figures):
    """The largest graph the design promises, registered, matched and deleted again and again: the server keeps
    only each cluster's index, so memory may settle higher after the first parse (the allocator keeps its arenas)
    but must not grow by a graph's worth with every cycle."""
    server, _, _ = roomy
    text = json.dumps(cluster_graph("big", nodes=BIG_NODES, cores=4, memory_gib=64))
    base = rss_mib(server.pid)
    samples = []
    with RainbowClient(server.address, timeout=300) as client:
        for cycle in range(CYCLES):
            name = f"big-{cycle}"
            token, secret = register(client, name, server.secret, text.replace('"big"', f'"{name}"', 1))
            fit = client.submit(nextgen_jobspec(nodes=BIG_NODES, cores=4), [(name, token)], name="everything")
            assert fit.cluster == name
            too_many = nextgen_jobspec(nodes=BIG_NODES + 1, cores=4)
            assert client.submit(too_many, [(name, token)], satisfy_only=True).clusters == []
            assert client.delete(name, secret) == "DELETE_SUCCESS"
            samples.append(round(rss_mib(server.pid)))
    first_jump = samples[0] - base
    figures.add(graph_mb=round(len(text) / 1e6, 1), nodes=BIG_NODES, rss_base_mib=round(base),
                rss_after_each_cycle_mib=",".join(map(str, samples)))
    # Keeping each deleted graph in parsed form would add about the first jump with every cycle; the allocator's
    # settling adds far less, and less and less.
    later = samples[-1] - samples[len(samples) // 2]
    assert later < first_jump, f"memory grows with every big registration: {base:.0f} then {samples}"


def test_job_ids_at_the_end_of_the_wire_range(tmp_path, figures):
    """Job ids travel as int32. When the store's next id would not fit, SubmitJob must refuse and store nothing,
    and the cluster's queue must stay receivable."""
    server = start_server(tmp_path / "server")
    try:
        with RainbowClient(server.address) as client:
            token, secret = register(client, "old", server.secret, cluster_graph("old", nodes=1, cores=2))
            first = client.submit(nextgen_jobspec(), [("old", token)], name="first").jobid
        server.stop()
        # Years of jobs later: move the id counter to just below the int32 limit (server stopped, own connection).
        conn = sqlite3.connect(server.db_path)
        with conn:
            conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'jobs'", (2 ** 31 - 2,))
        conn.close()
        server.start(server.port)
        with RainbowClient(server.address) as client:
            last = client.submit(nextgen_jobspec(), [("old", token)], name="last")
            assert last.jobid == 2 ** 31 - 1
            before = store_dump(server.db_path)
            with pytest.raises(RainbowError) as info:
                client.submit(nextgen_jobspec(), [("old", token)], name="beyond")
            after = store_dump(server.db_path)
            assert info.value.code in {"FAILED_PRECONDITION", "RESOURCE_EXHAUSTED"}, str(info.value)
            assert after == before, f"a refused submit left a job behind:\n{dump_diff(before, after)}"
            assert [job.id for job in client.receive("old", secret)] == [first, 2 ** 31 - 1]
        figures.add(last_id=last.jobid, beyond=info.value.code)
    finally:
        if server.running:
            server.stop()
