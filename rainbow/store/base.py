"""What the server needs from a store, as an abstract class that the SQLite and PostgreSQL backends implement.

Every method is one transaction: it either happens completely or not at all, so a failed request leaves nothing
half-written behind. Credentials arrive here already hashed; the store never sees a token or secret in the clear.

Several servers may share one store. Each change that a server caches (a cluster, a graph, a credential, a state)
moves a change counter in the same transaction, and also sets the changed row's `revision` to the new counter
value; a server reads the counters on each request and reloads what moved, so no server answers from stale data.
"""
from __future__ import annotations

import abc
import functools
import json
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

PENDING = "pending"
ACCEPTED = "accepted"
# Never accepted and never to be delivered: withdrawn before acceptance, or refused by every cluster it was offered.
CLOSED = "closed"
JOB_STATES = (PENDING, ACCEPTED, CLOSED)

# A job's lifecycle as its cluster's agent reports it ("" until the first report). The last three are final: a
# report after one of them changes nothing.
SUBMITTED = "submitted"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
JOB_STATUSES = (SUBMITTED, RUNNING, COMPLETED, FAILED, CANCELLED)
FINAL_STATUSES = (COMPLETED, FAILED, CANCELLED)
# Job ids travel as int32 on the wire (SubmitJobResponse.jobid, the ReceiveJobs map keys).
MAX_JOB_ID = 2**31 - 1


class StoreError(RuntimeError):
    """The store could not do what was asked (a broken or locked database file, a full disk)."""


class JobIdsExhausted(StoreError):
    """The next job id would not fit the wire format; nothing was written."""


class SchemaVersionError(StoreError):
    """The store's schema is older (needs `rainbow db upgrade`) or newer (needs a newer rainbow) than this code."""


# The setting that holds the registration secret's hash, so that a restarted server keeps the same secret.
REGISTRATION_SECRET_HASH = "registration_secret_hash"
# The setting that holds the admin credential's hash (users, groups, grants, rotation).
ADMIN_TOKEN_HASH = "admin_token_hash"

# The kinds of credential a rotation may leave working for a while (retiring_credentials.kind).
CLUSTER_TOKEN = "cluster-token"
CLUSTER_SECRET = "cluster-secret"
USER_TOKEN = "user-token"
REGISTRATION_SECRET = "registration-secret"
ADMIN_TOKEN = "admin-token"
CREDENTIAL_KINDS = (CLUSTER_TOKEN, CLUSTER_SECRET, USER_TOKEN, REGISTRATION_SECRET, ADMIN_TOKEN)
GRANT_KINDS = ("group", "cluster")

# What `rainbow db copy` moves, table by table, in an order that satisfies the foreign keys.
COPY_TABLES: dict[str, tuple[str, ...]] = {
    "meta": ("key", "value"),
    "clusters": ("name", "token_hash", "secret_hash", "created", "revision"),
    "graphs": ("cluster", "subsystem", "jgf", "created"),
    "states": ("cluster", "payload", "updated", "revision"),
    "jobs": ("id", "cluster", "name", "jobspec", "state", "submitted", "accepted", "retired", "leased_until",
             "status", "local_id", "exit_code", "reason", "updated", "started", "ended", "cancel_requested",
             "owners", "candidates", "tried"),
    "bid_windows": ("job_id", "state", "closes_at", "offer_until", "winner", "tried", "options", "reasons", "created"),
    "bids": ("job_id", "cluster", "answered", "will_run", "eta_seconds", "cost", "valid_until"),
    "users": ("name", "token_hash", "created"),
    "user_groups": ("name", "created"),
    "group_clusters": ("grp", "cluster"),
    "grants": ("username", "kind", "target"),
    "audit": ("id", "at", "action", "subject", "detail"),
    "job_users": ("job", "username"),
    "retiring_credentials": ("kind", "owner", "hash", "until"),
    "assignments": ("job", "cluster", "algorithm", "reason", "others", "made"),
}

