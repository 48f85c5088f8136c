"""The Python client of a rainbow server: one method per RPC, typed results, gRPC failures as RainbowError.

The CLI uses only this module, and other programs (a cluster's job poller, a workflow tool) can use it the same way.
It speaks the upstream protocol (protocol.md), so it also works against an upstream server: statuses come back as
the enum names the server sent, and upstream's "request denied" (status UNKNOWN) counts as PermissionDenied.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

import grpc
from google.protobuf import timestamp_pb2

from rainbow.address import DEFAULT_ADDRESS, with_default_port
from rainbow.protos import access_pb2, bids_pb2, jobs_pb2, memory_pb2, rainbow_pb2
from rainbow.tlsfiles import load_tls


# -- errors -----------------------------------------------------------------------------------------------------
class RainbowError(Exception):
    """A call failed: `.code` is the grpc.StatusCode name (e.g. "PERMISSION_DENIED"), `.details` the server's words."""

    def __init__(self, code: str, details: str) -> None:
        self.code = code
        self.details = details
        one_line = " ".join(details.split()) if details else code.lower().replace("_", " ")
        super().__init__(f"{code}: {one_line}")


class PermissionDenied(RainbowError):
    """A secret or token was missing, wrong, or another cluster's."""


class InvalidArgument(RainbowError):
    """The request was malformed (bad graph, jobspec, name, payload...); the details name the field."""


class NotFound(RainbowError):
    """The cluster or subsystem named does not exist."""


class FailedPrecondition(RainbowError):
    """The request was valid but cannot be done now, e.g. no candidate cluster fits the job."""


class Unavailable(RainbowError):
    """The server could not be reached."""


_ERRORS: dict[str, type[RainbowError]] = {
    "PERMISSION_DENIED": PermissionDenied,
    "UNAUTHENTICATED": PermissionDenied,
    "INVALID_ARGUMENT": InvalidArgument,
    "NOT_FOUND": NotFound,
    "FAILED_PRECONDITION": FailedPrecondition,
    "UNAVAILABLE": Unavailable,
}


def error_from_rpc(exc: grpc.RpcError) -> RainbowError:
    """Turn a grpc.RpcError into the matching RainbowError subclass."""
    status = exc.code() if hasattr(exc, "code") else None
    code = status.name if status is not None else "UNKNOWN"
    details = (exc.details() if hasattr(exc, "details") else "") or ""
    return error_from_status(code, details)


def error_from_status(code: str, details: str) -> RainbowError:
    """The RainbowError for a status code name and its details, whichever transport carried the call."""
    if code == "UNKNOWN" and details.strip() == "request denied":
        return PermissionDenied("PERMISSION_DENIED", details)
    return _ERRORS.get(code, RainbowError)(code, details)


# -- results ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RegisterResult:
    status: str
    token: str
    secret: str


@dataclass(frozen=True)
class SubmitResult:
    status: str
    jobid: int
    cluster: str
    clusters: list[str]
    reasons: dict[str, str]


@dataclass(frozen=True)
class SatisfyResult:
    clusters: list[str]
    reasons: dict[str, str]
    total_clusters: int
    total_matches: int
    total_mismatches: int


@dataclass(frozen=True)
class Job:
    """A queued job as ReceiveJobs hands it to its cluster."""

    id: int
    cluster: str
    name: str
    jobspec: str
    command: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "cluster": self.cluster, "name": self.name, "jobspec": self.jobspec,
                "command": self.command}


@dataclass(frozen=True)
class ListedJob:
    """A job as ListJobs shows it: pending, accepted or closed, with its times (UTC; None until they happen) and
    what its cluster's agent last reported (status, local id, exit code, reason)."""

    id: int
    cluster: str
    name: str
    state: str
    submitted: datetime | None
    accepted: datetime | None
    jobspec: str
    status: str = ""
    local_id: str = ""
    exit_code: int | None = None
    reason: str = ""
    updated: datetime | None = None
    started: datetime | None = None
    ended: datetime | None = None
    cancel_requested: bool = False
    tried: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "cluster": self.cluster, "name": self.name, "state": self.state,
                "submitted": _iso(self.submitted), "accepted": _iso(self.accepted), "jobspec": self.jobspec,
                "status": self.status, "local_id": self.local_id, "exit_code": self.exit_code,
                "reason": self.reason, "updated": _iso(self.updated), "started": _iso(self.started),
                "ended": _iso(self.ended), "cancel_requested": self.cancel_requested, "tried": list(self.tried)}


