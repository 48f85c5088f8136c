"""Crash safety: SIGKILL the server while four clients submit (or send it a burst of SIGTERM/SIGINT, which stops it
at once on the second signal), restart it on the same database, repeat.

A job whose SubmitJob was answered with success must be receivable afterwards exactly once; a job whose submit got
no answer (the server died under it) may exist or not, but never twice; and nothing else may appear.
"""
from __future__ import annotations

import collections
import os
import random
import threading
import time

import pytest

from rainbow.client import RainbowClient

from .rel_env import pick
from .rel_graphs import cluster_graph, nextgen_jobspec, render
from .rel_load import (AcceptBooks, CrashPoller, Ledger, Registrar, RegisterBooks, Submitter, join_all,
                       register)
from .rel_signals import PATTERNS, SERVER_GRACE, allowed_statuses, send, wait_exit
from .rel_store import table_rows

from serverutil import start_server  # noqa: E402  (tests/ is on sys.path, see rel_env)

KILL_POINTS = pick(6, 30)
KILL_POINTS_MIXED = pick(5, 20)
CLIENTS = 4
# Seconds of load between a restart and the next kill, drawn at random in this range.
LOAD_BETWEEN = pick((0.2, 1.2), (0.5, 6.0))
# Before each kill, wait until the restarted server has confirmed this many submits (proves it recovered).
PROGRESS = 5
RECOVERY_WAIT = 60.0

pytestmark = [pytest.mark.soak, pytest.mark.timeout(pick(240, 1800))]


CRASHES = ["sigkill", "signal-storm"]
# Each crash on SQLite; on PostgreSQL, SIGKILL (what differs there is the store, not how the process ends).
CRASH_CASES = [(how, "sqlite") for how in CRASHES] + [("sigkill", "postgresql")]


def _crash(server, how: str, rng: random.Random) -> None:
    """End the server abruptly: SIGKILL, or a burst of signals (a random pattern) that must end it within the grace
    period plus a second."""
    if how == "sigkill":
        server.kill()
        return
    name = rng.choice(sorted(PATTERNS))
    status = wait_exit(server.proc, send(server.proc, PATTERNS[name], rng), SERVER_GRACE + 1.0)
    server.returncode = status
    assert status in allowed_statuses(PATTERNS[name]), \
        f"{name}: the server ended with {status} (None: hung): {server.log_tail()}"
    assert "Traceback" not in server.stderr(), server.log_tail()


