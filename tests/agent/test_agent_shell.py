"""`rainbow agent --manager shell` against a real server: jobs run as local processes, and what the user sees of
them (status, exit code, times) comes back through the agent's reports."""
from __future__ import annotations

import os

import pytest

from rainbow.client import NotFound, PermissionDenied

from .agentutil import jobspec, register, wait_for, wait_status

CORES = os.cpu_count() or 1


def test_job_runs_and_the_user_sees_it_complete_with_its_exit_code(client, agents):
    token, secret = register(client, "here", cores=CORES)
    submitted = client.submit(jobspec(["sh", "-c", "echo hello from rainbow; exit 3"], name="greet"),
                              [("here", token)])
    agent = agents("here", secret, "shell", extra=["--set", "cost_per_node_hour=3"]).start()
    done = wait_status(client, submitted.jobid, token, "completed")
    assert (done.state, done.exit_code, done.cluster) == ("accepted", 3, "here")
    assert done.local_id and done.accepted and done.ended and done.ended >= done.submitted
    output = agent.state_dir / "output" / f"rainbow-{submitted.jobid}.out"
    assert output.read_text() == "hello from rainbow\n"
    # The cluster sees its own job; the state it reported, with the site's own values, reaches the server.
    assert client.get_job(submitted.jobid, cluster="here", secret=secret).status == "completed"
    line = agent.wait_log("state reported")
    assert "cost_per_node_hour=3" in line and "manager=shell" in line
    assert agent.stop() == 0
    log = agent.text()
    assert f"job {submitted.jobid}: submitted to shell as" in log and "agent stopped" in log


def test_a_user_sees_only_their_jobs(client, agents):
    token, secret = register(client, "here", cores=CORES)
    other_token, _ = register(client, "there", cores=CORES)
    mine = client.submit(jobspec(["true"]), [("here", token)])
    theirs = client.submit(jobspec(["true"]), [("there", other_token)])
    assert [j.id for j in client.iter_jobs("", "", tokens=[token])] == [mine.jobid]
    with pytest.raises(NotFound):
        client.get_job(theirs.jobid, tokens=[token])
    with pytest.raises(PermissionDenied):
        client.get_job(mine.jobid, tokens=["not-a-token"])
    with pytest.raises(NotFound):  # a cluster sees its own jobs only
        client.get_job(theirs.jobid, cluster="here", secret=secret)
    with pytest.raises(NotFound):
        client.cancel_job(theirs.jobid, tokens=[token])


def test_cancel_before_acceptance_withdraws_and_after_cancels_locally(client, agents):
    token, secret = register(client, "here", cores=CORES)
    queued = client.submit(jobspec(["sleep", "600"]), [("here", token)])
    withdrawn = client.cancel_job(queued.jobid, tokens=[token])
    assert (withdrawn.outcome, withdrawn.job.state, withdrawn.job.status) == ("withdrawn", "closed", "cancelled")
    running = client.submit(jobspec(["sleep", "600"]), [("here", token)])
    agent = agents("here", secret, "shell").start()
    job = wait_status(client, running.jobid, token, "running")
    pid = int(job.local_id)
    asked = client.cancel_job(running.jobid, tokens=[token])
    assert asked.outcome == "requested"
    cancelled = wait_status(client, running.jobid, token, "cancelled")
    assert cancelled.state == "accepted"
    wait_for("the cancelled process to end", lambda: not _alive(pid))
    # The withdrawn job never ran.
    assert not (agent.state_dir / "shell" / f"rainbow-{queued.jobid}").exists()
    assert client.cancel_job(running.jobid, tokens=[token]).outcome == "final"


def test_refused_job_is_requeued_to_another_cluster_that_fits(client, agents):
    # Both graphs claim more cores than this machine has, so matching passes; the shell manager refuses.
    creds = {name: register(client, name, cores=CORES + 8) for name in ("small", "big")}
    job = client.submit(jobspec(["true"], cores=CORES + 4), [(n, t) for n, (t, _) in creds.items()])
    first = job.cluster
    other = "big" if first == "small" else "small"
    agents(first, creds[first][1], "shell").start()
    moved = wait_for("the job to move", lambda: (lambda j: j if j.cluster == other else None)(
        client.get_job(job.jobid, tokens=[creds[first][0]])))
    assert moved.tried == [first] and moved.state == "pending" and moved.status == ""
    assert f"refused by {first}" in moved.reason and "cores" in moved.reason


def test_refused_job_with_requeue_off_is_failed_with_the_managers_words(client, agents):
    token, secret = register(client, "small", cores=CORES + 8)
    job = client.submit(jobspec(["true"], cores=CORES + 4), [("small", token)])
    agents("small", secret, "shell", extra=["--no-requeue-on-refusal"]).start()
    failed = wait_status(client, job.jobid, token, "failed")
    assert failed.state == "closed" and "shell refused the job" in failed.reason


def test_agent_waits_out_an_unreachable_server_and_resumes(rainbow_server, client, agents):
    token, secret = register(client, "here", cores=CORES)
    agent = agents("here", secret, "shell").start()
    agent.wait_log("state reported")
    rainbow_server.stop()
    agent.wait_log("server unreachable")
    rainbow_server.restart()
    agent.wait_log("server reachable again")
    from rainbow.client import RainbowClient

    with RainbowClient(rainbow_server.address, timeout=30) as again:
        job = again.submit(jobspec(["true"]), [("here", token)])
        assert wait_status(again, job.jobid, token, "completed").exit_code == 0
    assert agent.stop() == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers signal 0; it has ended.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
