"""Bids through the real server and command: clusters answer with `rainbow bids answer`, the submitter sees the
winner with `rainbow bids show`, and a server restarted during a window loses no job and closes the window after."""
from __future__ import annotations

import json
import time

import yaml
from click.testing import CliRunner

from rainbow.cli import main
from rainbow.client import RainbowClient
from serverutil import start_server

from reliability.rel_graphs import cluster_graph

SECRET = "bids-registration-secret"


def cli(*args: str):
    done = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return done


def _wait(condition, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_bids_from_the_command_line_and_a_restart_inside_the_window(tmp_path):
    server = start_server(tmp_path, secret=SECRET)
    try:
        with RainbowClient(server.address) as client:
            creds = {}
            for name in ("fast", "slow"):
                made = client.register(name, SECRET, json.dumps(cluster_graph(name, nodes=1, cores=4)))
                creds[name] = (made.token, made.secret)
        configs = {}
        for name, (token, secret) in creds.items():
            path = tmp_path / f"{name}.yaml"
            path.write_text(yaml.safe_dump({"host": server.address, "cluster": {"name": name, "secret": secret},
                                            "clusters": [{"name": n, "token": t} for n, (t, _) in creds.items()]}))
            configs[name] = str(path)

        done = cli("submit", "--config-path", configs["fast"], "--select-algorithm", "bid", "--select-option",
                   "window=30", "--nodes", "1", "--tasks", "2", "--", "app")
        assert done.exit_code == 0, done.output
        assert "for bids from fast, slow" in done.output
        jobid = int(done.output.split()[2])
        listed = cli("bids", "list", "--config-path", configs["slow"], "--json")
        assert [r["job_id"] for r in json.loads(listed.output)["requests"]] == [jobid]
        assert cli("bids", "answer", jobid, "--eta", "120", "--cost", "2", "--config-path", configs["slow"]
                   ).exit_code == 0
        again = cli("bids", "answer", jobid, "--eta", "1", "--config-path", configs["slow"])
        assert again.exit_code == 1 and "first answer stands" in again.output
        shown = cli("bids", "show", jobid, "--config-path", configs["fast"])
        assert shown.output.startswith(f"job {jobid}: bidding") and "slow: answered" in shown.output

        server.stop()  # the window is open: nothing of it may be lost
        server.start(server.port)
        assert cli("bids", "answer", jobid, "--eta", "5", "--config-path", configs["fast"]).exit_code == 0
        shown = json.loads(cli("bids", "show", jobid, "--config-path", configs["slow"], "--json").output)
        assert shown["state"] == "offered" and shown["cluster"] == "fast", shown
        assert shown["reasons"]["slow"] == "bid ETA 120 s, cost 2; lost to fast by 115 s of ETA"
        received = cli("receive", "--accept", "1", "--config-path", configs["fast"])
        assert f"accepted 1 job(s) for cluster fast: {jobid}" in received.output

        # a window nobody answers closes on its own after a restart, through the server's sweeper
        done = cli("submit", "--config-path", configs["fast"], "--select-algorithm", "bid", "--select-option",
                   "window=1", "--select-option", "fallback=first-fit", "--nodes", "1", "--tasks", "1", "--", "x")
        second = int(done.output.split()[2])
        server.stop()
        time.sleep(1.2)
        server.start(server.port)
        with RainbowClient(server.address) as client:
            # receiving decides nothing: only the sweeper can have put the job there
            _wait(lambda: second in [job.id for job in client.receive("fast", creds["fast"][1])])
            decided = client.job_bids(second, "fast", creds["fast"][0])
        assert decided.cluster == "fast" and "chosen by the fallback, first-fit" in decided.reasons["fast"]
    finally:
        server.stop()
