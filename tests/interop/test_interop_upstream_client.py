"""The upstream Python client (rainbow-scheduler 0.0.16 from the package index) against our server, unchanged.

Its import name `rainbow` is ours too, so it gets its own virtualenv (kept under .venv/ so reruns skip the install)
and runs tests/interop/upstream_driver.py there. The test skips only when the package index cannot be reached.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rainbow.cli import main
from rainbow.client import RainbowClient
from serverutil import start_server

REQUIREMENT = "rainbow-scheduler==0.0.16"
REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv" / "interop-rainbow-scheduler-0.0.16"
DRIVER = Path(__file__).resolve().parent / "upstream_driver.py"
UPSTREAM_DATA = Path(__file__).resolve().parents[1] / "data" / "upstream"

# Words pip prints when it cannot reach the index (as opposed to an install that is broken for another reason).
_OFFLINE = ("NewConnectionError", "Failed to establish a new connection", "Temporary failure in name resolution",
            "Name or service not known", "Max retries exceeded", "Network is unreachable", "ConnectTimeoutError",
            "Could not fetch URL", "ProxyError", "Read timed out")


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _install_upstream(venv: Path) -> Path:
    """A virtualenv holding only the upstream client; reused while its stamp names the same requirement."""
    python = _venv_python(venv)
    stamp = venv / "installed.txt"
    if python.exists() and stamp.exists() and stamp.read_text().strip() == REQUIREMENT:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, timeout=120)
    if made.returncode != 0:
        pytest.fail(f"cannot create a virtualenv for the upstream client: {made.stderr.strip()[-500:]}")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--timeout", "20",
         "--retries", "1", REQUIREMENT],
        capture_output=True, text=True, timeout=300,
    )
    if install.returncode != 0:
        output = (install.stdout + install.stderr).strip()
        shutil.rmtree(venv, ignore_errors=True)
        if any(word in output for word in _OFFLINE):
            pytest.skip(f"the package index cannot be reached to install {REQUIREMENT}: {output.splitlines()[-1]}")
        pytest.fail(f"pip install {REQUIREMENT} failed: {output[-1500:]}")
    stamp.write_text(REQUIREMENT + "\n")
    return python


@pytest.fixture(scope="module")
def upstream_python() -> Path:
    return _install_upstream(VENV)


@pytest.fixture(scope="module")
def upstream_run(upstream_python, tmp_path_factory):
    """Run the driver once against a live server; yields its step results, the server and the work folder."""
    tmp_path = tmp_path_factory.mktemp("upstream")
    with start_server(tmp_path / "server") as server:
        yield _drive(upstream_python, server, tmp_path), server, tmp_path


def _drive(upstream_python: Path, server, tmp_path: Path) -> dict:
    settings = {"address": server.address, "secret": server.secret, "cluster": "keebler",
                "data": str(UPSTREAM_DATA.resolve()), "workdir": str(tmp_path), "out": str(tmp_path / "out.json")}
    (tmp_path / "settings.json").write_text(json.dumps(settings))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONNOUSERSITE": "1"}
    done = subprocess.run([str(upstream_python), str(DRIVER), str(tmp_path / "settings.json")], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"driver failed: {(done.stdout + done.stderr)[-3000:]}"
    return json.loads((tmp_path / "out.json").read_text())


@pytest.mark.network
def test_upstream_client_full_flow(upstream_run):
    results, server, workdir = upstream_run
    failed = {step: r for step, r in results.items()
              if not r["ok"] and "bad_secret" not in step and step != "update_state_file"}
    assert not failed, failed

    registered = results["register"]["value"]
    assert registered["status"] == 1 and registered["token"] and registered["secret"]
    # A second registration of the name is REGISTER_EXISTS with no credentials, not an error.
    assert results["register_again"]["value"] == {"status": 4, "token": "", "secret": ""}
    assert results["register_bad_secret"]["code"] == "PERMISSION_DENIED"
    assert results["register_subsystem"]["value"] == 1
    assert results["register_subsystem_bad_secret"]["code"] == "PERMISSION_DENIED"
    assert results["update_state_dict"]["value"] == 2

    # submit_jobspec: Satisfy finds keebler, SubmitJob queues there.
    submitted = results["submit_jobspec"]["value"]
    assert submitted["cluster"] == "keebler" and submitted["status"] == 1
    assert submitted["total_clusters"] == 1 and submitted["total_matches"] == 1
    fits = results["submit_job_fits"]["value"]
    assert fits["cluster"] == "keebler" and fits["status"] == 1
    # Four nodes: keebler has three, so Satisfy answers no match and nothing is submitted.
    too_big = results["submit_job_too_big"]["value"]
    assert too_big["clusters"] == [] and too_big["total_matches"] == 0

    # receive_jobs receives both queued jobs (and accepts them): ids, names and the jobspec as submitted.
    jobs = sorted(results["receive_jobs"]["value"], key=lambda job: job["id"])
    assert [job["cluster"] for job in jobs] == ["keebler", "keebler"]
    assert jobs[0]["id"] < jobs[1]["id"] and jobs[0]["id"] > 0
    assert jobs[0]["name"] == submitted["name"]
    expected = yaml.safe_load((UPSTREAM_DATA / "jobspec-constraint.yaml").read_text())
    assert yaml.safe_load(jobs[0]["jobspec"]) == expected
    assert yaml.safe_load(jobs[1]["jobspec"])["tasks"][0]["command"] == ["hostname"]
    assert results["receive_jobs_again"]["value"] == []

    # Our own client sees the same cluster the upstream one made: both jobs accepted, with the upstream secret.
    with RainbowClient(server.address, timeout=10) as client:
        listed = list(client.iter_jobs("keebler", registered["secret"]))
    assert [(job.id, job.state) for job in listed] == [(jobs[0]["id"], "accepted"), (jobs[1]["id"], "accepted")]


@pytest.mark.network
def test_upstream_update_state_from_a_file(upstream_run):
    """Upstream's update_state(cluster, path, secret) sends the file's text JSON-encoded once more (a JSON string
    holding the object), as its own example does; the server takes the object inside."""
    results, _, _ = upstream_run
    assert results["update_state_file"] == {"ok": True, "value": 2}


# Run in the upstream interpreter: read a config file our CLI wrote, and receive (and accept) its cluster's jobs.
_RECEIVE_WITH_OUR_CONFIG = """
import json, sys
from rainbow.client import RainbowClient
jobs = RainbowClient(config_file=sys.argv[1]).receive_jobs()
open(sys.argv[2], "w").write(json.dumps(jobs))
"""


@pytest.mark.network
def test_upstream_client_reads_the_config_our_cli_writes(upstream_run, upstream_python):
    _, server, workdir = upstream_run
    cfg = workdir / "ours.yaml"

    def ours(*args: str) -> str:
        args = list(args)
        at = args.index("--") if "--" in args else len(args)
        args[at:at] = ["--config-path", str(cfg)]
        result = CliRunner().invoke(main, args, catch_exceptions=False,
                                    env={"RAINBOW_HOST": None, "RAINBOW_CONFIG": None})
        assert result.exit_code == 0, result.output
        return result.stdout

    ours("config", "init", "--cluster-name", "red", "--host", server.address)
    ours("register", "--nodes-json", str(UPSTREAM_DATA / "cluster-nodes.json"), "--secret", server.secret, "--save")
    submitted = json.loads(ours("submit", "--cluster", "red", "--nodes", "2", "--json", "--", "hostname"))
    assert submitted["cluster"] == "red"

    out = workdir / "received.json"
    done = subprocess.run([str(upstream_python), "-c", _RECEIVE_WITH_OUR_CONFIG, str(cfg), str(out)], cwd=workdir,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(workdir)}, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    jobs = json.loads(out.read_text())
    assert [(job["id"], job["cluster"], job["name"]) for job in jobs] == [(submitted["jobid"], "red", "hostname")]
    assert "no jobs queued" in ours("receive")
