"""A client transport that calls a Scheduler in this process, through the same servicers the gRPC server runs.

Like an HTTP client's transport for an in-process app: no socket and no port, but the same request handling, so
limits, validation and error statuses are those a real server gives. Requests and answers still go through their
wire encoding, and `calls` keeps each (method, request) carried, so tests can see what a command sent.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2

from rainbow.client import ACCESS, BIDS, GRAPH, HEALTH, JOBS, SCHEDULER, error_from_status
from rainbow.server.scheduler import Scheduler
from rainbow.server.servicers import (MemoryGraphServicer, RainbowAccessServicer, RainbowBidsServicer,
                                     RainbowJobsServicer, RainbowSchedulerServicer)


class _Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


class _Context:
    """The part of grpc.ServicerContext the servicers use: abort() ends the call with a status."""

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise _Aborted(code, details)

    def invocation_metadata(self) -> tuple:
        return ()

    def peer(self) -> str:
        return "in-process"


class InProcessTransport:
    """Carries a RainbowClient's calls to `scheduler` directly (pass it as RainbowClient(transport=...))."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self._servicers = {SCHEDULER: RainbowSchedulerServicer(scheduler), GRAPH: MemoryGraphServicer(scheduler),
                           JOBS: RainbowJobsServicer(scheduler), BIDS: RainbowBidsServicer(scheduler),
                           ACCESS: RainbowAccessServicer(scheduler)}
        self.calls: list[tuple[str, Any]] = []
        self._lock = threading.Lock()

    @classmethod
    def over_sqlite(cls, folder: str | Path, *, registration_secret: str, **options: Any) -> "InProcessTransport":
        """A transport to a fresh scheduler whose store is a SQLite file in `folder`."""
        from rainbow.store import open_store

        store = open_store(Path(folder) / "rainbow.db")
        return cls(Scheduler(store, registration_secret=registration_secret, **options))

    def call(self, service: str, method: str, request: Any, response_type: Any, timeout: float) -> Any:
        sent = type(request).FromString(request.SerializeToString())
        with self._lock:
            self.calls.append((method, sent))
        if service == HEALTH:
            return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)
        servicer = self._servicers.get(service)
        handler = getattr(servicer, method, None) if servicer is not None else None
        if handler is None:
            raise error_from_status("UNIMPLEMENTED", f"method {service}/{method} is not served")
        try:
            response = handler(sent, _Context())
        except _Aborted as exc:
            raise error_from_status(exc.code.name, exc.details) from None
        return response_type.FromString(response.SerializeToString())

    def requests(self, method: str) -> list[Any]:
        """The requests carried for one method name (e.g. "SubmitJob"), oldest first."""
        with self._lock:
            return [request for name, request in self.calls if name == method]

    def close(self) -> None:
        """The scheduler and its store outlive the client: whoever made them closes them."""