def _wait_for_progress(ledger: Ledger, since: float, count: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = ledger.count_since(since)
        if done >= count:
            return done
        time.sleep(0.02)
    return ledger.count_since(since)


@pytest.mark.parametrize("how, store_db", CRASH_CASES, indirect=["store_db"])
def test_sigkill_under_load_loses_and_duplicates_nothing(tmp_path, figures, how, store_db):
    seed = int(os.environ.get("RAINBOW_SEED", time.time_ns() % 2 ** 32))
    rng = random.Random(seed)
    figures.add(seed=seed)
    server = start_server(tmp_path / "server", db=store_db)
    stop = threading.Event()
    submitters: list[Submitter] = []
    try:
        graph = cluster_graph("crashy", nodes=3, cores=8)
        with RainbowClient(server.address) as client:
            token, secret = register(client, "crashy", server.secret, graph)
        jobspec = render(nextgen_jobspec(nodes=2, cores=4, command=["sleep", "1"]), "yaml")
        ledger = Ledger()
        submitters = [Submitter(lambda: server.address, [("crashy", token)], jobspec, f"crash{i}", ledger, stop)
                      for i in range(CLIENTS)]
        for sub in submitters:
            sub.start()

        restarted_at = time.monotonic()
        downtime: list[float] = []
        for point in range(KILL_POINTS):
            done = _wait_for_progress(ledger, restarted_at, PROGRESS, RECOVERY_WAIT)
            assert done >= PROGRESS, f"after restart {point} the server confirmed only {done} submits in " \
                                     f"{RECOVERY_WAIT:.0f}s: {server.log_tail()}"
            time.sleep(rng.uniform(*LOAD_BETWEEN))
            killed_at = time.monotonic()
            _crash(server, how, rng)
            time.sleep(rng.uniform(0.0, 0.3))
            server.restart()
            restarted_at = time.monotonic()
            downtime.append(restarted_at - killed_at)
        done = _wait_for_progress(ledger, restarted_at, PROGRESS, RECOVERY_WAIT)
        assert done >= PROGRESS, f"after the last restart the server confirmed only {done} submits"
        # One graceful restart under the same load: SIGTERM finishes what is in flight and exits 0.
        assert server.stop() == 0, server.log_tail()
        server.start(server.port)
        restarted_at = time.monotonic()
        done = _wait_for_progress(ledger, restarted_at, PROGRESS, RECOVERY_WAIT)
        assert done >= PROGRESS, f"after the graceful restart the server confirmed only {done} submits"
        stop.set()
        join_all(submitters)

        assert not ledger.refused, f"submits refused (not merely unanswered): {list(ledger.refused.items())[:5]}"

        with RainbowClient(server.address) as client:
            received = client.receive("crashy", secret, max_jobs=0)
            listed = list(client.iter_jobs("crashy", secret, state="pending", limit=1000))

        ids = [job.id for job in received]
        names = collections.Counter(job.name for job in received)
        assert len(ids) == len(set(ids)), "ReceiveJobs returned an id twice"
        twice = [name for name, n in names.items() if n > 1]
        assert not twice, f"jobs stored more than once: {twice[:10]}"
        by_name = {job.name: job.id for job in received}
        missing = [name for name in ledger.confirmed if name not in by_name]
        assert not missing, f"{len(missing)} confirmed jobs lost, e.g. {missing[:5]}"
        wrong_id = [(name, jobid, by_name[name]) for name, jobid in ledger.confirmed.items()
                    if by_name[name] != jobid]
        assert not wrong_id, f"jobs stored under another id than SubmitJob answered: {wrong_id[:5]}"
        phantoms = [name for name in by_name if name not in ledger.confirmed and name not in ledger.unanswered]
        assert not phantoms, f"jobs nobody submitted: {phantoms[:5]}"
        assert sorted(ids) == [job.id for job in listed], "ListJobs and ReceiveJobs disagree on the pending jobs"

        # The same books, read straight from the file.
        rows = table_rows(server.db_path, "SELECT name, COUNT(*) FROM jobs WHERE cluster = ? GROUP BY name",
                          ("crashy",))
        assert all(n == 1 for _, n in rows) and len(rows) == len(received)

        # Every received job is accepted exactly once, and that survives one more crash.
        with RainbowClient(server.address) as client:
            assert client.accept("crashy", secret, ids) == "RESULT_TYPE_SUCCESS"
        server.kill()
        server.restart()
        with RainbowClient(server.address) as client:
            assert client.receive("crashy", secret) == []
            assert client.accept("crashy", secret, ids[:1]) == "RESULT_TYPE_PARTIAL"
            accepted = list(client.iter_jobs("crashy", secret, state="accepted", limit=1000))
        assert sorted(job.id for job in accepted) == sorted(ids)

        unanswered_kept = sum(1 for name in ledger.unanswered if name in by_name)
        figures.add(kill_points=KILL_POINTS, clients=CLIENTS, confirmed=len(ledger.confirmed),
                    unanswered=len(ledger.unanswered), unanswered_stored=unanswered_kept, stored=len(received),
                    attempts=sum(s.attempts for s in submitters),
                    mean_downtime_s=round(sum(downtime) / len(downtime), 3))
    finally:
        stop.set()
        for sub in submitters:
            sub.join(5)
        if server.running:
            server.stop()


@pytest.mark.parametrize("how, store_db", CRASH_CASES, indirect=["store_db"])
def test_sigkill_during_accepts_and_registrations(tmp_path, figures, how, store_db):
    """Kill while pollers accept and a registrar registers: accepts and registrations are all-or-nothing too."""
    seed = int(os.environ.get("RAINBOW_SEED", time.time_ns() % 2 ** 32)) + 1
    rng = random.Random(seed)
    figures.add(seed=seed)
    server = start_server(tmp_path / "server", db=store_db)
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        with RainbowClient(server.address) as client:
            token, secret = register(client, "crashq", server.secret, cluster_graph("crashq", nodes=2, cores=4))
        address = lambda: server.address  # noqa: E731  (the port is kept across restarts, the object is not)
        ledger, accepts, registrations = Ledger(), AcceptBooks(), RegisterBooks()
        jobspec = render(nextgen_jobspec(nodes=1, cores=1), "json")
        threads = [Submitter(address, [("crashq", token)], jobspec, "feed", ledger, stop),
                   *[CrashPoller(address, "crashq", secret, accepts, stop, seed=i) for i in range(3)],
                   Registrar(address, server.secret, lambda name: cluster_graph(name, nodes=3, cores=2),
                             registrations, stop)]
        for thread in threads:
            thread.start()
        restarted_at = time.monotonic()
        for point in range(KILL_POINTS_MIXED):
            done = _wait_for_progress(ledger, restarted_at, PROGRESS, RECOVERY_WAIT)
            assert done >= PROGRESS, f"restart {point}: no progress: {server.log_tail()}"
            time.sleep(rng.uniform(*LOAD_BETWEEN))
            _crash(server, how, rng)
            time.sleep(rng.uniform(0.0, 0.3))
            server.restart()
            restarted_at = time.monotonic()
        assert _wait_for_progress(ledger, restarted_at, PROGRESS, RECOVERY_WAIT) >= PROGRESS
        stop.set()
        join_all(threads)
        assert not ledger.refused, list(ledger.refused.items())[:5]

        with RainbowClient(server.address) as client:
            jobs = list(client.iter_jobs("crashq", secret, limit=1000))
            by_id = {job.id: job for job in jobs}
            assert len(by_id) == len(jobs), "ListJobs gave an id twice"
            names = collections.Counter(job.name for job in jobs)
            assert all(n == 1 for n in names.values()), "a job stored twice"
            assert not [n for n in ledger.confirmed if n not in names], "confirmed jobs lost"
            assert not [n for n in names if n not in ledger.confirmed and n not in ledger.unanswered], "phantoms"
            assert not accepts.doubles, f"accepted twice: {accepts.doubles[:5]}"
            not_accepted = [i for i in accepts.confirmed if by_id[i].state != "accepted"]
            assert not not_accepted, f"confirmed accepts not recorded: {not_accepted[:5]}"
            accepted = {job.id for job in jobs if job.state == "accepted"}
            stray = accepted - set(accepts.confirmed) - accepts.unanswered
            assert not stray, f"jobs accepted that nobody accepted: {sorted(stray)[:5]}"
            pending = [job.id for job in jobs if job.state == "pending"]
            assert sorted(job.id for job in client.receive("crashq", secret)) == sorted(pending)
            if pending:
                assert client.accept("crashq", secret, pending) == "RESULT_TYPE_SUCCESS"

            # Registrations are atomic: a cluster row always comes with its graph, and every one is matchable.
            clusters = {row[0] for row in table_rows(server.db_path, "SELECT name FROM clusters")}
            graphs = {row[0] for row in table_rows(server.db_path,
                                                   "SELECT cluster FROM graphs WHERE subsystem = ''")}
            assert clusters == graphs, f"clusters without graphs: {clusters ^ graphs}"
            made = clusters - {"crashq"}
            assert set(registrations.confirmed) <= made, "confirmed registrations lost"
            assert made <= set(registrations.confirmed) | registrations.unanswered, "clusters nobody registered"
            assert client.satisfy(nextgen_jobspec(nodes=1, cores=1)).total_clusters == len(clusters)
            for name, (reg_token, reg_secret) in sorted(registrations.confirmed.items())[-10:]:
                assert client.receive(name, reg_secret) == []
                fit = client.submit(nextgen_jobspec(nodes=3, cores=2), [(name, reg_token)], satisfy_only=True)
                assert fit.clusters == [name]
        figures.add(kill_points=KILL_POINTS_MIXED, jobs=len(jobs), accepts_confirmed=len(accepts.confirmed),
                    accepts_unanswered=len(accepts.unanswered), registrations=len(registrations.confirmed),
                    registrations_unanswered=len(registrations.unanswered),
                    unanswered_registrations_kept=len(made & registrations.unanswered))
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
        if server.running:
            server.stop()


def test_clients_that_give_up_early_leave_no_duplicates(tmp_path, figures):
    """Submits with deadlines of a few milliseconds: many time out while the server works on them. A job whose
    client gave up may or may not be queued, but never twice, and every answered one is there."""
    server = start_server(tmp_path / "server")
    try:
        with RainbowClient(server.address) as client:
            token, secret = register(client, "hasty", server.secret, cluster_graph("hasty", nodes=2, cores=4))
        ledger = Ledger()
        stop = threading.Event()
        jobspec = render(nextgen_jobspec(nodes=1, cores=1), "yaml")
        per = pick(150, 1500)
        subs = [Submitter(lambda: server.address, [("hasty", token)], jobspec, f"hasty{i}", ledger, stop,
                          limit=per, timeout=0.002 * (i + 1)) for i in range(4)]
        for sub in subs:
            sub.start()
        join_all(subs, timeout=300)
        assert not ledger.refused, list(ledger.refused.items())[:5]
        with RainbowClient(server.address) as client:
            jobs = client.receive("hasty", secret)
        names = collections.Counter(job.name for job in jobs)
        assert all(n == 1 for n in names.values()), "a job queued twice"
        assert set(ledger.confirmed) <= set(names), "answered jobs missing"
        assert set(names) <= set(ledger.confirmed) | ledger.unanswered, "jobs nobody submitted"
        assert {job.id for job in jobs} >= set(ledger.confirmed.values())
        assert server.running
        figures.add(attempts=per * 4, answered=len(ledger.confirmed), gave_up=len(ledger.unanswered),
                    gave_up_but_queued=len(set(names) & ledger.unanswered))
    finally:
        if server.running:
            server.stop()
