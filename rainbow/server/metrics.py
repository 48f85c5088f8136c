"""Prometheus metrics of one server: what it did (counters and histograms, per process) and what the store holds
(gauges read at scrape time, so every replica sharing a store reports the same figures).

Each server has its own CollectorRegistry rather than prometheus_client's global one, so that several servers in
one process (tests, the in-process transport) never register the same names twice. Every label takes values from
a bounded set: a method of a registered service, a gRPC status code, a selection algorithm of the registry, a store
operation, a job state, or a registered cluster name.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterable, Iterator

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from rainbow.server.scheduler import SchedulerObserver
from rainbow.store import JOB_STATES, Store, StoreError

log = logging.getLogger("rainbow.server")

# What a submit came to (the result label of rainbow_jobs_submitted_total).
SUBMIT_RESULTS = ("queued", "bidding", "satisfy_only", "no_fit", "not_selected", "denied", "invalid", "unavailable",
                  "error")

# What became of a bid answer (the result label of rainbow_bid_answers_total).
BID_ANSWERS = ("recorded", "answered", "closed", "unknown")
# How a bid window gave its job away (the outcome label of rainbow_bid_windows_decided_total).
BID_OUTCOMES = ("bid", "fallback", "reoffered")

# Matching a job against a few clusters takes tens of microseconds; a store write on PostgreSQL a few milliseconds.
_FAST_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                 2.5)
_RPC_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

OTHER_METHOD = "other"


class ServerMetrics(SchedulerObserver):
    """The metrics of one server, in their own registry; the scheduler reports to it as its observer."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.submitted = Counter("rainbow_jobs_submitted", "Job submissions, by what they came to.", ["result"],
                                 registry=r)
        for result in SUBMIT_RESULTS:
            self.submitted.labels(result)
        self.assignments = Counter("rainbow_assignments", "Jobs assigned to a cluster, by selection algorithm.",
                                   ["algorithm"], registry=r)
        self.bid_answers = Counter("rainbow_bid_answers", "Answers to bid requests, by what became of them.",
                                   ["result"], registry=r)
        self.bids_decided = Counter("rainbow_bid_windows_decided", "Bid windows that gave their job to a cluster, "
                                    "by how: bid, fallback or reoffered.", ["outcome"], registry=r)
        for result in BID_ANSWERS:
            self.bid_answers.labels(result)
        for outcome in BID_OUTCOMES:
            self.bids_decided.labels(outcome)
        self.match_seconds = Histogram("rainbow_match_duration_seconds",
                                       "Time to match one job against its candidate clusters (cache misses).",
                                       buckets=_FAST_BUCKETS, registry=r)
        self.selection_seconds = Histogram("rainbow_selection_duration_seconds",
                                           "Time to select one cluster among those that fit.",
                                           buckets=_FAST_BUCKETS, registry=r)
        self.store_seconds = Histogram("rainbow_store_operation_duration_seconds",
                                       "Time of one store operation, by operation.", ["operation"],
                                       buckets=_FAST_BUCKETS, registry=r)
        self.rpc_requests = Counter("rainbow_rpc_requests", "gRPC requests handled, by method and status code.",
                                    ["method", "code"], registry=r)
        self.rpc_seconds = Histogram("rainbow_rpc_duration_seconds",
                                     "Time to handle one gRPC request, by method and status code.",
                                     ["method", "code"], buckets=_RPC_BUCKETS, registry=r)

    # -- SchedulerObserver ---------------------------------------------------------------------------------
    def submit_result(self, result: str) -> None:
        self.submitted.labels(result if result in SUBMIT_RESULTS else "error").inc()

    def assigned(self, algorithm: str) -> None:
        self.assignments.labels(algorithm).inc()

    def match_duration(self, seconds: float) -> None:
        self.match_seconds.observe(seconds)

    def bid_answer(self, result: str) -> None:
        self.bid_answers.labels(result if result in BID_ANSWERS else "other").inc()

    def bid_decided(self, outcome: str) -> None:
        self.bids_decided.labels(outcome).inc()

    def selection_duration(self, seconds: float) -> None:
        self.selection_seconds.observe(seconds)

    # -- wiring ----------------------------------------------------------------------------------------------
    def watch_store(self, store: Store) -> None:
        """Report the store's shared figures at every scrape (see StoreCollector)."""
        self.registry.register(StoreCollector(store))

    def interceptor(self, services: Iterable[str]) -> "MetricsInterceptor":
        return MetricsInterceptor(self, services)


