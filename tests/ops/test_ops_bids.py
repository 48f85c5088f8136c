"""Bids on /metrics: a job put out for bids counts as `bidding`, each answer by what became of it, and the window by
how it gave its job away."""
from __future__ import annotations

import json

from rainbow.client import RainbowClient

from reliability.rel_graphs import cluster_graph
from serverutil import DEFAULT_SECRET

from .test_ops_metrics import scrape, value

JOBSPEC = {"version": 1, "resources": [{"type": "node", "count": 1, "with": [
    {"type": "slot", "count": 1, "label": "task", "with": [{"type": "core", "count": 1}]}]}],
    "tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}]}


def test_bid_metrics(server_factory):
    server = server_factory(extra_args=["--http-port", "0"])
    with RainbowClient(server.address) as client:
        creds = {}
        for name in ("fast", "slow"):
            made = client.register(name, DEFAULT_SECRET, json.dumps(cluster_graph(name, nodes=1, cores=4)))
            creds[name] = (made.token, made.secret)
        submitted = client.submit(JOBSPEC, [(n, t) for n, (t, _) in creds.items()], select_algorithm="bid",
                                  select_options={"window": "30"})
        assert submitted.cluster == "" and submitted.jobid > 0
        assert client.answer_bid("slow", creds["slow"][1], submitted.jobid, eta_seconds=100) == "ANSWER_RECORDED"
        assert client.answer_bid("slow", creds["slow"][1], submitted.jobid, eta_seconds=1) == "ANSWER_ALREADY"
        assert client.answer_bid("fast", creds["fast"][1], submitted.jobid, eta_seconds=5) == "ANSWER_RECORDED"
    found = scrape(server.http_url)
    assert value(found, "rainbow_jobs_submitted", "rainbow_jobs_submitted_total", result="bidding") == 1
    assert value(found, "rainbow_bid_answers", "rainbow_bid_answers_total", result="recorded") == 2
    assert value(found, "rainbow_bid_answers", "rainbow_bid_answers_total", result="answered") == 1
    assert value(found, "rainbow_bid_windows_decided", "rainbow_bid_windows_decided_total", outcome="bid") == 1
