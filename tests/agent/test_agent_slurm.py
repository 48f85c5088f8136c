"""`rainbow agent --manager slurm` against a real one-node Slurm (one per test run, tests/slurmutil.py) and a real
server: jobs run in Slurm, their end comes back with the exit code, refusals are requeued, a crash between sbatch
and the accept leaves exactly one Slurm job, and cancels reach Slurm."""
from __future__ import annotations

import itertools
import os
import random
import stat

from .agentutil import jobspec, register, wait_for, wait_status

_NAMES = (f"slurm{n}" for n in itertools.count(1))


def _cluster(client, slurm, cores: int | None = None) -> tuple[str, str, str]:
    """A cluster registered from the Slurm node (or claiming `cores` per node); its (name, token, secret). Each
    test's cluster has a name of its own, so jobs of earlier tests in the same Slurm are never taken for its own."""
    name = next(_NAMES)
    token, secret = register(client, name, cores=cores or slurm.cpus)
    return name, token, secret


def _agent(agents, slurm, name, secret, env=None, **kwargs):
    return agents(name, secret, "slurm", env={"SLURM_CONF": str(slurm.conf), **(env or {})}, **kwargs)


def _slurm_jobs(slurm, job_id: int, name: str) -> list[str]:
    """The Slurm jobs of rainbow job `job_id` of cluster `name` (their comment carries both)."""
    out = slurm.run("squeue", "-h", "--states=all", f"--name=rainbow-{job_id}", "-o", "%i|%k").stdout
    return [line.split("|")[0] for line in out.split() if line.endswith(f"|rainbow:{name}:{job_id}")]


def test_job_runs_in_slurm_and_completes_with_its_exit_code(client, agents, slurm):
    name, token, secret = _cluster(client, slurm)
    job = client.submit(jobspec(["sh", "-c", "echo hello from slurm; exit 3"], name="greet"), [(name, token)])
    agent = _agent(agents, slurm, name, secret).start()
    done = wait_status(client, job.jobid, token, "completed")
    assert (done.state, done.exit_code) == ("accepted", 3)
    assert _slurm_jobs(slurm, job.jobid, name) == [done.local_id]
    output = agent.state_dir / "output" / f"rainbow-{job.jobid}.out"
    text = wait_for("the job's output", lambda: output.exists() and output.read_text())
    assert "hello from slurm\n" in text.splitlines(keepends=True)  # srun adds a line of its own too
    shown = slurm.run("scontrol", "-o", "show", "job", done.local_id).stdout
    assert f"JobName=rainbow-{job.jobid}" in shown and "NumTasks=1" in shown
    log = agent.wait_log("manager=slurm")
    assert "cores_total=" in log and "jobs_running=" in log
    assert agent.stop() == 0


def test_job_slurm_refuses_is_reported_and_requeued_elsewhere(client, agents, slurm):
    # The graph claims more cores than the node has, so matching passes and Slurm refuses.
    name, token, secret = _cluster(client, slurm, cores=slurm.cpus + 16)
    other = next(_NAMES)
    other_token, _ = register(client, other, cores=slurm.cpus + 16)
    names = sorted([name, other])
    seed = next(str(s) for s in range(1000) if random.Random(str(s)).choice(names) == name)
    job = client.submit(jobspec(["true"], cores=slurm.cpus + 8), [(name, token), (other, other_token)],
                        select_algorithm="random", select_options={"seed": seed})
    assert job.cluster == name
    _agent(agents, slurm, name, secret).start()
    moved = wait_for("the job to be requeued", lambda: (lambda j: j if j.cluster == other else None)(
        client.get_job(job.jobid, tokens=[token])))
    assert moved.tried == [name] and moved.state == "pending"
    assert f"refused by {name}" in moved.reason and "More processors requested than permitted" in moved.reason
    assert _slurm_jobs(slurm, job.jobid, name) == []


def test_agent_killed_between_sbatch_and_accept_leaves_exactly_one_slurm_job(client, agents, slurm, tmp_path):
    name, token, secret = _cluster(client, slurm)
    job = client.submit(jobspec(["sleep", "30"]), [(name, token)])
    # An sbatch that submits, prints the job id, and then kills the agent that ran it: the agent dies after the
    # local submission and before it could write its journal or accept.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "sbatch"
    real = slurm.run("sh", "-c", "command -v sbatch").stdout.strip()
    wrapper.write_text(f'#!/bin/sh\n{real} "$@"\nkill -9 $PPID\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    first = _agent(agents, slurm, name, secret, env={"PATH": f"{bin_dir}:{os.environ['PATH']}"}).start()
    assert first.wait_exit() == -9
    assert len(_slurm_jobs(slurm, job.jobid, name)) == 1
    assert client.get_job(job.jobid, tokens=[token]).state == "pending"
    second = _agent(agents, slurm, name, secret).start()
    running = wait_for("the job accepted", lambda: (lambda j: j if j.state == "accepted" and j.local_id else None)(
        client.get_job(job.jobid, tokens=[token])))
    assert _slurm_jobs(slurm, job.jobid, name) == [running.local_id]
    assert "not submitted again" in second.wait_log("not submitted again")
    client.cancel_job(job.jobid, tokens=[token])
    wait_status(client, job.jobid, token, "cancelled")


def test_cancel_before_acceptance_never_reaches_slurm_and_after_it_scancels(client, agents, slurm):
    name, token, secret = _cluster(client, slurm)
    queued = client.submit(jobspec(["sleep", "300"]), [(name, token)])
    assert client.cancel_job(queued.jobid, tokens=[token]).outcome == "withdrawn"
    running = client.submit(jobspec(["sleep", "300"]), [(name, token)])
    agent = _agent(agents, slurm, name, secret).start()
    job = wait_status(client, running.jobid, token, "running")
    assert client.cancel_job(running.jobid, tokens=[token]).outcome == "requested"
    cancelled = wait_status(client, running.jobid, token, "cancelled")
    assert cancelled.local_id == job.local_id
    state = slurm.run("squeue", "-h", "--states=all", "-j", job.local_id, "-o", "%T").stdout.strip()
    assert state in ("CANCELLED", "COMPLETING")
    assert _slurm_jobs(slurm, queued.jobid, name) == []
    assert agent.stop() == 0
