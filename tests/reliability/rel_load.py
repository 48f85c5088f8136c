"""Client loops that put load on a live server and keep exact books of what it answered.

The crash, concurrency and soak tests all need the same thing: many clients calling at once, each recording which
calls the server confirmed, which got no answer (the server died or was unreachable), and which were refused.
The books, not timing, decide the tests: a confirmed job must exist exactly once, an unanswered one at most once.
"""
from __future__ import annotations

import itertools
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import psutil

from rainbow.client import RainbowClient, RainbowError

# A call that ends with one of these got no answer: the request may or may not have been carried out.
NO_ANSWER = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED"})


@dataclass
class Ledger:
    """What happened to every submit: confirmed (name -> job id), unanswered, or refused with an error."""

    confirmed: dict[str, int] = field(default_factory=dict)
    unanswered: set[str] = field(default_factory=set)
    refused: dict[str, str] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, name: str, jobid: int) -> None:
        with self.lock:
            self.confirmed[name] = jobid
            self.times.append(time.monotonic())

    def lost(self, name: str) -> None:
        with self.lock:
            self.unanswered.add(name)

    def refuse(self, name: str, why: str) -> None:
        with self.lock:
            self.refused[name] = why

    def count_since(self, since: float) -> int:
        with self.lock:
            return sum(1 for t in self.times if t >= since)


class Submitter(threading.Thread):
    """Submits jobs with unique names until stopped, reconnecting whenever the server is unreachable.

    `address` is a callable so that a server restarted on another port is found again.
    """

    def __init__(self, address: Callable[[], str], clusters: list[tuple[str, str]], jobspec: str | Mapping[str, Any],
                 prefix: str, ledger: Ledger, stop: threading.Event, *, limit: int = 0,
                 timeout: float = 10.0) -> None:
        super().__init__(name=f"submit-{prefix}", daemon=True)
        self.address = address
        self.clusters = clusters
        self.jobspec = jobspec
        self.prefix = prefix
        self.ledger = ledger
        self.stop = stop
        self.limit = limit
        self.timeout = timeout
        self.attempts = 0
        self.reconnects = 0
        self.failure: BaseException | None = None

    def run(self) -> None:
        client: RainbowClient | None = None
        try:
            for i in itertools.count():
                if self.stop.is_set() or (self.limit and i >= self.limit):
                    return
                if client is None:
                    client = RainbowClient(self.address(), timeout=self.timeout)
                name = f"{self.prefix}-{i:06d}"
                self.attempts += 1
                try:
                    result = client.submit(self.jobspec, self.clusters, name=name)
                except RainbowError as exc:
                    if exc.code in NO_ANSWER:
                        self.ledger.lost(name)
                        client.close()
                        client = None
                        self.reconnects += 1
                        self.stop.wait(0.02)
                    else:
                        self.ledger.refuse(name, str(exc))
                    continue
                if result.status == "SUBMIT_SUCCESS" and result.jobid > 0:
                    self.ledger.ok(name, result.jobid)
                else:
                    self.ledger.refuse(name, f"{result.status} jobid={result.jobid}")
        except BaseException as exc:  # reported by the test, which joins the thread
            self.failure = exc
        finally:
            if client is not None:
                client.close()


@dataclass
class PollBooks:
    """Which poller accepted which job; a job in two pollers' sets was accepted twice."""

    accepted: dict[str, list[int]] = field(default_factory=dict)
    receives: int = 0
    accepts: int = 0
    contended: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Poller(threading.Thread):
    """A cluster's poller: receive a batch, accept a few of them one id at a time, repeat until the queue is empty.

    Accepting single ids is what makes the books exact: RESULT_TYPE_SUCCESS for one id means this poller, and no
    other, took that job. Several pollers see the same batch, so they race for the same ids on purpose.
    """

    def __init__(self, address: str, cluster: str, secret: str, books: PollBooks, stop: threading.Event, *,
                 batch: int = 32, take: int = 4, seed: int = 0, until_empty: bool = True,
                 idle: float = 0.05) -> None:
        super().__init__(name=f"poll-{seed}", daemon=True)
        self.address = address
        self.cluster = cluster
        self.secret = secret
        self.books = books
        self.stop = stop
        self.batch = batch
        self.take = take
        self.rng = random.Random(seed)
        self.until_empty = until_empty
        self.idle = idle
        self.mine: list[int] = []
        self.failure: BaseException | None = None
        with books.lock:
            books.accepted[self.name] = self.mine

    def run(self) -> None:
        try:
            with RainbowClient(self.address, timeout=30.0) as client:
                while not self.stop.is_set():
                    jobs = client.receive(self.cluster, self.secret, max_jobs=self.batch)
                    with self.books.lock:
                        self.books.receives += 1
                    if not jobs:
                        if self.until_empty:
                            return
                        self.stop.wait(self.idle)
                        continue
                    ids = [job.id for job in jobs]
                    self.rng.shuffle(ids)
                    for jobid in ids[: self.take]:
                        status = client.accept(self.cluster, self.secret, [jobid])
                        with self.books.lock:
                            self.books.accepts += 1
                            if status == "RESULT_TYPE_SUCCESS":
                                self.mine.append(jobid)
                            elif status == "RESULT_TYPE_PARTIAL":
                                self.books.contended += 1
                            else:
                                raise AssertionError(f"AcceptJobs([{jobid}]) answered {status}")
        except BaseException as exc:
            self.failure = exc