def listed_job(job: jobs_pb2.JobInfo) -> ListedJob:
    """A JobInfo as a ListedJob."""
    def when(name: str) -> datetime | None:
        return _timestamp(getattr(job, name), job.HasField(name))

    return ListedJob(id=job.id, cluster=job.cluster, name=job.name, state=job.state, submitted=when("submitted"),
                     accepted=when("accepted"), jobspec=job.jobspec, status=job.status, local_id=job.local_id,
                     exit_code=job.exit_code if job.HasField("exit_code") else None, reason=job.reason,
                     updated=when("updated"), started=when("started"), ended=when("ended"),
                     cancel_requested=job.cancel_requested, tried=list(job.tried))


@dataclass(frozen=True)
class ReportResult:
    job: ListedJob
    requeued_to: str


@dataclass(frozen=True)
class CancelResult:
    job: ListedJob
    outcome: str  # withdrawn, requested or final


@dataclass(frozen=True)
class BidAsked:
    """A bid request open to a cluster: the job, and when its window closes (UTC)."""

    job_id: int
    name: str
    jobspec: str
    closes: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "name": self.name, "closes": _iso(self.closes), "jobspec": self.jobspec}


@dataclass(frozen=True)
class BidSeen:
    cluster: str
    answered: bool
    will_run: bool
    eta_seconds: float | None
    cost: float | None


@dataclass(frozen=True)
class JobBids:
    """A job put out for bids: "bidding", "offered" (pending on `cluster`) or "accepted", with every bid and the
    reason each candidate won or lost."""

    job_id: int
    state: str
    cluster: str
    closes: datetime | None
    bids: list[BidSeen]
    reasons: dict[str, str]
    tried: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "state": self.state, "cluster": self.cluster, "closes": _iso(self.closes),
                "bids": [vars(b) for b in self.bids], "reasons": dict(self.reasons), "tried": list(self.tried)}


@dataclass(frozen=True)
class UserInfo:
    """A user as the admin sees it: its grants ((kind, target) pairs) and the clusters they reach."""

    name: str
    created: float
    grants: list[tuple[str, str]]
    clusters: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "created": self.created,
                "grants": [{"kind": k, "target": t} for k, t in self.grants], "clusters": self.clusters}


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: float
    action: str
    subject: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at, "action": self.action, "subject": self.subject, "detail": self.detail}


@dataclass(frozen=True)
class RotateResult:
    credential: str
    old_until: float


@dataclass(frozen=True)
class JobPage:
    jobs: list[ListedJob] = field(default_factory=list)
    next_after_id: int = 0


def _iso(when: datetime | None) -> str | None:
    return when.isoformat().replace("+00:00", "Z") if when is not None else None


def _timestamp(ts: timestamp_pb2.Timestamp, present: bool) -> datetime | None:
    if not present:
        return None
    return datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, tz=timezone.utc)


def _now() -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.GetCurrentTime()
    return ts


def _text(document: str | bytes | Mapping[str, Any]) -> str:
    """Graphs, jobspecs and state travel as text: a mapping becomes compact JSON, text goes as it is."""
    if isinstance(document, bytes):
        return document.decode("utf-8")
    if isinstance(document, str):
        return document
    return json.dumps(document, separators=(",", ":"))


