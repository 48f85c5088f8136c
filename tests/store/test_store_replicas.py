"""Three `rainbow serve` replicas on one PostgreSQL, with submitters and pollers spread over them at random.

Under load one replica is SIGKILLed and restarted, and (separately) PostgreSQL itself is restarted. The books then
show: no acknowledged job lost, none stored twice, no job handed to two receivers while its lease ran, none accepted
twice. And what one replica changes (a deletion, a state, a new cluster) the others answer by on their next call.
"""
from __future__ import annotations

import collections
import random
import threading
import time

import pytest

from rainbow.client import RainbowClient, RainbowError

from reliability.rel_graphs import cluster_graph, nextgen_jobspec, render
from reliability.rel_load import NO_ANSWER, Ledger, Submitter, join_all, register

from pgutil import find_bindir, start_postgres  # noqa: E402
from serverutil import start_server  # noqa: E402

REPLICAS = 3
LEASE = 5.0  # seconds a received job is kept from other receivers
SECRET = "replica-registration-secret"

pytestmark = [pytest.mark.timeout(300)]


class Replicas:
    def __init__(self, tmp_path, url: str) -> None:
        self.servers = [start_server(tmp_path / f"r{i}", db=url, secret=SECRET,
                                     extra_args=["--receive-lease", str(LEASE)]) for i in range(REPLICAS)]
        self.rng = random.Random()
        self.lock = threading.Lock()

    def any_address(self) -> str:
        with self.lock:
            running = [s for s in self.servers if s.running] or self.servers
            return self.rng.choice(running).address

    def stop(self) -> None:
        for server in self.servers:
            if server.running:
                try:
                    server.stop()
                except Exception:
                    server.kill()


@pytest.fixture
def replicas(tmp_path, pg_url):
    group = Replicas(tmp_path, pg_url)
    try:
        yield group
    finally:
        group.stop()


class Books:
    """Receipts and accepts of all pollers: a job may be handed out again only when its accept got no answer."""

    def __init__(self) -> None:
        self.received: dict[int, list[str]] = collections.defaultdict(list)
        self.accepted: dict[int, list[str]] = collections.defaultdict(list)
        self.unanswered_accepts: set[int] = set()
        self.lock = threading.Lock()


class LeasePoller(threading.Thread):
    """Receive a batch from a random replica and accept all of it there; on no answer, try another replica."""

    def __init__(self, group: Replicas, cluster: str, secret: str, books: Books, stop: threading.Event,
                 seed: int) -> None:
        super().__init__(name=f"lease-poll-{seed}", daemon=True)
        self.group, self.cluster, self.secret, self.books, self.stop = group, cluster, secret, books, stop
        self.failure: BaseException | None = None

    def run(self) -> None:
        client = None
        try:
            while not self.stop.is_set():
                if client is None:
                    client = RainbowClient(self.group.any_address(), timeout=10.0)
                ids: list[int] = []
                try:
                    jobs = client.receive(self.cluster, self.secret, max_jobs=8)
                    ids = [job.id for job in jobs]
                    with self.books.lock:
                        for jobid in ids:
                            self.books.received[jobid].append(self.name)
                    if not ids:
                        self.stop.wait(0.05)
                        continue
                    status = client.accept(self.cluster, self.secret, ids)
                except RainbowError as exc:
                    if exc.code not in NO_ANSWER:
                        raise
                    with self.books.lock:
                        self.books.unanswered_accepts.update(ids)
                    client.close()
                    client = None
                    continue
                if status != "RESULT_TYPE_SUCCESS":
                    raise AssertionError(f"AcceptJobs of jobs just received under a lease answered {status}")
                with self.books.lock:
                    for jobid in ids:
                        self.books.accepted[jobid].append(self.name)
        except BaseException as exc:
            self.failure = exc
        finally:
            if client is not None:
                client.close()