def join_all(threads: list[threading.Thread], timeout: float = 120.0) -> None:
    """Join the threads and raise the first failure one of them recorded."""
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.1, deadline - time.monotonic()))
        assert not thread.is_alive(), f"{thread.name} did not finish within {timeout:.0f}s"
    for thread in threads:
        failure = getattr(thread, "failure", None)
        if failure is not None:
            raise AssertionError(f"{thread.name} failed: {failure!r}") from failure


def register(client: RainbowClient, name: str, secret: str, graph: Mapping[str, Any] | str) -> tuple[str, str]:
    """Register a cluster that must not exist yet; returns its (token, secret)."""
    result = client.register(name, secret, graph)
    assert result.status == "REGISTER_SUCCESS", f"register {name}: {result.status}"
    assert result.token and result.secret, f"register {name} returned no credentials"
    return result.token, result.secret


def died(server, error: RainbowError | None = None, grace: float = 3.0) -> str:
    """Why the server is gone ("" while it runs); after an UNAVAILABLE answer, waits a moment for it to exit."""
    if error is not None and error.code in NO_ANSWER and server.proc is not None:
        try:
            server.proc.wait(grace)
        except Exception:  # still running after the grace period: it did not die
            pass
    if server.running:
        return ""
    return f"the server died (exit status {server.proc.poll()}): {server.log_tail(8)}"


def rss_mib(pid: int) -> float:
    """Resident memory of a process in MiB."""
    return psutil.Process(pid).memory_info().rss / (1024 * 1024)


@dataclass
class AcceptBooks:
    """Accepts under crashes: confirmed (id -> poller), unanswered ids (the answer was lost), and double claims."""

    confirmed: dict[int, str] = field(default_factory=dict)
    unanswered: set[int] = field(default_factory=set)
    doubles: list[tuple[int, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class CrashPoller(threading.Thread):
    """A poller that carries on through server crashes: receive, accept one id, reconnect when unanswered."""

    def __init__(self, address: Callable[[], str], cluster: str, secret: str, books: AcceptBooks,
                 stop: threading.Event, *, seed: int = 0, batch: int = 16) -> None:
        super().__init__(name=f"crash-poll-{seed}", daemon=True)
        self.address = address
        self.cluster = cluster
        self.secret = secret
        self.books = books
        self.stop = stop
        self.rng = random.Random(seed)
        self.batch = batch
        self.failure: BaseException | None = None

    def run(self) -> None:
        client: RainbowClient | None = None
        try:
            while not self.stop.is_set():
                if client is None:
                    client = RainbowClient(self.address(), timeout=10.0)
                jobid = None
                try:
                    jobs = client.receive(self.cluster, self.secret, max_jobs=self.batch)
                    if not jobs:
                        self.stop.wait(0.02)
                        continue
                    jobid = self.rng.choice(jobs).id
                    status = client.accept(self.cluster, self.secret, [jobid])
                except RainbowError as exc:
                    if exc.code not in NO_ANSWER:
                        raise
                    if jobid is not None:
                        with self.books.lock:
                            self.books.unanswered.add(jobid)
                    client.close()
                    client = None
                    self.stop.wait(0.02)
                    continue
                if status == "RESULT_TYPE_SUCCESS":
                    with self.books.lock:
                        if jobid in self.books.confirmed:
                            self.books.doubles.append((jobid, self.books.confirmed[jobid], self.name))
                        self.books.confirmed[jobid] = self.name
                elif status != "RESULT_TYPE_PARTIAL":
                    raise AssertionError(f"AcceptJobs([{jobid}]) answered {status}")
        except BaseException as exc:
            self.failure = exc
        finally:
            if client is not None:
                client.close()


@dataclass
class RegisterBooks:
    confirmed: dict[str, tuple[str, str]] = field(default_factory=dict)
    unanswered: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Registrar(threading.Thread):
    """Registers new clusters one after another through crashes, keeping the credentials of confirmed ones."""

    def __init__(self, address: Callable[[], str], secret: str, graph_for: Callable[[str], Mapping[str, Any]],
                 books: RegisterBooks, stop: threading.Event, prefix: str = "reg") -> None:
        super().__init__(name=f"registrar-{prefix}", daemon=True)
        self.address = address
        self.secret = secret
        self.graph_for = graph_for
        self.books = books
        self.stop = stop
        self.prefix = prefix
        self.failure: BaseException | None = None

    def run(self) -> None:
        client: RainbowClient | None = None
        try:
            for i in itertools.count():
                if self.stop.is_set():
                    return
                if client is None:
                    client = RainbowClient(self.address(), timeout=10.0)
                name = f"{self.prefix}-{i:05d}"
                try:
                    result = client.register(name, self.secret, self.graph_for(name))
                except RainbowError as exc:
                    if exc.code not in NO_ANSWER:
                        raise
                    with self.books.lock:
                        self.books.unanswered.add(name)
                    client.close()
                    client = None
                    self.stop.wait(0.02)
                    continue
                assert result.status == "REGISTER_SUCCESS", f"{name}: {result.status}"
                with self.books.lock:
                    self.books.confirmed[name] = (result.token, result.secret)
        except BaseException as exc:
            self.failure = exc
        finally:
            if client is not None:
                client.close()
