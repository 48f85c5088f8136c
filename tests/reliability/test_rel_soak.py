"""Mixed load for a while (30 minutes under `make soak`, a short run otherwise): submitters, pollers, state
updates, read-only queries and clusters registering and leaving, all at once. Reports throughput over time and
the server's memory; the memory must level off, not grow with the work done.
"""
from __future__ import annotations

import os
import random
import threading
import time

import pytest

from rainbow.client import RainbowClient

from .rel_env import pick
from .rel_graphs import cluster_graph, io_subsystem, nextgen_jobspec, render
from .rel_load import Ledger, Poller, PollBooks, Submitter, join_all, register, rss_mib

from serverutil import start_server  # noqa: E402

# RAINBOW_SOAK_SECONDS shortens or lengthens the run (e.g. a 5-minute check of the long variant).
DURATION = float(os.environ.get("RAINBOW_SOAK_SECONDS", pick(24.0, 1800.0)))
INTERVAL = min(pick(4.0, 60.0), DURATION / 6)
CLUSTERS = ("soak-a", "soak-b", "soak-c")

pytestmark = [pytest.mark.soak, pytest.mark.timeout(int(DURATION) + 300)]


class Worker(threading.Thread):
    """Runs one step function in a loop until stopped, counting steps; the first exception ends it."""

    def __init__(self, name: str, step, stop: threading.Event, pause: float) -> None:
        super().__init__(name=name, daemon=True)
        self.step = step
        self.stop = stop
        self.pause = pause
        self.steps = 0
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.step()
                self.steps += 1
                self.stop.wait(self.pause)
        except BaseException as exc:
            self.failure = exc


def test_mixed_load_memory_levels_off(tmp_path, figures):
    server = start_server(tmp_path / "server")
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        creds: dict[str, tuple[str, str]] = {}
        with RainbowClient(server.address) as client:
            for name in CLUSTERS:
                graph = cluster_graph(name, nodes=8, sockets=2, cores=8, memory_gib=128)
                creds[name] = register(client, name, server.secret, graph)
                client.register_subsystem(name, creds[name][1], "io", io_subsystem(graph))
                client.update_state(name, creds[name][1], {"nodes_free": 8, "cost_per_node_hour": 1})

        ledger = Ledger()
        books = PollBooks()
        tokens = [(name, creds[name][0]) for name in CLUSTERS]
        jobspec = render(nextgen_jobspec(nodes=2, cores=4, command=["app", "--size", "10"]), "yaml")
        threads += [Submitter(lambda: server.address, tokens, jobspec, f"soak{i}", ledger, stop) for i in range(2)]
        threads += [Poller(server.address, name, creds[name][1], books, stop, batch=50, take=50, seed=i,
                           until_empty=False, idle=0.05) for i, name in enumerate(CLUSTERS)]

        side = RainbowClient(server.address)
        rng = random.Random(7)
        churned = [0]

        def update_state() -> None:
            name = rng.choice(CLUSTERS)
            side.update_state(name, creds[name][1], {"nodes_free": rng.randint(0, 8),
                                                     "cost_per_node_hour": rng.randint(1, 9)})

        def read() -> None:
            side.satisfy(nextgen_jobspec(nodes=rng.randint(1, 9), cores=rng.randint(1, 20)))
            name = rng.choice(CLUSTERS)
            side.list_jobs(name, creds[name][1], state="accepted", limit=50)

        def churn() -> None:
            name = f"temp-{churned[0]}"
            graph = cluster_graph(name, nodes=rng.randint(1, 32), cores=rng.randint(1, 16))
            token, secret = register(side, name, server.secret, graph)
            side.submit(nextgen_jobspec(), [(name, token)], name=f"{name}-job")
            ids = [job.id for job in side.receive(name, secret)]
            assert side.accept(name, secret, ids) == "RESULT_TYPE_SUCCESS"
            assert side.delete(name, secret) == "DELETE_SUCCESS"
            churned[0] += 1

        workers = [Worker("state", update_state, stop, 0.05), Worker("read", read, stop, 0.05),
                   Worker("churn", churn, stop, 0.1)]
        threads += workers
        for thread in threads:
            thread.start()

        start = time.monotonic()
        samples: list[tuple[float, float, int, int]] = []  # (elapsed, rss, confirmed, accepted)
        figures.line(f"{'t_s':>6} {'submit/s':>9} {'accept/s':>9} {'rss_mib':>8} {'pending':>8} {'db_mib':>7}")
        last_confirmed = last_accepted = 0
        last_t = 0.0
        while (elapsed := time.monotonic() - start) < DURATION:
            time.sleep(min(INTERVAL, max(0.1, DURATION - elapsed)))
            elapsed = time.monotonic() - start
            for thread in threads:
                failure = getattr(thread, "failure", None)
                assert failure is None, f"{thread.name} failed: {failure!r}"
            confirmed = len(ledger.confirmed)
            with books.lock:
                accepted = sum(len(ids) for ids in books.accepted.values())
            rss = rss_mib(server.pid)
            samples.append((elapsed, rss, confirmed, accepted))
            span = elapsed - last_t
            db = sum(p.stat().st_size for p in server.db_path.parent.glob(server.db_path.name + "*")) / 2 ** 20
            figures.line(f"{elapsed:6.0f} {(confirmed - last_confirmed) / span:9.1f} "
                         f"{(accepted - last_accepted) / span:9.1f} {rss:8.1f} {confirmed - accepted:8d} {db:7.1f}")
            last_confirmed, last_accepted, last_t = confirmed, accepted, elapsed
        stop.set()
        join_all(threads, timeout=60)
        side.close()

        assert not ledger.refused and not ledger.unanswered, list(ledger.refused.items())[:3]
        # Drain what the pollers left and check the books: every confirmed job accepted exactly once.
        with RainbowClient(server.address) as client:
            for name in CLUSTERS:
                left = [job.id for job in client.receive(name, creds[name][1])]
                if left:
                    assert client.accept(name, creds[name][1], left) == "RESULT_TYPE_SUCCESS"
                    books.accepted.setdefault("drain", []).extend(left)
        accepted_ids = [i for ids in books.accepted.values() for i in ids]
        assert len(accepted_ids) == len(set(accepted_ids)), "a job was accepted twice"
        assert set(accepted_ids) == set(ledger.confirmed.values()), "confirmed and accepted jobs differ"

        warm = samples[max(0, len(samples) // 4 - 1)][1]
        middle = samples[len(samples) // 2][1]
        end = samples[-1][1]
        total = samples[-1][0]
        figures.add(seconds=round(total), submitted=len(ledger.confirmed), accepted=len(accepted_ids),
                    clusters_churned=churned[0], state_updates=workers[0].steps, reads=workers[1].steps,
                    submit_rate=round(len(ledger.confirmed) / total, 1), rss_warm_mib=round(warm, 1),
                    rss_mid_mib=round(middle, 1), rss_end_mib=round(end, 1))
        # Levelling off: the second half may not add more than a quarter of the warmed-up size (or 32 MiB).
        assert end - middle <= max(32.0, 0.25 * warm), f"memory still growing: {middle:.0f} -> {end:.0f} MiB"
        assert end - warm <= max(64.0, 0.5 * warm), f"memory grew {end - warm:.0f} MiB after warm-up"
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
        if server.running:
            server.stop()