def parse_job(jobid: int, text: str, cluster: str) -> Job:
    """Read one ReceiveJobs entry; an entry that is not a JSON object is kept whole as the jobspec."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return Job(id=jobid, cluster=cluster, name="", jobspec=text, command="")
    jobspec = data.get("jobspec", "")
    return Job(
        id=int(data.get("id", jobid) or jobid),
        cluster=str(data.get("cluster") or cluster),
        name=str(data.get("name") or ""),
        jobspec=jobspec if isinstance(jobspec, str) else json.dumps(jobspec),
        command=str(data.get("command") or ""),
    )


# -- retries ----------------------------------------------------------------------------------------------------
# The calls that may be sent twice without changing the outcome: they read, or (UpdateState) set the same value
# again. gRPC retries them itself when the server is UNAVAILABLE (restarting, or not yet listening), with backoff;
# registering, submitting, accepting and deleting are never retried, since a first attempt may have taken effect.
IDEMPOTENT_METHODS = {
    "convergedcomputing.org.grpc.v1.RainbowScheduler": ("ReceiveJobs", "UpdateState"),
    "rainbow.jobs.v1.RainbowJobs": ("ListJobs", "CancelRequests"),
    "rainbow.access.v1.RainbowAccess": ("ListJobs", "WhoAmI", "ListUsers", "ListGroups", "ListAudit"),
    "rainbow.bids.v1.RainbowBids": ("OpenBids", "JobBids"),
    "service.MemoryGraph": ("Satisfy",),
}
RETRY_POLICY = {"maxAttempts": 5, "initialBackoff": "0.1s", "maxBackoff": "2s", "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"]}
RETRY_SERVICE_CONFIG = json.dumps({"methodConfig": [{
    "name": [{"service": service, "method": method}
             for service, methods in IDEMPOTENT_METHODS.items() for method in methods],
    "retryPolicy": RETRY_POLICY,
}]})


# -- transports -------------------------------------------------------------------------------------------------
SCHEDULER = "convergedcomputing.org.grpc.v1.RainbowScheduler"
GRAPH = "service.MemoryGraph"
JOBS = "rainbow.jobs.v1.RainbowJobs"
BIDS = "rainbow.bids.v1.RainbowBids"
ACCESS = "rainbow.access.v1.RainbowAccess"
HEALTH = "grpc.health.v1.Health"


class Transport(Protocol):
    """How a call reaches a server: one request message in, one response message out, or a RainbowError.

    The client builds messages and reads answers; the transport only carries them, so the same client runs over a
    gRPC channel or in the same process as a scheduler (rainbow.server.inprocess)."""

    def call(self, service: str, method: str, request: Any, response_type: Any, timeout: float) -> Any: ...

    def close(self) -> None: ...


class GrpcTransport:
    """A gRPC channel to a server address, plain or TLS; idempotent calls retried by the channel's service config."""

    def __init__(self, address: str, *, tls_ca: str | None = None, tls_cert: str | None = None,
                 tls_key: str | None = None, server_name: str | None = None) -> None:
        # The server enforces the message limit; the client must not refuse a large graph or job list first.
        options: list[tuple[str, Any]] = [("grpc.max_send_message_length", -1),
                                          ("grpc.max_receive_message_length", -1),
                                          ("grpc.enable_retries", 1),
                                          ("grpc.service_config", RETRY_SERVICE_CONFIG)]
        if server_name:
            options.append(("grpc.ssl_target_name_override", server_name))
        if tls_ca or tls_cert:
            material = load_tls(tls_cert, tls_key, tls_ca)  # TLSFileError (a ValueError) names a bad file
            credentials = grpc.ssl_channel_credentials(
                root_certificates=material.ca, private_key=material.key, certificate_chain=material.cert)
            self.channel = grpc.secure_channel(address, credentials, options=options)
        else:
            self.channel = grpc.insecure_channel(address, options=options)
        self._methods: dict[str, Any] = {}

    def call(self, service: str, method: str, request: Any, response_type: Any, timeout: float) -> Any:
        path = f"/{service}/{method}"
        stub = self._methods.get(path)
        if stub is None:
            stub = self._methods[path] = self.channel.unary_unary(
                path, request_serializer=type(request).SerializeToString,
                response_deserializer=response_type.FromString)
        try:
            return stub(request, timeout=timeout)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None

    def close(self) -> None:
        self.channel.close()


