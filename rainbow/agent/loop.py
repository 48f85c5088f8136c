"""The agent's loop: each round it cancels what users cancelled, takes the jobs assigned to its cluster, follows
the jobs it runs, and now and then reports the cluster's state.

The order for a new job is: submit locally, write the journal, accept, report "submitted" with the local id. A job
the manager refuses is reported failed (and may go to another cluster); a job whose local submission could not be
asked (manager down) is left queued for the next round. When the server cannot be reached the round stops and the
next one waits longer (exponential backoff with jitter); nothing is lost, since the journal and the server's queue
both keep what was not yet done.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field

from rainbow.agent.bids import BidAnswer, Bidder
from rainbow.agent.journal import Journal
from rainbow.agent.managers import LocalStatus, Manager, ManagerError, Refused
from rainbow.agent.translate import TranslateError, in_container, job_shape
from rainbow.client import Job, NotFound, RainbowClient, RainbowError

log = logging.getLogger("rainbow.agent")

FINAL = ("completed", "failed", "cancelled")
# Errors that mean "the server is not there right now", as opposed to an answer.
_UNREACHABLE = ("UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED", "UNKNOWN", "INTERNAL", "RESOURCE_EXHAUSTED")
_ACCEPTED = "RESULT_TYPE_SUCCESS"


class ServerUnreachable(RuntimeError):
    pass


@dataclass
class AgentOptions:
    cluster: str
    secret: str
    interval: float = 5.0
    state_interval: float = 30.0
    max_jobs: int = 10
    requeue: bool = True
    backoff_max: float = 60.0
    container_runtime: str = "apptainer"  # for jobs that name an image; "none": such jobs are refused
    # Site figures the manager cannot know (cost_per_node_hour...), sent with every state report: UpdateState
    # replaces the whole state, so they would otherwise be lost at the first report.
    site_state: dict = field(default_factory=dict)
    # Answer bid requests (level-2 selection) from the manager's estimate, or from the site's command when given.
    bids: bool = True
    bid_command: str = ""


class Backoff:
    """Exponential backoff with full jitter: each wait is random in [0, min(cap, base * 2^n)]."""

    def __init__(self, base: float, cap: float, rng: random.Random | None = None) -> None:
        self.base, self.cap, self.failures = base, cap, 0
        self.rng = rng or random.Random()

    def next(self) -> float:
        self.failures += 1
        return self.rng.uniform(self.base / 2, min(self.cap, self.base * 2 ** self.failures))

    def reset(self) -> None:
        self.failures = 0


class Agent:
    def __init__(self, client: RainbowClient, manager: Manager, journal: Journal, options: AgentOptions,
                 stop: threading.Event | None = None) -> None:
        self.client = client
        self.manager = manager
        self.journal = journal
        self.options = options
        self.stop = stop or threading.Event()
        self.backoff = Backoff(min(options.interval, 1.0), options.backoff_max)
        self._next_state = 0.0
        self._unreachable = False

    # -- talking to the server ------------------------------------------------------------------------------------
    def _call(self, what: str, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except RainbowError as exc:
            if exc.code in _UNREACHABLE:
                raise ServerUnreachable(f"{what}: {exc}") from None
            raise

    def _report(self, job_id: int, status: str, **fields):
        o = self.options
        return self._call("ReportJob", self.client.report_job, o.cluster, o.secret, job_id, status, **fields)

    # -- the loop -------------------------------------------------------------------------------------------------
    def run(self, once: bool = False) -> None:
        log.info("agent for cluster %s started (manager %s, %d jobs followed from the journal)",
                 self.options.cluster, self.manager.name, len(self.journal.active()))
        while not self.stop.is_set():
            wait = self.options.interval
            try:
                self.round()
                if self._unreachable:
                    log.info("server reachable again")
                    self._unreachable = False
                self.backoff.reset()
            except ServerUnreachable as exc:
                wait = self.backoff.next()
                log.warning("server unreachable (%s); retrying in %.1fs", exc, wait)
                self._unreachable = True
            except RainbowError as exc:
                log.error("round failed: %s", exc)
            if once or self.stop.wait(wait):
                break
        log.info("agent stopped")

    def round(self) -> None:
        self.cancel_requested()
        self.take_jobs()
        if self.options.bids:
            self.answer_bids()
        self.follow()
        if time.monotonic() >= self._next_state:
            self.report_state()

    # -- steps ----------------------------------------------------------------------------------------------------
    def take_jobs(self) -> None:
        o = self.options
        jobs = self._call("ReceiveJobs", self.client.receive, o.cluster, o.secret, o.max_jobs)
        for job in jobs:
            if self.stop.is_set():
                log.info("stopping: %d received job(s) left queued", len(jobs) - jobs.index(job))
                return
            self.take(job)

    def answer_bids(self) -> None:
        """Answer each bid request open to this cluster, once: whether and when it would run the job, and at what
        cost. A request the manager cannot be asked about now stays open for the next round."""
        o = self.options
        bidder = Bidder(self.manager, o.site_state, o.bid_command)
        for asked in self._call("OpenBids", self.client.open_bids, o.cluster, o.secret):
            if self.stop.is_set():
                return
            job = Job(asked.job_id, o.cluster, asked.name, asked.jobspec, "")
            try:
                answer = bidder.answer(in_container(job_shape(job), o.container_runtime), asked.jobspec)
            except TranslateError as exc:
                answer = BidAnswer(False, reason=str(exc))
            except ManagerError as exc:
                log.warning("job %d: cannot estimate a bid (%s); asked again next round", asked.job_id, exc)
                continue
            result = self._call("AnswerBid", self.client.answer_bid, o.cluster, o.secret, asked.job_id,
                                will_run=answer.will_run, eta_seconds=answer.eta_seconds, cost=answer.cost,
                                valid_for_seconds=answer.valid_for)
            if answer.will_run:
                eta = "unknown" if answer.eta_seconds is None else f"{answer.eta_seconds:.0f} s"
                cost = "" if answer.cost is None else f", cost {answer.cost:g}"
                log.info("job %d: bid ETA %s%s (%s)", asked.job_id, eta, cost, result.lower().removeprefix("answer_"))
            else:
                log.info("job %d: declined the bid: %s", asked.job_id, answer.reason or "no reason given")

    def take(self, job: Job) -> None:
        """One job, all the way: it is submitted locally at most once, then accepted, or reported failed."""
        entry = self.journal.get(job.id)
        local = entry.local_id if entry else None
        if local is None:
            try:
                local = self.manager.find(job.id)
            except ManagerError as exc:
                log.warning("job %d: cannot ask %s whether it has it (%s); left queued", job.id, self.manager.name, exc)
                return
            if local is not None:
                log.info("job %d: already in %s as %s (submitted before a restart); not submitted again", job.id,
                         self.manager.name, local)
        else:
            log.info("job %d: already submitted as %s (journal); not submitted again", job.id, local)
        if local is None:
            try:
                shape = in_container(job_shape(job), self.options.container_runtime)
                local = self.manager.submit(shape)
            except TranslateError as exc:
                # No runtime for its image: another cluster may have one. A jobspec nothing can run: nowhere.
                self._refused(job, str(exc), requeue=self.options.requeue and "runs in image" in str(exc))
                return
            except Refused as exc:
                self._refused(job, f"{self.manager.name} refused the job: {exc}", requeue=self.options.requeue)
                return
            except ManagerError as exc:
                log.warning("job %d: %s could not be asked (%s); left queued", job.id, self.manager.name, exc)
                return
            log.info("job %d: submitted to %s as %s", job.id, self.manager.name, local)
        self.journal.record(job.id, local)
        self._accept(job.id, local)

    def _accept(self, job_id: int, local: str) -> None:
        o = self.options
        status = self._call("AcceptJobs", self.client.accept, o.cluster, o.secret, [job_id])
        if status != _ACCEPTED:
            # Already accepted (our answer was lost), or withdrawn / moved since: ask what it is now.
            try:
                now = self._call("ListJobs", self.client.get_job, job_id, cluster=o.cluster, secret=o.secret)
            except NotFound:
                now = None
            if now is None or now.state != "accepted":
                log.info("job %d: no longer this cluster's to run (withdrawn); cancelling %s", job_id, local)
                self._cancel_local(job_id, local)
                self.journal.record(job_id, local, done=True)
                return
        log.info("job %d: accepted", job_id)
        self.journal.record(job_id, local, accepted=True)
        self._report(job_id, "submitted", local_id=local)
        self.journal.record(job_id, local, reported="submitted")

    def _refused(self, job: Job, reason: str, requeue: bool) -> None:
        try:
            result = self._report(job.id, "failed", reason=reason, requeue=requeue)
        except NotFound:  # our earlier report took effect (the job moved) and only its answer was lost
            log.info("job %d: refused (%s); no longer this cluster's", job.id, reason)
            return
        if result.requeued_to:
            log.info("job %d: refused (%s); requeued for cluster %s", job.id, reason, result.requeued_to)
        else:
            log.info("job %d: refused and reported failed: %s", job.id, reason)

    def _cancel_local(self, job_id: int, local: str) -> bool:
        try:
            self.manager.cancel(local)
        except ManagerError as exc:
            log.warning("job %d: cancelling %s failed: %s", job_id, local, exc)
            return False
        return True

    def follow(self) -> None:
        """Report what changed of the jobs this agent runs; retry accepts whose answer was lost."""
        for entry in [e for e in self.journal.active() if not e.accepted]:
            self._accept(entry.id, entry.local_id)
        entries = [e for e in self.journal.active() if e.accepted]
        if not entries:
            return
        try:
            statuses = self.manager.status([e.local_id for e in entries])
        except ManagerError as exc:
            log.warning("cannot read job statuses from %s: %s", self.manager.name, exc)
            return
        for entry in entries:
            now = statuses.get(entry.local_id) or LocalStatus(
                "failed", reason=f"{self.manager.name} no longer knows job {entry.local_id}")
            if now.status == entry.reported:
                continue
            try:
                self._report(entry.id, now.status, local_id=entry.local_id, exit_code=now.exit_code,
                             reason=now.reason)
            except NotFound:  # its cluster was deleted and registered again: nobody follows this job any more
                log.info("job %d: the scheduler no longer has it; no longer followed", entry.id)
                self.journal.record(entry.id, entry.local_id, done=True)
                continue
            done = now.status in FINAL
            self.journal.record(entry.id, entry.local_id, reported=now.status, done=done)
            code = f" (exit code {now.exit_code})" if now.exit_code is not None and done else ""
            why = f": {now.reason}" if now.reason and now.status == "failed" else ""
            log.info("job %d: %s%s%s", entry.id, now.status, code, why)

    def cancel_requested(self) -> None:
        o = self.options
        for job in self._call("CancelRequests", self.client.cancel_requests, o.cluster, o.secret):
            entry = self.journal.get(job.id)
            local = entry.local_id if entry else (job.local_id or None)
            if local is None:
                try:
                    local = self.manager.find(job.id)
                except ManagerError as exc:
                    log.warning("job %d: cannot look it up to cancel it: %s", job.id, exc)
                    continue
            if local is not None and not self._cancel_local(job.id, local):
                continue  # asked again next round
            self._report(job.id, "cancelled", local_id=local or "", reason="cancelled by request")
            self.journal.record(job.id, local or "", reported="cancelled", done=True)
            log.info("job %d: cancelled%s", job.id, f" ({self.manager.name} job {local})" if local else "")

    def report_state(self) -> None:
        try:
            state = self.manager.state()
        except ManagerError as exc:
            log.warning("cannot read the cluster state from %s: %s", self.manager.name, exc)
            return
        o = self.options
        state = {**o.site_state, **state}
        self._call("UpdateState", self.client.update_state, o.cluster, o.secret, state)
        self._next_state = time.monotonic() + o.state_interval
        log.info("state reported: %s", " ".join(f"{k}={v}" for k, v in sorted(state.items())))