def _run_under_load(group: Replicas, fault, figures) -> None:
    with RainbowClient(group.servers[0].address) as client:
        token, secret = register(client, "shared", SECRET, cluster_graph("shared", nodes=2, cores=8))
    jobspec = render(nextgen_jobspec(nodes=1, cores=1, command=["true"]), "yaml")
    ledger, books = Ledger(), Books()
    stop_submit, stop_poll = threading.Event(), threading.Event()
    submitters = [Submitter(group.any_address, [("shared", token)], jobspec, f"s{i}", ledger, stop_submit)
                  for i in range(4)]
    pollers = [LeasePoller(group, "shared", secret, books, stop_poll, seed=i) for i in range(3)]
    for thread in (*submitters, *pollers):
        thread.start()
    try:
        _wait(lambda: len(ledger.confirmed) >= 30, 60, "no load before the fault")
        fault()
        since = len(ledger.confirmed)
        _wait(lambda: len(ledger.confirmed) >= since + 30, 60, "no progress after the fault")
    finally:
        stop_submit.set()
    join_all(submitters)
    confirmed_ids = set(ledger.confirmed.values())

    def all_accepted() -> bool:
        # An accept whose answer was lost with the killed replica may still have committed: the store, not the
        # pollers' books, says whether every acknowledged job has been accepted.
        failed = [f"{p.name}: {p.failure!r}" for p in pollers if p.failure is not None]
        assert not failed, f"pollers failed: {failed}"
        with books.lock:
            if not confirmed_ids <= set(books.accepted) | books.unanswered_accepts:
                return False
        return confirmed_ids <= _accepted_in_store(group, secret)

    _wait(all_accepted, 60, lambda: "confirmed jobs were never accepted: "
          f"{sorted(confirmed_ids - _accepted_in_store(group, secret))[:10]}")
    stop_poll.set()
    join_all(pollers)

    assert not ledger.refused, list(ledger.refused.items())[:5]
    assert len(confirmed_ids) == len(ledger.confirmed), "two submits answered with the same job id"
    twice = {jobid: who for jobid, who in books.accepted.items() if len(who) > 1}
    assert not twice, f"jobs accepted twice: {list(twice.items())[:5]}"
    handed_again = {jobid: who for jobid, who in books.received.items()
                    if len(who) > 1 and jobid not in books.unanswered_accepts}
    assert not handed_again, f"jobs handed to two receivers within their lease: {list(handed_again.items())[:5]}"
    with RainbowClient(group.any_address()) as client:
        stored = list(client.iter_jobs("shared", secret, limit=1000))
    names = collections.Counter(job.name for job in stored)
    assert all(n == 1 for n in names.values()), "a job stored twice"
    assert set(ledger.confirmed) <= set(names), "an acknowledged job was lost"
    assert set(names) <= set(ledger.confirmed) | ledger.unanswered, "a job nobody submitted"
    assert all(job.state == "accepted" for job in stored if job.name in ledger.confirmed)
    figures.add(confirmed=len(ledger.confirmed), unanswered=len(ledger.unanswered),
                accepted=len(books.accepted), unanswered_accepts=len(books.unanswered_accepts))


def _accepted_in_store(group: Replicas, secret: str) -> set[int]:
    try:
        with RainbowClient(group.any_address()) as client:
            return {job.id for job in client.iter_jobs("shared", secret, state="accepted", limit=1000)}
    except RainbowError as exc:
        if exc.code in NO_ANSWER:
            return set()
        raise


def _wait(condition, timeout: float, message) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message() if callable(message) else message
        time.sleep(0.05)


def test_sigkill_one_replica_under_load(replicas, figures):
    def fault() -> None:
        victim = replicas.servers[1]
        victim.kill()
        time.sleep(0.5)
        victim.start(victim.port)

    _run_under_load(replicas, fault, figures)


@pytest.mark.skipif(find_bindir() is None, reason="PostgreSQL is not installed")
def test_postgresql_restart_under_load(tmp_path, figures):
    own = start_postgres()  # a server of its own: restarting it must not disturb other tests' databases
    group = None
    try:
        group = Replicas(tmp_path, own.new_database("replicas"))

        def fault() -> None:
            own.restart()

        _run_under_load(group, fault, figures)
    finally:
        if group is not None:
            group.stop()
        own.remove()


def test_changes_through_one_replica_are_seen_by_the_others_at_once(replicas):
    a, b, c = (server.address for server in replicas.servers)
    spec = nextgen_jobspec(nodes=1, cores=1)
    with RainbowClient(a) as ca, RainbowClient(b) as cb, RainbowClient(c) as cc:
        token, secret = register(ca, "east", SECRET, cluster_graph("east", nodes=1, cores=4))
        west_token, west_secret = register(ca, "west", SECRET, cluster_graph("west", nodes=1, cores=4))
        both = [("east", token), ("west", west_token)]
        # Warm every replica's caches (token checks, match answers).
        for client in (cb, cc):
            assert client.submit(spec, [("east", token)]).status == "SUBMIT_SUCCESS"
            assert sorted(client.submit(spec, both, satisfy_only=True).clusters) == ["east", "west"]
        # A state set through one replica steers the next selection on another.
        cb.update_state("east", secret, {"nodes_free": 0})
        cb.update_state("west", west_secret, {"nodes_free": 1})
        options = {"priorities": "- priority: 1\n  steps:\n  - filter: \"nodes_free > 0\"\n  - select: random\n"}
        chosen = cc.submit(spec, both, select_algorithm="constraint", select_options=options)
        assert chosen.status == "SUBMIT_SUCCESS" and chosen.cluster == "west", chosen
        # A deletion through one replica: the secret and the token stop working on the others at once.
        assert ca.delete("east", secret) == "DELETE_SUCCESS"
        for client in (cb, cc):
            with pytest.raises(RainbowError) as err:
                client.submit(spec, [("east", token)])
            assert err.value.code == "PERMISSION_DENIED"
            with pytest.raises(RainbowError) as err:
                client.receive("east", secret)
            assert err.value.code in ("PERMISSION_DENIED", "NOT_FOUND")
            assert client.satisfy(spec).total_clusters == 1
