"""Fifty clusters register in parallel while jobs are being submitted: no error but the expected ones.

The expected ones: a name registered twice at the same moment gives exactly one REGISTER_SUCCESS, the others
REGISTER_EXISTS. Every new cluster can take a job with its own token at once, and the submitters never notice.
"""
from __future__ import annotations

import collections
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from rainbow.client import RainbowClient

from .rel_env import pick
from .rel_graphs import cluster_graph, io_subsystem, nextgen_jobspec, render
from .rel_load import Ledger, Submitter, join_all, register
from .rel_store import table_rows

from serverutil import start_server  # noqa: E402

CLUSTERS = pick(50, 200)
DOOMED = pick(12, 60)
RACERS = 8  # threads registering the very same name at once
WORKERS = 12

pytestmark = [pytest.mark.soak, pytest.mark.timeout(pick(240, 900))]


def test_parallel_registration_while_submitting(tmp_path, figures, store_db):
    server = start_server(tmp_path / "server", db=store_db)
    stop = threading.Event()
    subs: list[Submitter] = []
    try:
        with RainbowClient(server.address) as client:
            base_token, _ = register(client, "base", server.secret, cluster_graph("base", nodes=2, cores=4))
        ledger = Ledger()
        jobspec = render(nextgen_jobspec(nodes=1, cores=2), "yaml")
        subs = [Submitter(lambda: server.address, [("base", base_token)], jobspec, f"bg{i}", ledger, stop)
                for i in range(2)]
        for sub in subs:
            sub.start()

        def one(i: int):
            name = f"par-{i:03d}"
            graph = cluster_graph(name, nodes=1 + i % 7, sockets=1 + i % 2, cores=2 + i % 5, memory_gib=i % 3 * 16)
            with RainbowClient(server.address) as c:
                result = c.register(name, server.secret, graph)
                assert result.status == "REGISTER_SUCCESS", f"{name}: {result.status}"
                if i % 5 == 0:
                    assert c.register_subsystem(name, result.secret, "io", io_subsystem(graph)) == "REGISTER_SUCCESS"
                job = c.submit(nextgen_jobspec(nodes=1, cores=2), [(name, result.token)], name=f"first-{name}")
                assert job.status == "SUBMIT_SUCCESS" and job.cluster == name
                return name, result

        def racer(_: int):
            with RainbowClient(server.address) as c:
                return c.register("contested", server.secret, cluster_graph("contested", nodes=2, cores=2))

        with ThreadPoolExecutor(WORKERS) as pool:
            race = [pool.submit(racer, i) for i in range(RACERS)]
            made = list(pool.map(one, range(CLUSTERS)))
            raced = [f.result() for f in race]
        outcomes = collections.Counter(r.status for r in raced)
        assert outcomes == {"REGISTER_SUCCESS": 1, "REGISTER_EXISTS": RACERS - 1}, outcomes
        assert all(not r.token and not r.secret for r in raced if r.status == "REGISTER_EXISTS")

        stop.set()
        join_all(subs)
        assert not ledger.refused and not ledger.unanswered, \
            f"background submits failed: {list(ledger.refused.items())[:3]} / {sorted(ledger.unanswered)[:3]}"

        with RainbowClient(server.address) as client:
            tokens = [(name, result.token) for name, result in made]
            fit = client.submit(nextgen_jobspec(nodes=1, cores=2), tokens, satisfy_only=True)
            assert sorted(fit.clusters) == sorted(name for name, _ in made), fit.reasons
            for name, result in made:
                got = client.receive(name, result.secret)
                assert [job.name for job in got] == [f"first-{name}"]
            satisfied = client.satisfy(nextgen_jobspec(nodes=1, cores=1))
            assert satisfied.total_clusters == CLUSTERS + 2
        figures.add(clusters=CLUSTERS, racers=RACERS, background_jobs=len(ledger.confirmed))

        # Everything registered survives a restart.
        server.restart()
        with RainbowClient(server.address) as client:
            assert client.satisfy(nextgen_jobspec(nodes=1, cores=1)).total_clusters == CLUSTERS + 2
    finally:
        stop.set()
        for sub in subs:
            sub.join(5)
        if server.running:
            server.stop()


def test_delete_while_submitting_leaves_no_orphans(tmp_path, figures):
    """Clusters deleted while jobs stream in: each submit is queued or refused (the token died with the cluster),
    and nothing of a deleted cluster stays behind for whoever registers its name next."""
    server = start_server(tmp_path / "server")
    stop = threading.Event()
    subs: list[Submitter] = []
    try:
        creds = {}
        with RainbowClient(server.address) as client:
            for i in range(DOOMED):
                name = f"doomed-{i:02d}"
                graph = cluster_graph(name, nodes=2, cores=2)
                creds[name] = register(client, name, server.secret, graph)
                client.register_subsystem(name, creds[name][1], "io", io_subsystem(graph))
                client.update_state(name, creds[name][1], {"nodes_free": 1})
        ledger = Ledger()
        jobspec = render(nextgen_jobspec(nodes=1, cores=1), "json")
        subs = [Submitter(lambda: server.address, [(name, creds[name][0])], jobspec, f"to-{name}", ledger, stop)
                for name in creds]
        for sub in subs:
            sub.start()
        with RainbowClient(server.address) as client, ThreadPoolExecutor(4) as pool:
            deleted = list(pool.map(lambda name: client.delete(name, creds[name][1]), creds))
        assert deleted == ["DELETE_SUCCESS"] * DOOMED
        stop.set()
        join_all(subs)
        assert not ledger.unanswered
        reasons = collections.Counter(why.split(":")[0] for why in ledger.refused.values())
        assert set(reasons) <= {"PERMISSION_DENIED", "FAILED_PRECONDITION", "NOT_FOUND"}, reasons

        leftovers = {
            table: table_rows(server.db_path, f"SELECT COUNT(*) FROM {table} WHERE {column} LIKE 'doomed-%'")[0][0]
            for table, column in (("clusters", "name"), ("graphs", "cluster"), ("states", "cluster"))}
        leftovers["pending jobs"] = table_rows(
            server.db_path, "SELECT COUNT(*) FROM jobs WHERE state = 'pending' AND cluster LIKE 'doomed-%'")[0][0]
        assert not any(leftovers.values()), f"a deleted cluster left rows behind: {leftovers}"
        with RainbowClient(server.address) as client:
            for name in list(creds)[:3]:
                _, secret = register(client, name, server.secret, cluster_graph(name, nodes=2, cores=2))
                assert client.receive(name, secret) == [], f"{name} registered again inherits pending jobs"
        figures.add(clusters_deleted=DOOMED, queued_before_delete=len(ledger.confirmed),
                    refused_after=len(ledger.refused), **{k.replace(" ", "_"): v for k, v in reasons.items()})
    finally:
        stop.set()
        for sub in subs:
            sub.join(5)
        if server.running:
            server.stop()
