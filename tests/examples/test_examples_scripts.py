"""The example scripts, run as a user runs them, against a real server: register, submit,
receive and accept."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rainbow.client import RainbowClient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DATA = EXAMPLES / "data"


def script(name: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True,
                          cwd=EXAMPLES, timeout=60)
    if ok:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_register_attaches_subsystems_reports_state_and_prints_the_credentials(examples_server):
    done = script("register.py", "--address", examples_server.address, "--secret", examples_server.secret,
                  "--name", "keebler", "--subsystem", "io=data/cluster-io-subsystem.json",
                  "--state", "data/cluster-state.json", "data/cluster-nodes.json")
    lines = done.stdout.strip().splitlines()
    assert lines[:2] == ["subsystem io: REGISTER_SUCCESS", "state: UPDATE_STATE_SUCCESS"]
    creds = json.loads(lines[-1])
    assert creds["cluster"] == "keebler" and creds["token"] and creds["secret"]
    again = script("register.py", "--address", examples_server.address, "--secret", examples_server.secret,
                   "--name", "keebler", "data/cluster-nodes.json", ok=False)
    assert again.returncode == 1 and "REGISTER_EXISTS" in again.stderr


def submit(address: str, creds: dict, jobspec: str, *extra: str, ok: bool = True) -> subprocess.CompletedProcess:
    return script("submit.py", "--address", address, "--cluster", f"{creds['cluster']}={creds['token']}", *extra,
                  jobspec if "/" in jobspec else f"data/{jobspec}", ok=ok)


def test_submit_places_the_job_and_satisfy_only_lists_the_fit(fresh_cluster):
    address, creds = fresh_cluster
    assert submit(address, creds, "jobspec-io.yaml", "--satisfy-only").stdout.strip() == f"fits: {creds['cluster']}"
    first = submit(address, creds, "jobspec-constraint.yaml").stdout.strip()
    second = submit(address, creds, "jobspec-io.yaml").stdout.strip()
    assert first.startswith("job ") and first.endswith(f" queued for {creds['cluster']}")
    ids = [int(first.split()[1]), int(second.split()[1])]
    assert ids[1] > ids[0] > 0


def test_submit_that_fits_nowhere_gives_the_reason(fresh_cluster, tmp_path):
    address, creds = fresh_cluster
    big = tmp_path / "big.yaml"
    big.write_text("version: 1\nresources:\n  many:\n    type: node\n    replicas: 4\n    with:\n"
                   "    - {type: core, count: 2}\ntasks:\n- command: [hostname]\n  resources: many\n")
    done = submit(address, creds, str(big), ok=False)
    assert done.returncode == 1
    assert "no cluster fits" in done.stderr and creds["cluster"] in done.stderr


def test_receive_accept_takes_each_job_once(fresh_cluster):
    address, creds = fresh_cluster
    jobid = int(submit(address, creds, "jobspec-constraint.yaml").stdout.split()[1])
    args = ("--address", address, "--cluster", creds["cluster"], "--secret", creds["secret"])
    listed = script("receive_accept.py", *args, "--no-accept").stdout.splitlines()
    assert listed == [f"job {jobid} jobspec-constraint"]
    taken = script("receive_accept.py", *args).stdout.splitlines()
    assert taken == [f"job {jobid} jobspec-constraint", "accept: RESULT_TYPE_SUCCESS"]
    assert script("receive_accept.py", *args).stdout.strip() == "no jobs"


def test_receive_with_a_wrong_secret_is_refused(fresh_cluster):
    address, creds = fresh_cluster
    done = script("receive_accept.py", "--address", address, "--cluster", creds["cluster"], "--secret", "wrong",
                  ok=False)
    assert done.returncode == 1 and "PERMISSION_DENIED" in done.stderr
