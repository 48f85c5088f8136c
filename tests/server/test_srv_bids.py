"""Level-2 selection in the scheduler, on both stores: the best bid wins, silent clusters are dropped at the
deadline, no bids falls back to level 1, a winner that never accepts loses the job to the next bidder, and two
replicas deciding one window decide it once."""
from __future__ import annotations

import json

import pytest

from rainbow.jobspec import simple_jobspec
from rainbow.server.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from rainbow.server.scheduler import Scheduler
from rainbow.store import open_store

from reliability.rel_graphs import cluster_graph

SPEC = json.dumps(simple_jobspec(1, 2, ["app"]))
NAMES = ("east", "north", "west")


@pytest.fixture
def site(store_url):
    scheduler = Scheduler(open_store(store_url), registration_secret="reg")
    creds = {}
    for name in NAMES:
        outcome = scheduler.register(name, "reg", json.dumps(cluster_graph(name, nodes=1, cores=4)))
        creds[name] = (outcome.token, outcome.secret)
    yield scheduler, creds
    scheduler.store.close()


def submit(scheduler, creds, **options):
    tokens = [(name, token) for name, (token, _) in creds.items()]
    return scheduler.submit(SPEC, tokens, algorithm="bid", options={k: str(v) for k, v in options.items()})


def test_the_earliest_bid_wins_as_soon_as_everyone_answered(site):
    scheduler, creds = site
    outcome = submit(scheduler, creds, window=30)
    assert outcome.jobid > 0 and outcome.cluster == "" and outcome.clusters == list(NAMES)
    bidding = scheduler.bidding
    for name, eta in (("east", 30), ("north", 5), ("west", 60)):
        asked = bidding.requests(name, creds[name][1])
        assert [r.job_id for r in asked] == [outcome.jobid]
        assert bidding.answer(name, creds[name][1], outcome.jobid, True, eta, 1.0, None) == "recorded"
    window = bidding.status(outcome.jobid, "east", creds["east"][0])
    assert window.cluster == "north" and window.state == "offered" and window.tried == ["north"]
    assert window.reasons["north"] == "bid ETA 5 s, cost 1; chosen: won the bids (rule earliest)"
    assert window.reasons["east"] == "bid ETA 30 s, cost 1; lost to north by 25 s of ETA"
    assert [job.id for job in scheduler.receive("north", creds["north"][1])] == [outcome.jobid]
    assert scheduler.receive("east", creds["east"][1]) == []
    assert scheduler.accept("north", creds["north"][1], [outcome.jobid]).complete
    assert bidding.status(outcome.jobid, "west", creds["west"][0]).job_state == "accepted"


def test_a_silent_cluster_is_dropped_at_the_deadline(site):
    scheduler, creds = site
    jobid = submit(scheduler, creds, window=5).jobid
    bidding = scheduler.bidding
    bidding.answer("east", creds["east"][1], jobid, True, 50, None, None)
    bidding.answer("west", creds["west"][1], jobid, True, 20, None, None)
    assert bidding.sweep() == 0  # the window is open and north has not answered
    window = scheduler.store.bid_window(jobid)
    assert bidding.sweep(now=window.closes_at + 0.01) == 1
    window = scheduler.store.bid_window(jobid)
    assert window.cluster == "west"
    assert window.reasons["north"] == "did not answer before the window closed; not chosen"
    assert bidding.answer("north", creds["north"][1], jobid, True, 1, None, None) == "closed"


def test_no_usable_bid_falls_back_to_level_one_and_says_so(site):
    scheduler, creds = site
    jobid = submit(scheduler, creds, window=5, fallback="first-fit").jobid
    bidding = scheduler.bidding
    bidding.answer("east", creds["east"][1], jobid, False, None, None, None)
    bidding.answer("west", creds["west"][1], jobid, True, 10, None, 0.0)  # valid for no time at all
    window = scheduler.store.bid_window(jobid)
    assert bidding.sweep(now=window.closes_at + 1) == 1
    window = scheduler.store.bid_window(jobid)
    assert window.cluster == "north"  # first-fit among those that did not decline: north registered before west
    assert window.reasons["north"].endswith("chosen: no usable bid; chosen by the fallback, first-fit")
    assert window.reasons["east"].startswith("declined")
    assert "expired" in window.reasons["west"]


def test_a_winner_that_never_accepts_loses_the_job_to_the_next_bidder(site):
    scheduler, creds = site
    jobid = submit(scheduler, creds, window=30, accept_lease=2).jobid
    bidding = scheduler.bidding
    for name, eta in (("east", 1), ("north", 2), ("west", 3)):
        bidding.answer(name, creds[name][1], jobid, True, eta, None, None)
    first = scheduler.store.bid_window(jobid)
    assert first.cluster == "east"
    assert bidding.sweep(now=first.offer_until - 0.5) == 0
    assert bidding.sweep(now=first.offer_until + 0.1) == 1
    second = scheduler.store.bid_window(jobid)
    assert second.cluster == "north" and second.tried == ["east", "north"]
    assert second.reasons["east"].endswith("offered before and did not accept in time")
    assert scheduler.receive("east", creds["east"][1]) == []
    assert not scheduler.accept("east", creds["east"][1], [jobid]).complete  # too late: it moved on
    assert scheduler.accept("north", creds["north"][1], [jobid]).complete
    assert bidding.sweep(now=second.offer_until + 10) == 0  # accepted: it stays


