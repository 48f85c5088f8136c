"""Assemble and run the gRPC server: both rainbow services and the jobs listing on one port, plus the standard
health checking and reflection services, optional TLS / mutual TLS, and a graceful stop on SIGINT/SIGTERM."""
from __future__ import annotations

import gc
import logging
import socket
from concurrent import futures
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from rainbow.protos import (access_pb2, access_pb2_grpc, bids_pb2, bids_pb2_grpc, jobs_pb2, jobs_pb2_grpc, memory_pb2,
                            memory_pb2_grpc, rainbow_pb2, rainbow_pb2_grpc)
from rainbow.server.bidding import BidSweeper
from rainbow.server.scheduler import Scheduler
from rainbow.server.servicers import (MemoryGraphServicer, RainbowAccessServicer, RainbowBidsServicer,
                                     RainbowJobsServicer, RainbowSchedulerServicer)
from rainbow.shutdown import StopSignals
from rainbow.tlsfiles import TLSFileError, load_tls

if TYPE_CHECKING:
    from rainbow.server.metrics import ServerMetrics
    from rainbow.server.web import WebOptions

log = logging.getLogger("rainbow.server")

SERVICE_NAMES = (
    rainbow_pb2.DESCRIPTOR.services_by_name["RainbowScheduler"].full_name,
    memory_pb2.DESCRIPTOR.services_by_name["MemoryGraph"].full_name,
    jobs_pb2.DESCRIPTOR.services_by_name["RainbowJobs"].full_name,
    bids_pb2.DESCRIPTOR.services_by_name["RainbowBids"].full_name,
    access_pb2.DESCRIPTOR.services_by_name["RainbowAccess"].full_name,
)


# What the log line of the first SIGINT/SIGTERM says the server does.
STOPPING = "stopping, finishing requests in flight"


class ServerStartError(RuntimeError):
    """The server could not start (address in use, unreadable certificate); the message says which."""


@dataclass
class TLSFiles:
    cert: str
    key: str
    ca: str | None = None

    def credentials(self) -> grpc.ServerCredentials:
        """Checked first (rainbow.tlsfiles), so a bad file is one line naming it, not gRPC's own log lines."""
        try:
            material = load_tls(self.cert, self.key, self.ca)
        except TLSFileError as exc:
            raise ServerStartError(str(exc)) from None
        # With a CA, every client must present a certificate it signed (mutual TLS).
        return grpc.ssl_server_credentials([(material.key, material.cert)], root_certificates=material.ca,
                                           require_client_auth=material.ca is not None)


