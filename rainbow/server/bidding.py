"""Level-2 selection: the clusters that fit a job bid for it, and the best bid wins.

A job submitted with `select_algorithm: bid` is queued with no cluster and a window opens to the clusters that fit.
Their agents pull the open requests and answer `{will_run, eta_seconds, cost, valid_for}`. When every candidate has
answered, or the window closes, the best usable bid wins (rule `earliest`: smallest ETA, then lowest cost, then name;
rule `cheapest`: cost first); with none, a level-1 algorithm decides (the fallback) and the reasons say so. A winner
that does not accept within its lease loses the job, which goes to the next bidder, so no job waits on a silent
cluster. Every decision is guarded by the state it starts from, so replicas racing on one window decide it once; the
sweeper that closes windows runs on the replica holding the store's `bid-windows` lock.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from rainbow.select import SelectionError, known_algorithms, select
from rainbow.server.errors import InvalidArgument, NotFound, PermissionDenied
from rainbow.store.bids import OFFERED, OPEN, Bid, BidRequest, BidWindow

if TYPE_CHECKING:
    from rainbow.server.scheduler import Scheduler

log = logging.getLogger("rainbow.server")

BID = "bid"
RULES = ("earliest", "cheapest")
LEADERSHIP = "bid-windows"


@dataclass(frozen=True)
class BidSettings:
    """The server's defaults; a request overrides them with select_options of the same names."""

    window: float = 10.0  # seconds the window stays open
    accept_lease: float = 60.0  # seconds the winner has to accept before the job moves on
    fallback: str = "random"  # the level-1 algorithm when no usable bid came
    rule: str = "earliest"


def _seconds(options: Mapping[str, str], key: str, default: float, low: float, high: float) -> float:
    if key not in options:
        return default
    try:
        value = float(options[key])
    except ValueError:
        raise InvalidArgument(f"select_options.{key}: {options[key]!r} is not a number of seconds") from None
    if not (low <= value <= high) or math.isnan(value):
        raise InvalidArgument(f"select_options.{key}: must be between {low:g} and {high:g} seconds")
    return value


def bid_options(settings: BidSettings, options: Mapping[str, str], presets: Mapping | None = None) -> dict[str, Any]:
    """A request's bid options checked and completed from the server's defaults (what the window stores)."""
    unknown = sorted(set(options) - {"window", "accept_lease", "fallback", "rule"})
    if unknown:
        raise InvalidArgument(f"select_options.{unknown[0]}: not an option of bid selection "
                              "(known: window, accept_lease, fallback, rule)")
    fallback = options.get("fallback", settings.fallback)
    if fallback == BID or fallback not in known_algorithms(presets):
        raise InvalidArgument(f"select_options.fallback: {fallback!r} is not a level-1 algorithm "
                              f"(known: {', '.join(known_algorithms(presets))})")
    rule = options.get("rule", settings.rule)
    if rule not in RULES:
        raise InvalidArgument(f"select_options.rule: {rule!r} (known: {', '.join(RULES)})")
    return {"window": _seconds(options, "window", settings.window, 0.1, 3600),
            "accept_lease": _seconds(options, "accept_lease", settings.accept_lease, 1, 86400),
            "fallback": fallback, "rule": rule}


def _usable(bid: Bid, now: float) -> bool:
    return bid.answered is not None and bid.will_run and (bid.valid_until is None or bid.valid_until >= now)


def _figure(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}"


def _bid_key(rule: str):
    infinity = float("inf")

    def key(bid: Bid) -> tuple:
        eta = infinity if bid.eta_seconds is None else bid.eta_seconds
        cost = infinity if bid.cost is None else bid.cost
        return (eta, cost, bid.cluster) if rule == "earliest" else (cost, eta, bid.cluster)

    return key


