"""The store's side of level-2 selection: a job put out for bids, its window, each candidate's answer, and the offer to
the winner. Written once for both stores: each provides `_transact(work)`, running `work(execute)` in one write
transaction, with `?` placeholders (the PostgreSQL store rewrites them).

A job out for bids is a jobs row with cluster '' (no cluster receives it) until `offer` names one; every step is
guarded by the state it expects, so two replicas closing the same window do it once.
"""
from __future__ import annotations

import abc
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from rainbow.store.base import MAX_JOB_ID, PENDING, Assignment, JobIdsExhausted, names_json, owners_json

Execute = Callable[..., Any]

OPEN = "open"
OFFERED = "offered"


@dataclass(frozen=True)
class Bid:
    cluster: str
    answered: float | None
    will_run: bool = False
    eta_seconds: float | None = None
    cost: float | None = None
    valid_until: float | None = None


@dataclass(frozen=True)
class BidWindow:
    job_id: int
    name: str
    jobspec: str
    job_state: str  # the jobs row's state: pending (open or offered) or accepted
    cluster: str  # '' while open; the cluster it is offered to after
    state: str  # open | offered
    closes_at: float
    offer_until: float | None
    winner: str
    tried: list[str]
    options: dict[str, Any]
    reasons: dict[str, str]
    bids: list[Bid] = field(default_factory=list)
    user: str = ""  # the user who submitted it with a user token, if one did

    @property
    def candidates(self) -> list[str]:
        return [bid.cluster for bid in self.bids]


@dataclass(frozen=True)
class BidRequest:
    job_id: int
    name: str
    jobspec: str
    closes_at: float


