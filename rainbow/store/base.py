"""What the server needs from a store, as an abstract class a second backend (PostgreSQL) can implement.

Every method is one transaction: it either happens completely or not at all, so a failed request leaves nothing
half-written behind. Credentials arrive here already hashed; the store never sees a token or secret in the clear.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

PENDING = "pending"
ACCEPTED = "accepted"
JOB_STATES = (PENDING, ACCEPTED)
# Job ids travel as int32 on the wire (SubmitJobResponse.jobid, the ReceiveJobs map keys).
MAX_JOB_ID = 2**31 - 1


class StoreError(RuntimeError):
    """The store could not do what was asked (a broken or locked database file, a full disk)."""


class JobIdsExhausted(StoreError):
    """The next job id would not fit the wire format; nothing was written."""


@dataclass(frozen=True)
class ClusterRecord:
    name: str
    token_hash: str
    secret_hash: str
    created: float


@dataclass(frozen=True)
class JobRecord:
    id: int
    cluster: str
    name: str
    jobspec: str
    state: str
    submitted: float
    accepted: float | None


@dataclass(frozen=True)
class ClusterGraphs:
    """A cluster's stored graphs: the cluster graph and its subsystems, as the JGF text that was registered."""

    cluster: str
    graph: str
    subsystems: Mapping[str, str]


class Store(abc.ABC):
    # -- clusters -------------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def register_cluster(self, name: str, token_hash: str, secret_hash: str, graph: str) -> bool:
        """Add the cluster row and its graph together; False (and nothing written) when the name exists."""

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
    def add_subsystem(self, cluster: str, subsystem: str, graph: str) -> bool:
        """Attach a subsystem graph; False when the cluster already has one of that name (or is gone)."""

    @abc.abstractmethod
    def delete_subsystem(self, cluster: str, subsystem: str) -> bool: ...

    # -- state ----------------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def set_state(self, cluster: str, payload: str) -> bool:
        """Replace the cluster's state (a JSON object text); False when the cluster is gone."""

    @abc.abstractmethod
    def get_states(self, clusters: Iterable[str]) -> dict[str, str]:
        """The state JSON text of those of `clusters` that have one."""

    # -- jobs -----------------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def add_job(self, cluster: str, name: str, jobspec: str) -> int | None:
        """Queue a job for a cluster and return its id; None (nothing written) when the cluster is gone.

        Raises JobIdsExhausted, with nothing written, when the id would exceed MAX_JOB_ID.
        """

    @abc.abstractmethod
    def pending_jobs(self, cluster: str, limit: int = 0) -> list[JobRecord]:
        """The cluster's pending jobs by id, at most `limit` of them (<= 0: all)."""

    @abc.abstractmethod
    def accept_jobs(self, cluster: str, ids: Sequence[int]) -> list[int]:
        """Mark those of `ids` that are this cluster's pending jobs as accepted; return the ids that changed.

        A job is accepted exactly once even when several pollers accept it at the same time.
        """

    @abc.abstractmethod
    def list_jobs(self, cluster: str, state: str = "", after_id: int = 0, limit: int = 100) -> list[JobRecord]:
        """The cluster's jobs with id > after_id in id order; state "" means all."""

    @abc.abstractmethod
    def count_jobs(self, cluster: str | None = None, state: str = "") -> int: ...

    @abc.abstractmethod
    def close(self) -> None: ...