class Bidding:
    def __init__(self, scheduler: "Scheduler", settings: BidSettings | None = None) -> None:
        self.scheduler = scheduler
        self.settings = settings or BidSettings()

    @property
    def store(self):
        return self.scheduler.store

    # -- submit ---------------------------------------------------------------------------------------------------
    def open(self, name: str, jobspec: str, candidates: list[str], options: Mapping[str, str], user: str = "",
             owners: Sequence[str] = ()) -> int:
        settings = bid_options(self.settings, options, self.scheduler.selection.presets)
        closes = time.time() + settings["window"]
        jobid = self.store.add_bidding_job(name, jobspec, candidates, closes, settings, user=user, owners=owners)
        log.info("job %d open for bids from %s until %.1f s from now", jobid, ", ".join(candidates),
                 settings["window"])
        return jobid

    # -- the clusters' side ---------------------------------------------------------------------------------------
    def requests(self, cluster: str, secret: str, limit: int = 0) -> list[BidRequest]:
        self.scheduler.sync()
        self.scheduler._cluster_for_secret(cluster, secret)
        limits = self.scheduler.limits
        page = min(limit, limits.max_page_size) if limit > 0 else limits.default_page_size
        return self.store.open_bid_requests(cluster, time.time(), page)

    def answer(self, cluster: str, secret: str, job_id: int, will_run: bool, eta_seconds: float | None,
               cost: float | None, valid_for: float | None) -> str:
        self.scheduler.sync()
        self.scheduler._cluster_for_secret(cluster, secret)
        for field_name, value in (("eta_seconds", eta_seconds), ("cost", cost), ("valid_for_seconds", valid_for)):
            if value is not None and (math.isnan(value) or value < 0 or math.isinf(value)):
                raise InvalidArgument(f"{field_name}: must be a finite number >= 0")
        now = time.time()
        outcome = self.store.answer_bid(job_id, cluster, will_run, eta_seconds, cost,
                                        None if valid_for is None else now + valid_for, now)
        self.scheduler.observer.bid_answer(outcome)
        if outcome == "recorded":
            log.info("job %d: cluster %s bid %s", job_id, cluster,
                     f"ETA {_figure(eta_seconds, ' s')}, cost {_figure(cost)}" if will_run else "no")
            window = self.store.bid_window(job_id)
            if window is not None and window.state == OPEN and all(b.answered is not None for b in window.bids):
                self._decide(window, time.time())
        return outcome

    # -- the submitter's side -------------------------------------------------------------------------------------
    def status(self, job_id: int, cluster: str, token: str) -> BidWindow:
        """The window of a job, to the token of one of its candidate clusters, or (cluster "") to the user token
        that submitted it."""
        self.scheduler.sync()
        window = self.store.bid_window(job_id)
        if window is None:
            raise NotFound(f"job {job_id}: no bids were asked for it")
        if not cluster:  # a user token: the user who submitted the job
            user, _ = self.scheduler.user_for_token(token)
            if user != window.user:
                raise PermissionDenied(f"job {job_id}: submitted by another user")
        elif cluster not in window.candidates:
            raise PermissionDenied(f"job {job_id}: cluster {cluster} was not one of its candidates")
        else:
            self.scheduler._check_tokens([(cluster, token)])
        if self._due(window, time.time()):
            self._decide(window, time.time())
            window = self.store.bid_window(job_id) or window
        return window

    # -- deciding -------------------------------------------------------------------------------------------------
    @staticmethod
    def _due(window: BidWindow, now: float) -> bool:
        if window.job_state != "pending":
            return False
        if window.state == OPEN:
            return window.closes_at <= now or all(b.answered is not None for b in window.bids)
        return window.offer_until is not None and window.offer_until <= now

    def sweep(self, now: float | None = None) -> int:
        """Decide every window that is due (closed, or an offer not accepted in time); returns how many moved."""
        now = time.time() if now is None else now
        moved = 0
        for job_id in self.store.due_bid_windows(now):
            window = self.store.bid_window(job_id)
            if window is not None and self._due(window, now) and self._decide(window, now):
                moved += 1
        return moved

    def _decide(self, window: BidWindow, now: float) -> bool:
        live = set(self.scheduler.live_clusters(window.candidates))
        tried = list(window.tried)
        rule = window.options.get("rule", self.settings.rule)
        bids = {bid.cluster: bid for bid in window.bids}
        usable = sorted((b for b in window.bids if _usable(b, now) and b.cluster in live and b.cluster not in tried),
                        key=_bid_key(rule))
        reasons: dict[str, str] = {}
        if usable:
            winner = usable[0].cluster
            how = f"won the bids (rule {rule})"
        else:
            untried = [c for c in window.candidates if c in live and c not in tried]
            if not untried:  # everyone had a turn: start over rather than leave the job with nobody
                untried, tried = [c for c in window.candidates if c in live], []
            if not untried:
                log.warning("job %d: no candidate cluster is registered any more; it waits for none", window.job_id)
                return False
            willing = [c for c in untried if not (bids[c].answered is not None and not bids[c].will_run)]
            untried = willing or untried  # those that declined only when nobody else is left
            fallback = window.options.get("fallback", self.settings.fallback)
            winner = self._fallback(window, fallback, untried)
            if winner is None:
                return False
            how = f"no usable bid; chosen by the fallback, {fallback}"
        for cluster in window.candidates:
            reasons[cluster] = self._line(cluster, bids.get(cluster), winner, usable, how, tried, live, now, rule)
        lease = float(window.options.get("accept_lease", self.settings.accept_lease))
        if not self.store.offer_bid_job(window.job_id, winner, now + lease, reasons, [*tried, winner],
                                        from_state=window.state, from_cluster=window.winner):
            return False
        self.scheduler.observer.bid_decided("reoffered" if window.state == OFFERED else "bid" if usable
                                            else "fallback")
        if window.state == OFFERED:
            log.info("job %d: cluster %s did not accept within %g s; offered to %s", window.job_id, window.winner,
                     lease, winner)
        else:
            log.info("job %d queued for cluster %s (%s)", window.job_id, winner, how)
        return True

    def _fallback(self, window: BidWindow, algorithm: str, candidates: list[str]) -> str | None:
        scheduler = self.scheduler
        request = scheduler._parse_jobspec(window.jobspec)
        try:
            choice = select(algorithm, candidates, states=scheduler._states_of(candidates),
                            parameters=request.parameters, rng=scheduler._rng,
                            context=scheduler._selection_context(request), presets=scheduler.selection.presets)
        except SelectionError as exc:
            log.error("job %d: fallback %s failed: %s", window.job_id, algorithm, exc)
            choice = None
        if choice is None or choice.chosen is None:
            # the fallback's own filters may leave nobody: the job still goes somewhere it fits
            return sorted(candidates)[0] if candidates else None
        return choice.chosen

    @staticmethod
    def _line(cluster: str, bid: Bid | None, winner: str, usable: list[Bid], how: str, tried: list[str],
              live: set[str], now: float, rule: str) -> str:
        if bid is None or bid.answered is None:
            said = "did not answer before the window closed"
        elif not bid.will_run:
            said = "declined"
        elif bid.valid_until is not None and bid.valid_until < now:
            said = f"bid ETA {_figure(bid.eta_seconds, ' s')}, cost {_figure(bid.cost)}, expired"
        else:
            said = f"bid ETA {_figure(bid.eta_seconds, ' s')}, cost {_figure(bid.cost)}"
        if cluster == winner:
            return f"{said}; chosen: {how}"
        if cluster not in live:
            return f"{said}; no longer registered"
        if cluster in tried:
            return f"{said}; offered before and did not accept in time"
        if usable and bid is not None and _usable(bid, now):
            best = usable[0]
            if rule == "earliest" and best.eta_seconds is not None and bid.eta_seconds is not None:
                return f"{said}; lost to {winner} by {bid.eta_seconds - best.eta_seconds:g} s of ETA"
            return f"{said}; lost to {winner} ({rule} bid first)"
        return f"{said}; not chosen"


class BidSweeper(threading.Thread):
    """Closes due windows every `interval` seconds while this replica holds the store's bid-windows lock; another
    replica takes over when this one dies (the lock goes with its session)."""

    def __init__(self, bidding: Bidding, interval: float = 0.5) -> None:
        super().__init__(name="rainbow-bids", daemon=True)
        self.bidding = bidding
        self.interval = interval
        self.stopped = threading.Event()
        self._lead = None

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                if self._lead is None:
                    self._lead = self.bidding.store.try_leadership(LEADERSHIP)
                    if self._lead is not None:
                        log.info("this server closes bid windows")
                if self._lead is not None:
                    self.bidding.sweep()
            except Exception as exc:  # the store is away: try again on the next tick
                log.warning("bid windows: %s", " ".join(str(exc).split())[:200])
                self._release()

    def _release(self) -> None:
        lead, self._lead = self._lead, None
        if lead is not None:
            try:
                lead.release()
            except Exception:
                pass

    def stop(self) -> None:
        self.stopped.set()
        if self.is_alive():
            self.join(timeout=5)
        self._release()


__all__ = ["BID", "BidSettings", "BidSweeper", "Bidding", "bid_options"]