class BidStore(abc.ABC):
    """Mixed into both stores."""

    @abc.abstractmethod
    def _transact(self, work: Callable[[Execute], Any]) -> Any:
        """Run `work(execute)` in one write transaction; `execute(sql, params)` takes `?` placeholders."""

    def add_bidding_job(self, name: str, jobspec: str, candidates: Sequence[str], closes_at: float,
                        options: dict[str, Any], user: str = "", owners: Sequence[str] = ()) -> int:
        """Queue a job with no cluster yet and open its bid window to `candidates` (recording the user who
        submitted it, if one did); returns the job id."""
        now = time.time()

        def work(execute: Execute) -> int:
            (jobid,) = execute("INSERT INTO jobs (cluster, name, jobspec, state, submitted, owners, candidates) "
                               "VALUES ('', ?, ?, ?, ?, ?, ?) RETURNING id",
                               (name, jobspec, PENDING, now, owners_json(owners),
                                names_json(candidates))).fetchone()
            if jobid > MAX_JOB_ID:
                raise JobIdsExhausted(f"job id {jobid} does not fit the wire format (int32)")
            execute("INSERT INTO bid_windows (job_id, state, closes_at, options, created) VALUES (?, ?, ?, ?, ?)",
                    (jobid, OPEN, closes_at, json.dumps(options), now))
            for cluster in candidates:
                execute("INSERT INTO bids (job_id, cluster) VALUES (?, ?)", (jobid, cluster))
            if user:
                execute("INSERT INTO job_users (job, username) VALUES (?, ?)", (jobid, user))
            return jobid

        return self._transact(work)

    def open_bid_requests(self, cluster: str, now: float, limit: int = 100) -> list[BidRequest]:
        """Windows still open to `cluster` that it has not answered, oldest first."""
        def work(execute: Execute) -> list[BidRequest]:
            rows = execute("SELECT w.job_id, j.name, j.jobspec, w.closes_at FROM bids b "
                           "JOIN bid_windows w ON w.job_id = b.job_id JOIN jobs j ON j.id = b.job_id "
                           "WHERE b.cluster = ? AND b.answered IS NULL AND w.state = ? AND w.closes_at > ? "
                           "ORDER BY w.job_id LIMIT ?", (cluster, OPEN, now, limit)).fetchall()
            return [BidRequest(*row) for row in rows]

        return self._transact(work)

    def answer_bid(self, job_id: int, cluster: str, will_run: bool, eta_seconds: float | None, cost: float | None,
                   valid_until: float | None, now: float) -> str:
        """Record a candidate's answer: 'recorded', 'answered' (once only), 'closed' or 'unknown'."""
        def work(execute: Execute) -> str:
            row = execute("SELECT w.state, w.closes_at, b.answered FROM bids b JOIN bid_windows w "
                          "ON w.job_id = b.job_id WHERE b.job_id = ? AND b.cluster = ?", (job_id, cluster)).fetchone()
            if row is None:
                return "unknown"
            state, closes_at, answered = row
            if answered is not None:
                return "answered"
            if state != OPEN or closes_at <= now:
                return "closed"
            execute("UPDATE bids SET answered = ?, will_run = ?, eta_seconds = ?, cost = ?, valid_until = ? "
                    "WHERE job_id = ? AND cluster = ? AND answered IS NULL",
                    (now, int(will_run), eta_seconds, cost, valid_until, job_id, cluster))
            return "recorded"

        return self._transact(work)

    def bid_window(self, job_id: int) -> BidWindow | None:
        def work(execute: Execute) -> BidWindow | None:
            row = execute("SELECT w.job_id, j.name, j.jobspec, j.state, j.cluster, w.state, w.closes_at, "
                          "w.offer_until, w.winner, w.tried, w.options, w.reasons, u.username FROM bid_windows w "
                          "JOIN jobs j ON j.id = w.job_id LEFT JOIN job_users u ON u.job = w.job_id "
                          "WHERE w.job_id = ?", (job_id,)).fetchone()
            if row is None:
                return None
            bids = [Bid(cluster, answered, bool(will_run), eta, cost, valid)
                    for cluster, answered, will_run, eta, cost, valid in execute(
                        "SELECT cluster, answered, will_run, eta_seconds, cost, valid_until FROM bids "
                        "WHERE job_id = ? ORDER BY cluster", (job_id,)).fetchall()]
            return BidWindow(*row[:9], json.loads(row[9]), json.loads(row[10]), json.loads(row[11]), bids,
                             row[12] or "")

        return self._transact(work)

    def due_bid_windows(self, now: float, limit: int = 100) -> list[int]:
        """Open windows whose time is up or whose every candidate answered, and offers not accepted in time."""
        def work(execute: Execute) -> list[int]:
            rows = execute(
                "SELECT w.job_id FROM bid_windows w JOIN jobs j ON j.id = w.job_id WHERE j.state = ? AND ("
                "(w.state = ? AND (w.closes_at <= ? OR NOT EXISTS ("
                "SELECT 1 FROM bids b WHERE b.job_id = w.job_id AND b.answered IS NULL))) "
                "OR (w.state = ? AND w.offer_until <= ?)) ORDER BY w.job_id LIMIT ?",
                (PENDING, OPEN, now, OFFERED, now, limit)).fetchall()
            return [row[0] for row in rows]

        return self._transact(work)

    def offer_bid_job(self, job_id: int, cluster: str, offer_until: float, reasons: dict[str, str],
                      tried: Iterable[str], *, from_state: str, from_cluster: str) -> bool:
        """Hand the job to `cluster` (it becomes pending there), if it is still where the caller saw it: open with
        no cluster, or offered to `from_cluster` and not accepted. False when another replica moved it first."""
        def work(execute: Execute) -> bool:
            moved = execute("UPDATE bid_windows SET state = ?, winner = ?, offer_until = ?, tried = ?, reasons = ? "
                            "WHERE job_id = ? AND state = ? AND winner = ?",
                            (OFFERED, cluster, offer_until, json.dumps(list(tried)), json.dumps(reasons), job_id,
                             from_state, from_cluster if from_state == OFFERED else "")).rowcount
            if moved != 1:
                return False
            moved = execute("UPDATE jobs SET cluster = ?, leased_until = NULL WHERE id = ? AND state = ? "
                            "AND cluster = ? AND retired = 0",
                            (cluster, job_id, PENDING, from_cluster if from_state == OFFERED else "")).rowcount
            if moved != 1:
                raise _Moved()
            # The operator views show why each job went where it went; a re-offer replaces the first answer.
            why = Assignment("bid", reasons.get(cluster, ""), {k: v for k, v in reasons.items() if k != cluster})
            execute("INSERT INTO assignments (job, cluster, algorithm, reason, others, made) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (job) DO UPDATE SET cluster = excluded.cluster, reason = excluded.reason, "
                    "others = excluded.others, made = excluded.made",
                    (job_id, cluster, why.algorithm, why.reason, why.others_json(), time.time()))
            return True

        try:
            return self._transact(work)
        except _Moved:
            return False


class _Moved(Exception):
    """Raised inside a transaction to roll it back: the job was accepted or retired meanwhile."""