def test_two_replicas_deciding_one_window_decide_it_once(site, store_url):
    scheduler, creds = site
    jobid = submit(scheduler, creds, window=1).jobid
    other = Scheduler(open_store(store_url), registration_secret="reg")
    try:
        other.rebuild()
        scheduler.bidding.answer("west", creds["west"][1], jobid, True, 3, None, None)
        window = scheduler.store.bid_window(jobid)
        late = window.closes_at + 1
        decided = [scheduler.bidding._decide(window, late), other.bidding._decide(window, late)]
        assert decided == [True, False]
        assert other.store.bid_window(jobid).tried == ["west"]
    finally:
        other.store.close()


def test_bids_are_checked(site):
    scheduler, creds = site
    jobid = submit(scheduler, creds).jobid
    bidding = scheduler.bidding
    with pytest.raises(PermissionDenied):
        bidding.answer("east", "wrong", jobid, True, 1, None, None)
    with pytest.raises(InvalidArgument, match="eta_seconds"):
        bidding.answer("east", creds["east"][1], jobid, True, -1, None, None)
    assert bidding.answer("east", creds["east"][1], jobid, True, 1, None, None) == "recorded"
    assert bidding.answer("east", creds["east"][1], jobid, True, 0, None, None) == "answered"
    assert bidding.answer("east", creds["east"][1], jobid + 100, True, 0, None, None) == "unknown"
    with pytest.raises(NotFound):
        bidding.status(jobid + 100, "east", creds["east"][0])
    with pytest.raises(PermissionDenied):
        bidding.status(jobid, "east", creds["west"][0])
    for options, message in (({"window": "0"}, "window"), ({"fallback": "bid"}, "level-1"),
                             ({"rule": "fastest"}, "rule"), ({"priorities": "[]"}, "not an option")):
        with pytest.raises(InvalidArgument, match=message):
            submit(scheduler, creds, **options)


def test_a_job_nobody_fits_is_refused_and_satisfy_only_queues_nothing(site):
    scheduler, creds = site
    tokens = [(name, token) for name, (token, _) in creds.items()]
    with pytest.raises(FailedPrecondition, match="no cluster can run the job"):
        scheduler.submit(json.dumps(simple_jobspec(5, 5, ["app"])), tokens, algorithm="bid")
    probe = scheduler.submit(SPEC, tokens, algorithm="bid", satisfy_only=True)
    assert probe.jobid == 0 and probe.clusters == list(NAMES) and "asked to bid" in probe.reasons["east"]
    assert scheduler.store.due_bid_windows(1e12) == []


def test_a_server_defaulting_to_bids_keeps_level_one_for_clients_naming_no_algorithm(store_url):
    from rainbow.server.scheduler import SelectionConfig

    scheduler = Scheduler(open_store(store_url), registration_secret="reg", selection=SelectionConfig(name="bid"))
    try:
        red = scheduler.register("red", "reg", json.dumps(cluster_graph("red", nodes=1, cores=4)))
        plain = scheduler.submit(SPEC, [("red", red.token)])
        assert plain.cluster == "red" and plain.jobid > 0
        asked = scheduler.submit(SPEC, [("red", red.token)], algorithm="bid")
        assert asked.cluster == ""
    finally:
        scheduler.store.close()


def test_a_user_sees_the_bids_of_the_jobs_it_submitted(site):
    from rainbow.server.auth import hash_credential

    scheduler, creds = site
    scheduler.store.add_user("ann", hash_credential("ann-token"))
    scheduler.store.add_user("bob", hash_credential("bob-token"))
    for user in ("ann", "bob"):
        for name in NAMES:
            scheduler.store.grant(user, "cluster", name)
    outcome = scheduler.submit_as_user(SPEC, "ann-token", algorithm="bid", options={"window": "30"})
    assert outcome.cluster == "" and outcome.user == "ann"
    window = scheduler.bidding.status(outcome.jobid, "", "ann-token")
    assert window.user == "ann" and window.state == "open"
    with pytest.raises(PermissionDenied, match="another user"):
        scheduler.bidding.status(outcome.jobid, "", "bob-token")
    with pytest.raises(PermissionDenied):
        scheduler.bidding.status(outcome.jobid, "", "nobody")
    assert [job.id for job in scheduler.store.user_jobs("ann")] == [outcome.jobid]


def test_the_winner_is_recorded_as_the_jobs_assignment(site):
    scheduler, creds = site
    jobid = submit(scheduler, creds, window=30, accept_lease=1).jobid
    for name, eta in (("east", 9), ("north", 3), ("west", 5)):
        scheduler.bidding.answer(name, creds[name][1], jobid, True, eta, None, None)
    (first,) = [a for a in scheduler.store.latest_assignments(10) if a.job == jobid]
    assert (first.cluster, first.algorithm) == ("north", "bid") and "chosen: won the bids" in first.reason
    assert set(first.others) == {"east", "west"}
    window = scheduler.store.bid_window(jobid)
    scheduler.bidding.sweep(now=window.offer_until + 0.1)
    (second,) = [a for a in scheduler.store.latest_assignments(10) if a.job == jobid]
    assert second.cluster == "west" and "offered before" in second.others["north"]