# The most characters of an assignment's reasons kept in the store: a submit may name many clusters.
MAX_REASON_CHARS = 500
MAX_OTHERS = 50


@dataclass(frozen=True)
class Changes:
    """The change counters: `clusters` moves with every cluster, graph or credential change, `states` with every
    state update."""

    clusters: int
    states: int


class Leadership(abc.ABC):
    """A named lock held by one process among all sharing the store, until released or the holder dies."""

    @abc.abstractmethod
    def release(self) -> None: ...

    def __enter__(self) -> "Leadership":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


@dataclass(frozen=True)
class ClusterRecord:
    name: str
    token_hash: str
    secret_hash: str
    created: float


@dataclass(frozen=True)
class JobRecord:
    """A job: `state` is where it is in the queue (pending, accepted, closed), `status` what its cluster's agent
    last reported of it (see JOB_STATUSES), with the local id, exit code, reason and times that came with it.

    `owners` are the hashes of the tokens it was submitted with (who may see and cancel it), `candidates` the
    clusters that fitted when it was submitted, `tried` those that refused it, in order."""

    id: int
    cluster: str
    name: str
    jobspec: str
    state: str
    submitted: float
    accepted: float | None
    status: str = ""
    local_id: str = ""
    exit_code: int | None = None
    reason: str = ""
    updated: float | None = None
    started: float | None = None
    ended: float | None = None
    cancel_requested: float | None = None
    owners: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    tried: tuple[str, ...] = ()

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


JOB_COLUMNS = ("id, cluster, name, jobspec, state, submitted, accepted, status, local_id, exit_code, reason, "
               "updated, started, ended, cancel_requested, owners, candidates, tried")


def job_from_row(row) -> JobRecord:
    """A JobRecord from a row of JOB_COLUMNS, as both backends read them."""
    return JobRecord(id=row[0], cluster=row[1], name=row[2], jobspec=row[3], state=row[4], submitted=row[5],
                     accepted=row[6], status=row[7] or "", local_id=row[8] or "", exit_code=row[9],
                     reason=row[10] or "", updated=row[11], started=row[12], ended=row[13],
                     cancel_requested=row[14], owners=tuple(json.loads(row[15] or "[]")),
                     candidates=tuple(json.loads(row[16] or "[]")), tried=tuple(json.loads(row[17] or "[]")))


@dataclass(frozen=True)
class JobReport:
    """What an agent says of one of its cluster's jobs: the new status and what came with it."""

    status: str
    local_id: str = ""
    exit_code: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class UserRecord:
    name: str
    created: float
    #: (kind, target) pairs: ("group", NAME) or ("cluster", NAME)
    grants: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class GroupRecord:
    name: str
    clusters: tuple[str, ...]


@dataclass(frozen=True)
class AuditEntry:
    """One admin action, written in the same transaction as the change it records."""

    action: str
    subject: str
    detail: str = ""


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: float
    action: str
    subject: str
    detail: str


@dataclass(frozen=True)
class Assignment:
    """Why a job went where it went: the selection algorithm, why its cluster won, and for each other candidate
    why it did not fit or was not chosen (the matcher's and the selection's own words)."""

    algorithm: str
    reason: str
    others: Mapping[str, str] = field(default_factory=dict)

    def others_json(self) -> str:
        """The others as stored: bounded in count and length, so one submit naming many clusters stays small."""
        return _others_json(tuple(self.others.items()))


# Jobs submitted one after another with the same candidates carry the same owners, candidates and reasons: each
# text is encoded once and reused (the tuple's hash and equality cost a fraction of encoding it again).
@functools.lru_cache(maxsize=256)
def _others_json(others: tuple[tuple[str, str], ...]) -> str:
    kept = sorted(others)[:MAX_OTHERS]
    return json.dumps({k: v[:MAX_REASON_CHARS] for k, v in kept}, sort_keys=True)


