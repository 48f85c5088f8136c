"""`rainbow agent --manager flux` against a stand-in `flux` (tests/data/flux/flux, flux-core 0.56 output formats)
first on PATH, and a real server: the same code path as with a real Flux."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from .agentutil import jobspec, register, wait_for, wait_status

FLUX_BIN = Path(__file__).resolve().parents[1] / "data" / "flux"


@pytest.fixture
def flux_env(tmp_path):
    return {"PATH": f"{FLUX_BIN}:{os.environ['PATH']}", "FAKE_FLUX_STATE": str(tmp_path / "flux"),
            "FAKE_FLUX_CORES": "4"}


def test_flux_job_runs_and_completes_with_its_exit_code(client, agents, flux_env):
    token, secret = register(client, "fluxy", cores=4)
    job = client.submit(jobspec(["sh", "-c", "echo from flux; exit 5"]), [("fluxy", token)])
    agent = agents("fluxy", secret, "flux", env=flux_env).start()
    done = wait_status(client, job.jobid, token, "completed")
    assert done.exit_code == 5 and done.local_id.startswith("f")
    assert (agent.state_dir / "output" / f"rainbow-{job.jobid}.out").read_text() == "from flux\n"
    log = agent.wait_log("manager=flux")
    assert "cores_total=4" in log


def test_flux_refusal_and_restart_and_cancel(client, agents, flux_env):
    token, secret = register(client, "fluxy", cores=16)
    refused = client.submit(jobspec(["true"], cores=8), [("fluxy", token)])
    long = client.submit(jobspec(["sleep", "300"]), [("fluxy", token)])
    agent = agents("fluxy", secret, "flux", env=flux_env, extra=["--no-requeue-on-refusal"]).start()
    failed = wait_status(client, refused.jobid, token, "failed")
    assert "unsatisfiable request" in failed.reason
    running = wait_status(client, long.jobid, token, "running")
    # A restarted agent follows the job from its journal and cancels it in Flux when asked.
    assert agent.stop() == 0
    agent.start()
    agent.wait_log("1 jobs followed from the journal")
    assert client.cancel_job(long.jobid, tokens=[token]).outcome == "requested"
    cancelled = wait_status(client, long.jobid, token, "cancelled")
    assert cancelled.local_id == running.local_id
    flux_state = Path(flux_env["FAKE_FLUX_STATE"])
    assert wait_for("the Flux job cancelled", lambda: any((d / "canceled").exists() for d in flux_state.iterdir()))