# -- the client -------------------------------------------------------------------------------------------------
class RainbowClient:
    """A connection to one rainbow server. Use as a context manager, or call close().

    `transport` replaces the gRPC channel the address and TLS options would open, e.g. with
    rainbow.server.inprocess.InProcessTransport to run against a scheduler in this process."""

    def __init__(
        self,
        address: str = DEFAULT_ADDRESS,
        *,
        tls_ca: str | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        server_name: str | None = None,
        timeout: float = 30.0,
        transport: Transport | None = None,
    ) -> None:
        if bool(tls_cert) != bool(tls_key):
            raise ValueError("a client certificate needs its key, and a key its certificate (--tls-cert, --tls-key)")
        address = with_default_port(address)
        self.address = address
        self.timeout = timeout
        self.tls = bool(tls_ca or tls_cert)
        if transport is None:
            transport = GrpcTransport(address, tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key,
                                      server_name=server_name)
        self.transport: Transport = transport

    # -- plumbing ------------------------------------------------------------------------------------------------
    def _call(self, service: str, method: str, request, response_type):
        return self.transport.call(service, method, request, response_type, self.timeout)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> "RainbowClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- clusters ------------------------------------------------------------------------------------------------
    def register(self, name: str, secret: str, graph: str | bytes | Mapping[str, Any]) -> RegisterResult:
        """Register a cluster graph with the server's registration secret; REGISTER_EXISTS is an answer, not an error."""
        request = rainbow_pb2.RegisterRequest(name=name, secret=secret, nodes=_text(graph), sent=_now())
        response = self._call(SCHEDULER, "Register", request, rainbow_pb2.RegisterResponse)
        return RegisterResult(status=rainbow_pb2.RegisterResponse.ResultType.Name(response.status),
                              token=response.token, secret=response.secret)

    def register_subsystem(self, cluster: str, secret: str, subsystem: str,
                           graph: str | bytes | Mapping[str, Any]) -> str:
        """Attach a subsystem graph (io, spack...) to a registered cluster, with the cluster's secret."""
        request = rainbow_pb2.RegisterRequest(name=cluster, secret=secret, nodes=_text(graph), subsystem=subsystem,
                                              sent=_now())
        response = self._call(SCHEDULER, "RegisterSubsystem", request, rainbow_pb2.RegisterResponse)
        return rainbow_pb2.RegisterResponse.ResultType.Name(response.status)

    def register_templates(self, cluster: str, secret: str, templates: str | bytes | Mapping[str, Any]) -> str:
        """Give a registered cluster node templates (rainbow.graph.templates): sent as its subsystem `templates`,
        so any client that can register a subsystem can send them."""
        return self.register_subsystem(cluster, secret, "templates", templates)

    def delete(self, cluster: str, secret: str) -> str:
        response = self._call(SCHEDULER, "Delete", rainbow_pb2.DeleteRequest(name=cluster, secret=secret), rainbow_pb2.DeleteResponse)
        return rainbow_pb2.DeleteResponse.ResultType.Name(response.status)

    def delete_subsystem(self, cluster: str, secret: str, subsystem: str) -> str:
        request = rainbow_pb2.DeleteRequest(name=cluster, secret=secret, subsytem=subsystem)
        response = self._call(SCHEDULER, "DeleteSubsystem", request, rainbow_pb2.DeleteResponse)
        return rainbow_pb2.DeleteResponse.ResultType.Name(response.status)

    def update_state(self, cluster: str, secret: str, state: str | bytes | Mapping[str, Any]) -> str:
        """Replace the cluster's state (a JSON object of flat key/values that constraint selection reads)."""
        request = rainbow_pb2.UpdateStateRequest(cluster=cluster, secret=secret, payload=_text(state))
        response = self._call(SCHEDULER, "UpdateState", request, rainbow_pb2.UpdateStateResponse)
        return rainbow_pb2.UpdateStateResponse.ResultType.Name(response.status)

    # -- jobs ----------------------------------------------------------------------------------------------------
    def submit(
        self,
        jobspec: str | bytes | Mapping[str, Any],
        clusters: Sequence[tuple[str, str]],
        *,
        name: str = "",
        select_algorithm: str = "",
        select_options: Mapping[str, str] | None = None,
        satisfy_only: bool = False,
    ) -> SubmitResult:
        """Submit a job to the best of `clusters` ((name, token) pairs); the server matches and selects."""
        request = rainbow_pb2.SubmitJobRequest(
            name=name,
            clusters=[rainbow_pb2.SubmitJobRequest.Cluster(name=c, token=t) for c, t in clusters],
            jobspec=_text(jobspec),
            select_algorithm=select_algorithm,
            select_options=dict(select_options or {}),
            satisfy_only=satisfy_only,
            sent=_now(),
        )
        response = self._call(SCHEDULER, "SubmitJob", request, rainbow_pb2.SubmitJobResponse)
        return SubmitResult(
            status=rainbow_pb2.SubmitJobResponse.ResultType.Name(response.status),
            jobid=response.jobid,
            cluster=response.cluster,
            clusters=list(response.clusters),
            reasons=dict(response.reasons),
        )

    def satisfy(self, jobspec: str | bytes | Mapping[str, Any], matcher: str = "") -> SatisfyResult:
        """Which registered clusters could run the job (MemoryGraph.Satisfy; needs no credential)."""
        request = memory_pb2.SatisfyRequest(payload=_text(jobspec), matcher=matcher)
        response = self._call(GRAPH, "Satisfy", request, memory_pb2.SatisfyResponse)
        return SatisfyResult(
            clusters=list(response.clusters),
            reasons=dict(response.reasons),
            total_clusters=response.total_clusters,
            total_matches=response.total_matches,
            total_mismatches=response.total_mismatches,
        )

    def receive(self, cluster: str, secret: str, max_jobs: int = 0) -> list[Job]:
        """The cluster's queued, unaccepted jobs in id order (at most max_jobs; <= 0 for all)."""
        request = rainbow_pb2.ReceiveJobsRequest(cluster=cluster, secret=secret, maxJobs=max_jobs, sent=_now())
        response = self._call(SCHEDULER, "ReceiveJobs", request, rainbow_pb2.ReceiveJobsResponse)
        return [parse_job(jobid, response.jobs[jobid], cluster) for jobid in sorted(response.jobs)]

    def accept(self, cluster: str, secret: str, ids: Iterable[int]) -> str:
        """Take jobs off the queue: RESULT_TYPE_SUCCESS when every id was accepted, RESULT_TYPE_PARTIAL otherwise."""
        request = rainbow_pb2.AcceptJobsRequest(cluster=cluster, secret=secret, jobids=list(ids), sent=_now())
        response = self._call(SCHEDULER, "AcceptJobs", request, rainbow_pb2.AcceptJobsResponse)
        return rainbow_pb2.AcceptJobsResponse.ResultType.Name(response.status)

    def list_jobs(self, cluster: str, secret: str, state: str = "", after_id: int = 0, limit: int = 0, *,
                  tokens: Sequence[str] = (), job_id: int = 0) -> JobPage:
        """One page of the cluster's jobs (state "", "all", "pending", "accepted" or "closed"), ids above after_id;
        with `tokens` (and no cluster) the jobs submitted with any of them; with `job_id` only that job."""
        request = jobs_pb2.ListJobsRequest(cluster=cluster, secret=secret, state=state, after_id=after_id,
                                           limit=limit, tokens=list(tokens), id=job_id)
        response = self._call(JOBS, "ListJobs", request, jobs_pb2.ListJobsResponse)
        return JobPage(jobs=[listed_job(job) for job in response.jobs], next_after_id=response.next_after_id)

    def get_job(self, job_id: int, *, cluster: str = "", secret: str = "", tokens: Sequence[str] = ()) -> ListedJob:
        """One job, seen by its cluster (cluster and secret) or by who submitted it (tokens); NotFound otherwise."""
        page = self.list_jobs(cluster, secret, tokens=tokens, job_id=job_id)
        if not page.jobs:
            raise NotFound("NOT_FOUND", f"job {job_id}: no such job among yours")
        return page.jobs[0]

    def report_job(self, cluster: str, secret: str, job_id: int, status: str, *, local_id: str = "",
                   exit_code: int | None = None, reason: str = "", requeue: bool = False) -> ReportResult:
        """Say how one of the cluster's jobs is doing (what `rainbow agent` does): submitted, running, completed,
        failed or cancelled. A job not yet accepted reported failed with `requeue` may go to another cluster."""
        request = jobs_pb2.ReportJobRequest(cluster=cluster, secret=secret, id=job_id, status=status,
                                            local_id=local_id, exit_code=exit_code, reason=reason, requeue=requeue)
        response = self._call(JOBS, "ReportJob", request, jobs_pb2.ReportJobResponse)
        return ReportResult(job=listed_job(response.job), requeued_to=response.requeued_to)

    def cancel_job(self, job_id: int, *, tokens: Sequence[str] = (), cluster: str = "",
                   secret: str = "") -> CancelResult:
        """Withdraw a queued job, or ask its cluster to cancel an accepted one (a token it was submitted with, or
        its cluster's secret)."""
        request = jobs_pb2.CancelJobRequest(id=job_id, tokens=list(tokens), cluster=cluster, secret=secret)
        response = self._call(JOBS, "CancelJob", request, jobs_pb2.CancelJobResponse)
        return CancelResult(job=listed_job(response.job), outcome=response.outcome)

    def cancel_requests(self, cluster: str, secret: str) -> list[ListedJob]:
        """The cluster's accepted jobs that someone asked to cancel and that have not ended yet."""
        request = jobs_pb2.CancelRequestsRequest(cluster=cluster, secret=secret)
        response = self._call(JOBS, "CancelRequests", request, jobs_pb2.CancelRequestsResponse)
        return [listed_job(job) for job in response.jobs]

    def iter_jobs(self, cluster: str, secret: str, state: str = "", limit: int = 0, *,
                  tokens: Sequence[str] = ()) -> Iterator[ListedJob]:
        """Every job of the cluster (or of `tokens`), following the pages (limit is the page size)."""
        after_id = 0
        while True:
            page = self.list_jobs(cluster, secret, state=state, after_id=after_id, limit=limit, tokens=tokens)
            yield from page.jobs
            if not page.next_after_id or page.next_after_id <= after_id:
                return
            after_id = page.next_after_id

    # -- operator views ------------------------------------------------------------------------------------------
    def status(self, credential: str, assignments: int = 0, job_id: int = 0) -> dict[str, Any]:
        """What the status page shows, as plain data (times as ISO 8601 UTC, None when absent): `clusters`,
        `jobs_by_state`, `oldest_pending`, the latest `assignments` and, with `job_id`, that `job` (None when it is
        not on record). `credential` is the viewer token or the registration secret."""
        request = jobs_pb2.StatusRequest(credential=credential, assignments=assignments, job_id=job_id)
        response = self._call(JOBS, "Status", request, jobs_pb2.StatusResponse)

        def when(message, name: str) -> str | None:
            return _iso(_timestamp(getattr(message, name), message.HasField(name)))

        def assignment(a) -> dict[str, Any]:
            return {"job": a.job, "name": a.name, "cluster": a.cluster, "state": a.state, "algorithm": a.algorithm,
                    "reason": a.reason, "others": dict(sorted(a.others.items())), "made": when(a, "made")}

        job = None
        if response.HasField("job"):
            j = response.job
            job = {"id": j.id, "name": j.name, "cluster": j.cluster, "state": j.state,
                   "submitted": when(j, "submitted"), "accepted": when(j, "accepted"),
                   "assignment": assignment(j.assignment) if j.HasField("assignment") else None}
        return {
            "generated": when(response, "generated"),
            "clusters": [{"name": c.name, "nodes": c.nodes, "cores": c.cores, "gpus": c.gpus,
                          "subsystems": list(c.subsystems), "registered": when(c, "registered"),
                          "last_report": when(c, "last_report"), "state": dict(sorted(c.state.items()))}
                         for c in response.clusters],
            "jobs_by_state": dict(sorted(response.jobs_by_state.items())),
            "oldest_pending": when(response, "oldest_pending"),
            "assignments": [assignment(a) for a in response.assignments],
            "job": job,
        }
    # -- bids (level-2 selection) ---------------------------------------------------------------------------------
    def open_bids(self, cluster: str, secret: str, limit: int = 0) -> list[BidAsked]:
        """As a cluster: the bid requests open to it that it has not answered, oldest first."""
        request = bids_pb2.OpenBidsRequest(cluster=cluster, secret=secret, limit=limit)
        response = self._call(BIDS, "OpenBids", request, bids_pb2.OpenBidsResponse)
        return [BidAsked(r.job_id, r.name, r.jobspec, _timestamp(r.closes, r.HasField("closes")))
                for r in response.requests]

    def answer_bid(self, cluster: str, secret: str, job_id: int, *, will_run: bool = True,
                   eta_seconds: float | None = None, cost: float | None = None,
                   valid_for_seconds: float | None = None) -> str:
        """As a cluster: answer one request; "ANSWER_RECORDED", "ANSWER_ALREADY", "ANSWER_CLOSED" or
        "ANSWER_UNKNOWN"."""
        request = bids_pb2.AnswerBidRequest(cluster=cluster, secret=secret, job_id=job_id, will_run=will_run,
                                            eta_seconds=eta_seconds, cost=cost, valid_for_seconds=valid_for_seconds)
        response = self._call(BIDS, "AnswerBid", request, bids_pb2.AnswerBidResponse)
        return bids_pb2.AnswerBidResponse.Result.Name(response.result)

    def job_bids(self, job_id: int, cluster: str, token: str) -> JobBids:
        """As the submitter (the token of one of the job's candidate clusters): its bids and the winner."""
        request = bids_pb2.JobBidsRequest(job_id=job_id, cluster=cluster, token=token)
        r = self._call(BIDS, "JobBids", request, bids_pb2.JobBidsResponse)
        bids = [BidSeen(b.cluster, b.answered, b.will_run, b.eta_seconds if b.HasField("eta_seconds") else None,
                        b.cost if b.HasField("cost") else None) for b in r.bids]
        return JobBids(r.job_id, r.state, r.cluster, _timestamp(r.closes, r.HasField("closes")), bids,
                       dict(sorted(r.reasons.items())), list(r.tried))

    # -- users ---------------------------------------------------------------------------------------------------
    def submit_as_user(self, jobspec: str | bytes | Mapping[str, Any], token: str, clusters: Sequence[str] = (), *,
                       name: str = "", select_algorithm: str = "", select_options: Mapping[str, str] | None = None,
                       satisfy_only: bool = False) -> SubmitResult:
        """Submit with a user token to the clusters its grants reach (or those of `clusters` among them)."""
        request = access_pb2.UserSubmitRequest(token=token, jobspec=_text(jobspec), name=name, clusters=list(clusters),
                                               select_algorithm=select_algorithm,
                                               select_options=dict(select_options or {}), satisfy_only=satisfy_only)
        response = self._call(ACCESS, "SubmitJob", request, access_pb2.UserSubmitResponse)
        return SubmitResult(status="SUBMIT_SUCCESS", jobid=response.jobid, cluster=response.cluster,
                            clusters=list(response.clusters), reasons=dict(response.reasons))

    def whoami(self, token: str) -> tuple[str, list[str]]:
        """The user a token belongs to, and the clusters its grants reach."""
        response = self._call(ACCESS, "WhoAmI", access_pb2.UserJobsRequest(token=token), access_pb2.WhoAmIResponse)
        return response.user, list(response.clusters)

    def iter_user_jobs(self, token: str, limit: int = 0) -> Iterator[ListedJob]:
        """Every job submitted with the user's token, on every cluster, following the pages."""
        after_id = 0
        while True:
            response = self._call(ACCESS, "ListJobs", access_pb2.UserJobsRequest(token=token, after_id=after_id,
                                                                                 limit=limit),
                                  jobs_pb2.ListJobsResponse)
            for job in response.jobs:
                yield ListedJob(id=job.id, cluster=job.cluster, name=job.name, state=job.state,
                                submitted=_timestamp(job.submitted, job.HasField("submitted")),
                                accepted=_timestamp(job.accepted, job.HasField("accepted")), jobspec=job.jobspec)
            if not response.next_after_id or response.next_after_id <= after_id:
                return
            after_id = response.next_after_id

    # -- admin ---------------------------------------------------------------------------------------------------
    def add_user(self, admin_token: str, name: str) -> str:
        """Make a user; returns its token (shown once)."""
        return self._call(ACCESS, "AddUser", access_pb2.UserRequest(admin_token=admin_token, name=name),
                          access_pb2.UserResponse).token

    def remove_user(self, admin_token: str, name: str) -> None:
        self._call(ACCESS, "RemoveUser", access_pb2.UserRequest(admin_token=admin_token, name=name),
                   access_pb2.UserResponse)

    def list_users(self, admin_token: str) -> list[UserInfo]:
        response = self._call(ACCESS, "ListUsers", access_pb2.AdminRequest(admin_token=admin_token),
                              access_pb2.ListUsersResponse)
        return [UserInfo(u.name, u.created, [(g.kind, g.target) for g in u.grants], list(u.clusters))
                for u in response.users]

    def add_group(self, admin_token: str, name: str, clusters: Sequence[str]) -> bool:
        """Make a group of clusters (True), or add clusters to an existing one (False)."""
        return self._call(ACCESS, "AddGroup", access_pb2.GroupRequest(admin_token=admin_token, name=name,
                                                                      clusters=list(clusters)),
                          access_pb2.GroupResponse).created

    def remove_group(self, admin_token: str, name: str) -> None:
        self._call(ACCESS, "RemoveGroup", access_pb2.GroupRequest(admin_token=admin_token, name=name),
                   access_pb2.GroupResponse)

    def list_groups(self, admin_token: str) -> dict[str, list[str]]:
        response = self._call(ACCESS, "ListGroups", access_pb2.AdminRequest(admin_token=admin_token),
                              access_pb2.ListGroupsResponse)
        return {g.name: list(g.clusters) for g in response.groups}

    def grant(self, admin_token: str, user: str, target: str, kind: str = "") -> str:
        """Let `user` submit to a group or cluster; returns which it was ("group" or "cluster")."""
        return self._call(ACCESS, "Grant", access_pb2.GrantRequest(admin_token=admin_token, user=user, target=target,
                                                                   kind=kind), access_pb2.GrantResponse).kind

    def revoke(self, admin_token: str, user: str, target: str, kind: str = "") -> str:
        return self._call(ACCESS, "Revoke", access_pb2.GrantRequest(admin_token=admin_token, user=user, target=target,
                                                                    kind=kind), access_pb2.GrantResponse).kind

    def audit(self, admin_token: str, after_id: int = 0, limit: int = 0) -> list[AuditRow]:
        response = self._call(ACCESS, "ListAudit", access_pb2.AuditRequest(admin_token=admin_token,
                                                                           after_id=after_id, limit=limit),
                              access_pb2.AuditResponse)
        return [AuditRow(r.id, r.at, r.action, r.subject, r.detail) for r in response.rows]

    # -- rotation ------------------------------------------------------------------------------------------------
    def rotate(self, kind: str, credential: str, name: str = "", overlap_seconds: float = 0.0,
               new_value: str = "") -> RotateResult:
        """Replace a credential (cluster-token, cluster-secret, user-token, registration-secret, admin-token),
        asking with the admin token or the current credential of its owner; the old one works `overlap_seconds`."""
        response = self._call(ACCESS, "Rotate", access_pb2.RotateRequest(
            kind=kind, name=name, credential=credential, overlap_seconds=overlap_seconds, new_value=new_value),
            access_pb2.RotateResponse)
        return RotateResult(response.credential, response.old_until)

    def update_graph(self, cluster: str, secret: str, graph: str | bytes | Mapping[str, Any]) -> int:
        """Replace the cluster's graph in place, keeping its tokens; returns its node count."""
        return self._call(ACCESS, "UpdateGraph", access_pb2.UpdateGraphRequest(cluster=cluster, secret=secret,
                                                                               nodes=_text(graph)),
                          access_pb2.UpdateGraphResponse).nodes

    # -- health --------------------------------------------------------------------------------------------------
    def health(self, service: str = "") -> str:
        """The standard gRPC health check's answer, e.g. "SERVING"."""
        from grpc_health.v1 import health_pb2

        response = self._call(HEALTH, "Check", health_pb2.HealthCheckRequest(service=service),
                              health_pb2.HealthCheckResponse)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