@functools.lru_cache(maxsize=256)
def _owners_json(owners: tuple[str, ...]) -> str:
    return json.dumps(sorted(set(owners)))


@functools.lru_cache(maxsize=256)
def _names_json(names: tuple[str, ...]) -> str:
    return json.dumps(list(names))


def owners_json(owners: Iterable[str]) -> str:
    """A job's owners (token hashes) as stored: sorted, once each."""
    return _owners_json(tuple(owners))


def names_json(names: Iterable[str]) -> str:
    """A list of cluster names as stored, in the order given."""
    return _names_json(tuple(names))


@dataclass(frozen=True)
class AssignmentRecord:
    """A stored assignment with its job's name and state."""

    job: int
    name: str
    cluster: str
    state: str
    algorithm: str
    reason: str
    others: dict[str, str]
    made: float

    @classmethod
    def from_row(cls, row: Sequence) -> "AssignmentRecord":
        """Columns in ASSIGNMENT_COLUMNS order."""
        try:
            others = json.loads(row[6])
        except (TypeError, ValueError):
            others = {}
        return cls(job=row[0], name=row[1], cluster=row[2], state=row[3], algorithm=row[4], reason=row[5],
                   others=others if isinstance(others, dict) else {}, made=row[7])


# The join every backend reads assignments with (aliases a = assignments, j = jobs).
ASSIGNMENT_COLUMNS = "a.job, j.name, a.cluster, j.state, a.algorithm, a.reason, a.others, a.made"


@dataclass(frozen=True)
class JobSummary:
    """Jobs on record (not retired) by state, and when the oldest pending one was submitted (None: none pending)."""

    by_state: dict[str, int]
    oldest_pending: float | None


@dataclass(frozen=True)
class ClusterGraphs:
    """A cluster's stored graphs: the cluster graph and its subsystems, as the JGF text that was registered."""

    cluster: str
    graph: str
    subsystems: Mapping[str, str]

    @classmethod
    def from_rows(cls, cluster: str, rows: Iterable[tuple[str, str]]) -> "ClusterGraphs | None":
        """Fold (subsystem, jgf) rows, the cluster graph under the empty name, as every backend stores them."""
        graphs = dict(rows)
        if "" not in graphs:
            return None
        main = graphs.pop("")
        return cls(cluster=cluster, graph=main, subsystems=graphs)


def report_changes(job: JobRecord, report: JobReport, now: float) -> dict[str, object]:
    """The columns a report changes on `job` (empty: it changes nothing), the same rule on every backend."""
    if job.final or job.state == CLOSED:
        return {}
    changes: dict[str, object] = {"status": report.status, "updated": now}
    if report.local_id:
        changes["local_id"] = report.local_id
    if report.reason:
        changes["reason"] = report.reason
    if report.status == RUNNING and job.started is None:
        changes["started"] = now
    if report.status in FINAL_STATUSES:
        changes["ended"] = now
        changes["exit_code"] = report.exit_code
        if job.state == PENDING:
            changes["state"] = CLOSED
    return changes