class TimedStore:
    """A store whose public operations are timed into rainbow_store_operation_duration_seconds; everything else
    (attributes, closing) passes through unchanged."""

    def __init__(self, store: Store, metrics: ServerMetrics) -> None:
        self._store = store
        self._histogram = metrics.store_seconds
        self._wrapped: dict[str, Callable] = {}

    @property
    def inner(self) -> Store:
        return self._store

    def __getattr__(self, name: str) -> Any:
        found = self._wrapped.get(name)
        if found is not None:
            return found
        value = getattr(self._store, name)
        if name.startswith("_") or not callable(value) or name == "close":
            return value
        child = self._histogram.labels(name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                child.observe(time.perf_counter() - start)

        timed.__name__ = name
        self._wrapped[name] = timed
        return timed


class StoreCollector(Collector):
    """Gauges read from the store at scrape time: jobs by state, the oldest pending job's age, clusters registered,
    seconds since each cluster last reported its state (since it registered, when it never did), and whether the
    store answered at all."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def describe(self) -> list:
        return []  # the figures are only known at scrape time; nothing to check at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("rainbow_store_up", "1 when the store answered this scrape, else 0.")
        try:
            summary = self.store.job_summary()
            names = self.store.cluster_names()
            created = {name: record.created for name, record in self.store.get_clusters(names).items()}
            reported = self.store.state_times()
        except StoreError as exc:
            log.warning("metrics: store unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        now = time.time()
        jobs = GaugeMetricFamily("rainbow_jobs", "Jobs on record (not retired), by state.", labels=["state"])
        for state in JOB_STATES:
            jobs.add_metric([state], summary.by_state.get(state, 0))
        yield jobs
        oldest = GaugeMetricFamily("rainbow_oldest_pending_job_age_seconds",
                                   "Seconds the oldest pending job has waited to be accepted (0: none pending).")
        oldest.add_metric([], max(0.0, now - summary.oldest_pending) if summary.oldest_pending else 0.0)
        yield oldest
        yield GaugeMetricFamily("rainbow_clusters_registered", "Clusters registered.", value=len(names))
        silent = GaugeMetricFamily("rainbow_cluster_last_report_age_seconds",
                                   "Seconds since the cluster last reported its state (since it registered, when "
                                   "it never did).", labels=["cluster"])
        for name in names:
            since = reported.get(name, created.get(name))
            if since is not None:
                silent.add_metric([name], max(0.0, now - since))
        yield silent


def _status_name(context: grpc.ServicerContext, failed: bool) -> str:
    code = None
    try:
        code = context.code()
    except Exception:  # older grpcio without ServicerContext.code()
        code = None
    if isinstance(code, grpc.StatusCode):
        return code.name
    return "UNKNOWN" if failed else "OK"


class MetricsInterceptor(grpc.ServerInterceptor):
    """Counts and times every RPC by method and final status code; methods of services the server does not have
    are counted under one "other" label, so a client cannot grow the label set."""

    def __init__(self, metrics: ServerMetrics, services: Iterable[str]) -> None:
        self.metrics = metrics
        self.services = frozenset(services)

    def _method(self, full: str) -> str:
        service = full.lstrip("/").rpartition("/")[0]
        return full if service in self.services else OTHER_METHOD

    def _record(self, method: str, code: str, seconds: float) -> None:
        self.metrics.rpc_requests.labels(method, code).inc()
        self.metrics.rpc_seconds.labels(method, code).observe(seconds)

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        method = self._method(handler_call_details.method)
        if handler is None:
            self._record(method, "UNIMPLEMENTED", 0.0)
            return None
        if handler.unary_unary:
            return handler._replace(unary_unary=self._unary(handler.unary_unary, method))
        if handler.stream_unary:
            return handler._replace(stream_unary=self._unary(handler.stream_unary, method))
        if handler.unary_stream:
            return handler._replace(unary_stream=self._streaming(handler.unary_stream, method))
        if handler.stream_stream:
            return handler._replace(stream_stream=self._streaming(handler.stream_stream, method))
        return handler

    def _unary(self, behaviour, method: str):
        def wrapped(request, context):
            start = time.perf_counter()
            failed = False
            try:
                return behaviour(request, context)
            except BaseException:
                failed = True
                raise
            finally:
                self._record(method, _status_name(context, failed), time.perf_counter() - start)

        return wrapped

    def _streaming(self, behaviour, method: str):
        def wrapped(request, context):
            start = time.perf_counter()
            failed = False
            try:
                yield from behaviour(request, context)
            except BaseException:
                failed = True
                raise
            finally:
                self._record(method, _status_name(context, failed), time.perf_counter() - start)

        return wrapped