@dataclass
class ServerOptions:
    host: str = "127.0.0.1"
    port: int = 50051
    workers: int = 16
    max_message_bytes: int = 1024 * 1024 * 1024
    tls: TLSFiles | None = None
    grace_seconds: float = 10.0
    extra_options: list[tuple[str, int]] = field(default_factory=list)
    # The operator's HTTP port (metrics and status page); None: none.
    web: "WebOptions | None" = None
    # Where the server counts what it does; given with `web`, or alone for a caller that reads it itself.
    metrics: "ServerMetrics | None" = None


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def check_port_free(host: str, port: int) -> None:
    """Fail with a clear one-line error before gRPC tries (and logs its own multi-line complaint)."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ServerStartError(f"cannot listen on {bind_address(host, port)}: {exc.strerror}") from None
    family, kind, proto, _, sockaddr = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(sockaddr)
        except OSError as exc:
            raise ServerStartError(f"cannot listen on {bind_address(host, port)}: {exc.strerror}") from None


class RainbowServer:
    """One gRPC server around a Scheduler; `start` binds and serves, `stop` drains in-flight requests."""

    def __init__(self, scheduler: Scheduler, options: ServerOptions) -> None:
        self.scheduler = scheduler
        self.options = options
        self.port = 0
        self.health = health.HealthServicer()
        self._server: grpc.Server | None = None
        self.web = None  # the WebServer, while serving
        self._sweeper: BidSweeper | None = None

    def start(self) -> int:
        opts = self.options
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=opts.workers, thread_name_prefix="rainbow-rpc"),
            options=[("grpc.max_receive_message_length", opts.max_message_bytes),
                     ("grpc.max_send_message_length", opts.max_message_bytes),
                     # Never share a port with another process: a second server on the same port is an error.
                     ("grpc.so_reuseport", 0), *opts.extra_options],
            interceptors=[opts.metrics.interceptor((*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name[
                "Health"].full_name))] if opts.metrics is not None else None)
        rainbow_pb2_grpc.add_RainbowSchedulerServicer_to_server(RainbowSchedulerServicer(self.scheduler), server)
        memory_pb2_grpc.add_MemoryGraphServicer_to_server(MemoryGraphServicer(self.scheduler), server)
        jobs_pb2_grpc.add_RainbowJobsServicer_to_server(RainbowJobsServicer(self.scheduler), server)
        bids_pb2_grpc.add_RainbowBidsServicer_to_server(RainbowBidsServicer(self.scheduler), server)
        access_pb2_grpc.add_RainbowAccessServicer_to_server(RainbowAccessServicer(self.scheduler), server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection(
            (*SERVICE_NAMES, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME),
            server)
        address = bind_address(opts.host, opts.port)
        check_port_free(opts.host, opts.port)
        try:
            if opts.tls is not None:
                port = server.add_secure_port(address, opts.tls.credentials())
            else:
                port = server.add_insecure_port(address)
        except RuntimeError as exc:
            raise ServerStartError(f"cannot listen on {address}: {exc}") from None
        if not port:
            raise ServerStartError(f"cannot listen on {address}")
        if opts.web is not None:
            from rainbow.server.web import WebServer

            web = WebServer(self.scheduler, opts.metrics.registry if opts.metrics is not None else None, opts.web)
            try:
                web.start()
            except (OSError, ValueError) as exc:
                server.stop(0)
                raise ServerStartError(f"cannot serve HTTP on {bind_address(opts.web.host, opts.web.port)}: "
                                       f"{getattr(exc, 'strerror', None) or exc}") from None
            self.web = web
        server.start()
        self._sweeper = BidSweeper(self.scheduler.bidding)
        self._sweeper.start()
        for name in ("", *SERVICE_NAMES):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self._server = server
        self.port = port
        return port

    def stop(self, grace: float | None = None) -> None:
        """Refuse new requests, let those in flight finish (up to `grace` seconds), then close the store."""
        if self._server is None:
            return
        self.health.enter_graceful_shutdown()
        if self.web is not None:
            self.web.stop()
            self.web = None
        self._server.stop(self.options.grace_seconds if grace is None else grace).wait()
        self._server = None
        if self._sweeper is not None:
            self._sweeper.stop()
            self._sweeper = None
        self.scheduler.store.close()


def tune_collector(young: int = 50_000) -> None:
    """Freeze what the server loaded at start (graph indexes, caches) out of the cyclic collector's scans, and
    collect the young generation less often.

    A request allocates containers by the thousand (reading a 3,400-vertex graph makes about 30,000) and frees
    nearly all of them by reference counting. With the default threshold of 700 the collector ran some forty times
    per such registration and, every few of those, walked everything the server holds: a third of the
    registration's time. With 50,000 it runs about once.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(young, 20, 20)


def run_until_signalled(server: RainbowServer, announce: Callable[[str], None],
                        prepare: Callable[[], None] | None = None, signals: StopSignals | None = None) -> int:
    """Run `prepare` (the index rebuild), start `server`, announce it, serve until SIGINT or SIGTERM, stop
    gracefully; returns the exit status 0. A signal during `prepare` ends the run cleanly once it is done; a second
    signal, or a stop that outlasts the grace period, ends the process at once (see rainbow.shutdown).

    `signals` is the StopSignals the caller entered first thing, so that a signal during its own start-up counts."""
    if signals is None:
        with StopSignals(grace=0, say=log.info, stopping=STOPPING) as own:
            return run_until_signalled(server, announce, prepare, own)
    # The store is closed within the grace period too: half a second on top of gRPC's own.
    signals.grace = server.options.grace_seconds + 0.5
    stop = signals.stop
    if prepare is not None and not stop.is_set():
        prepare()
    tune_collector()
    if stop.is_set():
        log.info("not serving: stopped while starting")
        server.scheduler.store.close()
        return 0
    port = server.start()
    if server.web is not None:
        announce(f"rainbow: status page and metrics on {server.web.url}")
        log.info("status page and metrics on %s", server.web.url)
    announce(f"rainbow: serving on {server.options.host}:{port}")
    log.info("serving on %s:%d (%s)", server.options.host, port, "TLS" if server.options.tls else "plaintext")
    stop.wait()
    server.stop()
    log.info("stopped")
    return 0