class Store(abc.ABC):
    #: "sqlite" or "postgresql"
    kind: str = ""
    #: where the store is, as `open_store` takes it (without a password)
    location: str = ""

    # -- schema and settings ----------------------------------------------------------------------------------
    @abc.abstractmethod
    def schema_version(self) -> int:
        """The schema version recorded in the store."""

    @abc.abstractmethod
    def get_setting(self, key: str) -> str | None: ...

    @abc.abstractmethod
    def set_setting(self, key: str, value: str) -> None:
        """Store a server-wide setting (a credential hash among them); moves the clusters change counter."""

    @abc.abstractmethod
    def setdefault_setting(self, key: str, value: str) -> str:
        """Store `value` unless the setting exists; returns what is stored (servers starting together agree)."""

    @abc.abstractmethod
    def changes(self) -> Changes:
        """The change counters, read in one cheap query (every request reads them)."""

    @abc.abstractmethod
    def cluster_revisions(self) -> dict[str, tuple[int, str]]:
        """Every cluster's (revision, token hash): the revision moves when its graphs change."""

    @abc.abstractmethod
    def states_since(self, revision: int) -> dict[str, str]:
        """The state JSON text of every cluster whose state changed after change counter value `revision`."""

    @abc.abstractmethod
    def try_leadership(self, name: str) -> Leadership | None:
        """Take the lock `name` when no other process (sharing this store) holds it; None when one does.

        Work that must happen once across replicas runs only while its lock is held; the lock goes away with its
        holder (a dead server's lock is free at once), so another replica takes the work over.
        """

    # -- copying ----------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def rows(self, table: str) -> Iterable[tuple]:
        """Every row of one of COPY_TABLES, with its columns in that order."""

    @abc.abstractmethod
    def load_rows(self, table: str, rows: Iterable[tuple]) -> int:
        """Insert rows read by `rows` from another store (this one must not have any of them yet); returns how many.

        Job ids are kept, and the next new job gets a higher one.
        """

    # -- clusters -------------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def register_cluster(self, name: str, token_hash: str, secret_hash: str, graph: str) -> int:
        """Add the cluster row and its graph together; returns its revision (> 0), or 0 (and nothing written)
        when the name exists."""

    @abc.abstractmethod
    def get_cluster(self, name: str) -> ClusterRecord | None: ...

    @abc.abstractmethod
    def get_clusters(self, names: Iterable[str]) -> dict[str, ClusterRecord]:
        """The records of those of `names` that exist, in one read."""

    @abc.abstractmethod
    def cluster_names(self) -> list[str]: ...

    @abc.abstractmethod
    def delete_cluster(self, name: str) -> bool:
        """Remove the cluster, its graphs, its state and its pending jobs.

        Accepted jobs stay on record but retired: a cluster registered later under the same name never sees them.
        """

    # -- graphs ---------------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def get_graphs(self, cluster: str) -> ClusterGraphs | None: ...

    @abc.abstractmethod
    def add_subsystem(self, cluster: str, subsystem: str, graph: str) -> int:
        """Attach a subsystem graph; returns the cluster's new revision, or 0 when the cluster already has one of
        that name (or is gone)."""

    @abc.abstractmethod
    def delete_subsystem(self, cluster: str, subsystem: str) -> int:
        """Remove a subsystem graph; returns the cluster's new revision, or 0 when there was none."""

    # -- state ----------------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def set_state(self, cluster: str, payload: str) -> bool:
        """Replace the cluster's state (a JSON object text); False when the cluster is gone."""

    @abc.abstractmethod
    def get_states(self, clusters: Iterable[str]) -> dict[str, str]:
        """The state JSON text of those of `clusters` that have one."""

    # -- jobs -----------------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def add_job(self, cluster: str, name: str, jobspec: str, user: str = "", owners: Sequence[str] = (),
                candidates: Sequence[str] = (), assignment: Assignment | None = None) -> int | None:
        """Queue a job for a cluster and return its id; None (nothing written) when the cluster is gone.

        `user` is the user who submitted it with a user token ("" for a cluster token), `owners` the hashes of the
        tokens it came with, `candidates` the clusters that fitted it; `assignment` (why the job went to that
        cluster) is written in the same transaction.

        Raises JobIdsExhausted, with nothing written, when the id would exceed MAX_JOB_ID.
        """

    @abc.abstractmethod
    def pending_jobs(self, cluster: str, limit: int = 0, lease_seconds: float = 0.0) -> list[JobRecord]:
        """The cluster's pending jobs by id, at most `limit` of them (<= 0: all).

        With `lease_seconds` > 0 the jobs returned are leased to this caller: no other call returns them until the
        lease runs out (they are accepted by then, or handed out again), even when the calls reach different
        servers at the same moment.
        """

    @abc.abstractmethod
    def pending_job_texts(self, cluster: str, limit: int = 0, lease_seconds: float = 0.0) -> list[tuple[int, str]]:
        """As pending_jobs, each job as (id, the JSON text ReceiveJobs carries), written by the database: draining a
        queue then costs no Python work per job."""

    @abc.abstractmethod
    def accept_jobs(self, cluster: str, ids: Sequence[int]) -> list[int]:
        """Mark those of `ids` that are this cluster's pending jobs as accepted; return the ids that changed.

        A job is accepted exactly once even when several pollers accept it at the same time.
        """

    @abc.abstractmethod
    def list_jobs(self, cluster: str, state: str = "", after_id: int = 0, limit: int = 100) -> list[JobRecord]:
        """The cluster's jobs with id > after_id in id order; state "" means all."""

    @abc.abstractmethod
    def get_job(self, job_id: int) -> JobRecord | None: ...

    @abc.abstractmethod
    def report_job(self, cluster: str, job_id: int, report: JobReport) -> JobRecord | None:
        """Record what the cluster's agent says of one of its jobs and return the job as it is now; None when the
        job is not this cluster's (or retired).

        A pending job reported failed or cancelled is closed (never delivered again); a job whose status is final
        keeps it (the report changes nothing). `submitted` records the local id, `running` the start time, a final
        status the end time, exit code and reason.
        """

    @abc.abstractmethod
    def requeue_job(self, job_id: int, from_cluster: str, to_cluster: str, reason: str) -> bool:
        """Hand a pending job that `from_cluster` refused to `to_cluster` (added to `tried`, lease and status
        cleared); False, with nothing written, when it is no longer `from_cluster`'s pending job or `to_cluster` is
        gone."""

    @abc.abstractmethod
    def cancel_job(self, job_id: int) -> JobRecord | None:
        """Cancel a job: a pending one is withdrawn at once (closed, cancelled); an accepted one whose status is not
        final is marked for its agent to cancel (`cancel_requested`). Returns the job as it is now."""

    @abc.abstractmethod
    def cancel_requests(self, cluster: str) -> list[JobRecord]:
        """The cluster's accepted jobs marked for cancelling whose status is not final yet, by id."""

    @abc.abstractmethod
    def owned_jobs(self, token_hashes: Sequence[str], after_id: int = 0, limit: int = 100) -> list[JobRecord]:
        """Jobs submitted with any of these token hashes, id > after_id in id order, retired ones included (a
        user's job outlives its cluster)."""

    @abc.abstractmethod
    def count_jobs(self, cluster: str | None = None, state: str = "") -> int: ...

    # -- users, groups, grants ----------------------------------------------------------------------------------
    # Every change below moves the clusters change counter, so that each server drops what it cached of users and
    # grants before its next request, and writes its `audit` entry (when given) in the same transaction.
    @abc.abstractmethod
    def add_user(self, name: str, token_hash: str, audit: AuditEntry | None = None) -> bool:
        """False (nothing written) when the user exists."""

    @abc.abstractmethod
    def remove_user(self, name: str, audit: AuditEntry | None = None) -> bool:
        """Remove the user, its grants and any credential of it being rotated out; its jobs stay on record."""

    @abc.abstractmethod
    def set_user_token(self, name: str, token_hash: str, keep_old_until: float = 0.0,
                       audit: AuditEntry | None = None) -> bool:
        """Replace the user's token hash; with `keep_old_until` (epoch seconds) the old one keeps working until then.
        False when there is no such user."""

    @abc.abstractmethod
    def users(self) -> list[UserRecord]:
        """Every user with its grants, by name."""

    @abc.abstractmethod
    def user_for_token(self, token_hash: str) -> tuple[str, float] | None:
        """(user, until) for the user whose current token (until 0.0), or whose token being rotated out (until its
        time, epoch seconds), hashes to this."""

    @abc.abstractmethod
    def add_group(self, name: str, clusters: Sequence[str], audit: AuditEntry | None = None) -> bool:
        """Create the group (True) or extend an existing one (False) with `clusters`."""

    @abc.abstractmethod
    def remove_group(self, name: str, audit: AuditEntry | None = None) -> bool: ...

    @abc.abstractmethod
    def groups(self) -> list[GroupRecord]: ...

    @abc.abstractmethod
    def grant(self, username: str, kind: str, target: str, audit: AuditEntry | None = None) -> bool:
        """Let the user submit to a group (kind "group") or a cluster (kind "cluster"); False when there is no such
        user (or, for a group, no such group). Granting twice is one grant."""

    @abc.abstractmethod
    def revoke(self, username: str, kind: str, target: str, audit: AuditEntry | None = None) -> bool: ...

    @abc.abstractmethod
    def user_clusters(self, username: str) -> list[str]:
        """The clusters the user's grants reach (directly, or through groups), by name, registered or not."""

    @abc.abstractmethod
    def add_audit(self, entry: AuditEntry) -> int:
        """Record an admin action that changed nothing (a listing); returns its id."""

    @abc.abstractmethod
    def audit_log(self, after_id: int = 0, limit: int = 100) -> list[AuditRecord]:
        """Audit rows with id > after_id, oldest first."""

    @abc.abstractmethod
    def user_jobs(self, username: str, after_id: int = 0, limit: int = 100) -> list[JobRecord]:
        """The jobs the user submitted, on every cluster (deleted ones included), id > after_id in id order."""

    # -- rotation -------------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def retiring_hashes(self, kind: str, owner: str = "") -> list[str]:
        """The hashes of `kind` credentials of `owner` being rotated out that still work now."""

    @abc.abstractmethod
    def rotate_cluster_credential(self, name: str, kind: str, new_hash: str, keep_old_until: float = 0.0,
                                  audit: AuditEntry | None = None) -> bool:
        """Replace the cluster's token (CLUSTER_TOKEN) or secret (CLUSTER_SECRET) hash, the old one working until
        `keep_old_until` when it is later than now; False when the cluster is gone."""

    @abc.abstractmethod
    def rotate_setting(self, key: str, kind: str, new_hash: str, keep_old_until: float = 0.0,
                       audit: AuditEntry | None = None) -> bool:
        """Replace a server-wide credential hash setting (registration secret, admin token) the same way; False
        when the setting was not set."""

    @abc.abstractmethod
    def replace_graph(self, cluster: str, graph: str, audit: AuditEntry | None = None) -> int:
        """Replace the cluster graph in place (credentials, subsystems, state and jobs kept); returns the new
        revision, or 0 when the cluster is gone."""

    @abc.abstractmethod
    def active_jobs(self, clusters: Sequence[str]) -> dict[str, int]:
        """Jobs assigned to each of `clusters` and not finished (pending, or accepted and not reported ended by the
        cluster's agent); clusters with none left out."""

    @abc.abstractmethod
    def get_job(self, job_id: int) -> JobRecord | None:
        """Any job on record by id (retired ones included), for an operator's lookup."""

    @abc.abstractmethod
    def get_assignment(self, job_id: int) -> AssignmentRecord | None: ...

    @abc.abstractmethod
    def latest_assignments(self, limit: int = 20) -> list[AssignmentRecord]:
        """The newest assignments first."""

    @abc.abstractmethod
    def job_summary(self) -> JobSummary:
        """Counts by state and the oldest pending job, in one read (read on every metrics scrape)."""

    @abc.abstractmethod
    def state_times(self) -> dict[str, float]:
        """When each cluster last reported its state (seconds since the epoch); clusters that never did are absent."""

    @abc.abstractmethod
    def close(self) -> None: ...
