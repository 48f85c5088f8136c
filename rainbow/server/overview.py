"""What an operator sees at a glance, read from the store and the match indexes: the clusters with their size and
last report, jobs by state, the latest assignments and why they went where they went.

The status page, the Status RPC and `rainbow status` all show this one structure, so they always agree. It holds
no credential: the store's token and secret hashes are never read here.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from rainbow.graph.index import ClusterIndex, amounts_below
from rainbow.store import JOB_STATES, AssignmentRecord, JobRecord

# The most state entries shown per cluster, and the longest value: a state is the cluster's own JSON object.
MAX_STATE_ENTRIES = 12
MAX_STATE_VALUE = 80
DEFAULT_ASSIGNMENTS = 20


@dataclass
class ClusterView:
    name: str
    nodes: int
    cores: int
    gpus: int
    subsystems: list[str]
    registered: float
    last_report: float | None
    state: dict[str, str] = field(default_factory=dict)


# What the views show of an assignment is the stored record itself (frozen: a view never changes it).
AssignmentView = AssignmentRecord


@dataclass
class JobView:
    """One job found by id: where it is, and why it went there when that was recorded."""

    id: int
    name: str
    cluster: str
    state: str
    submitted: float
    accepted: float | None
    assignment: AssignmentView | None = None


@dataclass
class Overview:
    generated: float
    clusters: list[ClusterView]
    jobs_by_state: dict[str, int]
    oldest_pending: float | None
    assignments: list[AssignmentView]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _totals(index: ClusterIndex | None) -> tuple[int, int, int]:
    if index is None:
        return 0, 0, 0
    cores = gpus = 0
    for node_class in index.classes:
        below = amounts_below(node_class.shape)
        cores += node_class.count * below.get("core", 0)
        gpus += node_class.count * below.get("gpu", 0)
    return index.node_count, cores, gpus


def _state_entries(text: str | None) -> dict[str, str]:
    """The scalar entries of a reported state, as short strings (nested values are left out)."""
    import json

    if not text:
        return {}
    try:
        state = json.loads(text)
    except ValueError:
        return {}
    out: dict[str, str] = {}
    for key in sorted(state)[:MAX_STATE_ENTRIES] if isinstance(state, dict) else ():
        value = state[key]
        if isinstance(value, (str, int, float, bool)) or value is None:
            out[str(key)[:MAX_STATE_VALUE]] = str(value)[:MAX_STATE_VALUE]
    return out


def build_overview(scheduler, assignments: int = DEFAULT_ASSIGNMENTS) -> Overview:
    """The overview as the store holds it now (the scheduler's indexes are brought up to date first)."""
    scheduler.sync()
    store = scheduler.store
    names = store.cluster_names()
    records = store.get_clusters(names)
    states = store.get_states(names)
    reported = store.state_times()
    clusters = []
    for name in names:
        index = scheduler.matcher.get(name)
        nodes, cores, gpus = _totals(index)
        record = records.get(name)
        clusters.append(ClusterView(name=name, nodes=nodes, cores=cores, gpus=gpus,
                                    subsystems=sorted(index.subsystems) if index is not None else [],
                                    registered=record.created if record is not None else 0.0,
                                    last_report=reported.get(name), state=_state_entries(states.get(name))))
    summary = store.job_summary()
    by_state = {state: summary.by_state.get(state, 0) for state in JOB_STATES}
    latest = store.latest_assignments(max(0, assignments))
    return Overview(generated=time.time(), clusters=clusters, jobs_by_state=by_state,
                    oldest_pending=summary.oldest_pending, assignments=latest)


def find_job(scheduler, job_id: int) -> JobView | None:
    """One job by id, with its assignment when one was recorded."""
    store = scheduler.store
    job: JobRecord | None = store.get_job(job_id)
    if job is None:
        return None
    record = store.get_assignment(job_id)
    return JobView(id=job.id, name=job.name, cluster=job.cluster, state=job.state, submitted=job.submitted,
                   accepted=job.accepted, assignment=record)
