"""The agent answers bid requests (select_algorithm bid): the shell from what is free, Slurm from `sbatch
--test-only` on the real one-node Slurm, or a site's own command; and the winner then runs the job."""
from __future__ import annotations

import json
import os
import stat

import pytest

from rainbow.agent.bids import Bidder
from rainbow.agent.managers.base import ManagerError
from rainbow.agent.managers.shell import Shell as ShellManager
from rainbow.agent.translate import Shape

from .agentutil import jobspec, register, wait_for, wait_status

CORES = os.cpu_count() or 1


def _shape(nodes: int = 1, tasks: int = 1, minutes: int = 0) -> Shape:
    return Shape(rainbow_id=7, name="rainbow-7", nodes=nodes, tasks=tasks, cores_per_task=1, gpus_per_node=0,
                 memory_mb_per_node=0, minutes=minutes, command=["true"], title="t")


def _script(tmp_path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_the_shell_bids_now_when_idle_and_prices_from_the_site(tmp_path):
    bidder = Bidder(ShellManager(tmp_path), {"cost_per_node_hour": 2.5})
    answer = bidder.answer(_shape(minutes=30), "{}")
    assert (answer.will_run, answer.eta_seconds, answer.cost) == (True, 0.0, 1.25)
    too_big = bidder.answer(_shape(tasks=CORES + 1), "{}")
    assert not too_big.will_run and f"needs {CORES + 1} cores" in too_big.reason


def test_a_site_command_answers_instead(tmp_path):
    seen = tmp_path / "seen"
    good = _script(tmp_path, "bid-ok", f'cat > {seen}; echo "{{\\"will_run\\": true, \\"eta_seconds\\": 42, '
                                       f'\\"cost\\": 9, \\"valid_for\\": 30}}"; env | grep RAINBOW_NODES >> {seen}')
    answer = Bidder(ShellManager(tmp_path), command=good).answer(_shape(nodes=1), '{"version": 1}')
    assert (answer.will_run, answer.eta_seconds, answer.cost, answer.valid_for) == (True, 42, 9, 30)
    assert seen.read_text().startswith('{"version": 1}') and "RAINBOW_NODES=1" in seen.read_text()
    for body, message in (('echo "not json"', "bid command"), ('echo "{\\"eta_seconds\\": 1}"', "will_run"),
                          ('echo "{\\"will_run\\": true, \\"eta_seconds\\": -1}"', "eta_seconds"),
                          ("exit 4", "exited 4")):
        with pytest.raises(ManagerError, match=message):
            Bidder(ShellManager(tmp_path), command=_script(tmp_path, "bid-bad", body)).answer(_shape(), "{}")


def test_a_shell_agent_wins_the_bid_and_runs_the_job(client, agents):
    token, secret = register(client, "bidder", cores=CORES)
    agent = agents("bidder", secret, "shell", extra=["--set", "cost_per_node_hour=4"]).start()
    submitted = client.submit(jobspec(["sh", "-c", "exit 0"]), [("bidder", token)], select_algorithm="bid",
                              select_options={"window": "60"})
    assert submitted.cluster == ""
    done = wait_status(client, submitted.jobid, token, "completed")
    assert done.cluster == "bidder"
    bids = client.job_bids(submitted.jobid, "bidder", token)
    assert bids.reasons["bidder"].startswith("bid ETA 0 s, cost 4; chosen: won the bids")
    assert f"job {submitted.jobid}: bid ETA 0 s, cost 4 (recorded)" in agent.wait_log("bid ETA")
    assert agent.stop() == 0


def test_slurm_bids_from_sbatch_test_only(client, agents, slurm):
    token, secret = register(client, "slurmbid", cores=slurm.cpus)
    big_token, big_secret = register(client, "slurmbig", cores=slurm.cpus * 4)
    env = {"SLURM_CONF": str(slurm.conf)}
    agents("slurmbid", secret, "slurm", env=env).start()
    agents("slurmbig", big_secret, "slurm", env=env).start()
    # fits both graphs, but the one Slurm node has only slurm.cpus: the big cluster's agent (same Slurm) declines
    fits = client.submit(jobspec(["true"], cores=slurm.cpus), [("slurmbid", token), ("slurmbig", big_token)],
                         select_algorithm="bid", select_options={"window": "60"})
    done = wait_status(client, fits.jobid, token, "completed")
    bids = client.job_bids(fits.jobid, "slurmbid", token)
    assert all(b.answered and b.will_run for b in bids.bids), bids
    assert done.cluster in ("slurmbid", "slurmbig") and "chosen: won the bids" in bids.reasons[done.cluster]
    too_big = client.submit(jobspec(["true"], cores=slurm.cpus * 2), [("slurmbig", big_token)],
                            select_algorithm="bid", select_options={"window": "60", "fallback": "first-fit"})
    declined = wait_for("the decline", lambda: (lambda b: b if b.state != "bidding" else None)(
        client.job_bids(too_big.jobid, "slurmbig", big_token)))
    assert declined.reasons["slurmbig"].startswith("declined") and "fallback" in declined.reasons["slurmbig"]
