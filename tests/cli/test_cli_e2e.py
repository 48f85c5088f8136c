"""The `rainbow` command against the real server: the whole flow with the upstream sample data, and TLS settings
from flags, the environment and the config file. Steps marked `process=True` run the command as a separate process
the way a user does; the rest run in-process through click's runner, which is the same code without the start-up."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from certs import TestCA
from rainbow import config as rconfig
from rainbow.cli import main

UPSTREAM = Path(__file__).resolve().parents[1] / "data" / "upstream"
_LAUNCH = "import sys; from rainbow.cli import main; sys.exit(main())"


@pytest.fixture(autouse=True)
def _no_rainbow_environment(monkeypatch):
    for key in [k for k in os.environ if k.startswith("RAINBOW_")]:
        monkeypatch.delenv(key)


def rainbow(*args, env: dict[str, str] | None = None, process: bool = False) -> subprocess.CompletedProcess:
    argv = [str(a) for a in args]
    if process:
        return subprocess.run([sys.executable, "-c", _LAUNCH, *argv], capture_output=True, text=True,
                              env=dict(os.environ) | (env or {}), timeout=60)
    result = CliRunner().invoke(main, argv, env=env, catch_exceptions=False)
    return subprocess.CompletedProcess(argv, result.exit_code, result.stdout, result.stderr)


def ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def one_line_failure(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    return lines[0]


def test_full_flow_through_the_command(rainbow_server, tmp_path):
    cfg = tmp_path / "rainbow-config.yaml"
    env = {"RAINBOW_CONFIG": str(cfg), "RAINBOW_HOST": rainbow_server.address}
    ok(rainbow("config", "init", "--cluster-name", "keebler", env=env))
    ok(rainbow("register", "--nodes-json", UPSTREAM / "cluster-nodes.json", "--save",
               env=env | {"RAINBOW_SECRET": rainbow_server.secret}, process=True))
    saved = rconfig.load_config(cfg)
    assert saved["cluster"]["name"] == "keebler" and saved["cluster"]["secret"] and saved["cluster"]["token"]
    assert saved["clusters"] == [{"name": "keebler", "token": saved["cluster"]["token"]}]
    assert "already registered" in one_line_failure(
        rainbow("register", "--nodes-json", UPSTREAM / "cluster-nodes.json",
                env=env | {"RAINBOW_SECRET": rainbow_server.secret}))

    # The io jobspec fits only once the io subsystem is attached.
    io_job = ["submit", "--jobspec", UPSTREAM / "jobspec-io.yaml", "--satisfy-only", "--json"]
    none_fits = rainbow(*io_job, env=env)
    assert none_fits.returncode == 1 and none_fits.stderr == ""  # like grep: an answer, not an error
    before = json.loads(none_fits.stdout)
    assert before["clusters"] == [] and before["reasons"]["keebler"]
    ok(rainbow("register", "subsystem", "--subsystem", "io", "--nodes-json", UPSTREAM / "cluster-io-subsystem.json",
               env=env))
    assert json.loads(ok(rainbow(*io_job, env=env)).stdout)["clusters"] == ["keebler"]
    ok(rainbow("update-state", "--state-file", UPSTREAM / "cluster-state.json", env=env))

    first = ok(rainbow("submit", "--jobspec", UPSTREAM / "jobspec-io.yaml", "--explain", env=env)).stdout
    assert first.splitlines()[1:] == ["  keebler: selected"]
    first_id = int(first.split()[2])
    second = json.loads(ok(rainbow("submit", "--nodes", "2", "--tasks", "24", "--name", "lmp", "--json",
                                   "--", "lmp", "-in", "in.lj", env=env)).stdout)
    assert second["cluster"] == "keebler" and second["jobid"] > first_id

    # Four nodes do not fit a three-node cluster: the reason is printed, the error is one line, nothing queued.
    too_big = rainbow("submit", "--nodes", "4", "--explain", "--", "hostname", env=env, process=True)
    assert too_big.stdout.splitlines()[0] == "no cluster fits:"
    assert too_big.stdout.splitlines()[1].startswith("  keebler: ")
    assert "no cluster fits" in one_line_failure(too_big)

    received = json.loads(ok(rainbow("receive", "--json", env=env, process=True)).stdout)
    assert [job["id"] for job in received["jobs"]] == [first_id, second["jobid"]]
    assert received["jobs"][0]["jobspec"] == yaml.safe_load((UPSTREAM / "jobspec-io.yaml").read_text())
    assert received["jobs"][1]["name"] == "lmp"
    taken = ok(rainbow("receive", "--accept", "1", env=env)).stdout.splitlines()[-1]
    assert taken == f"accepted 1 job(s) for cluster keebler: {first_id}"
    assert "RESULT_TYPE_PARTIAL" in one_line_failure(rainbow("accept", first_id, env=env))
    assert ok(rainbow("accept", second["jobid"], env=env)).stdout == \
        f"accepted 1 job(s) for cluster keebler: {second['jobid']}\n"  # the same words as receive --accept

    listed = json.loads(ok(rainbow("jobs", "--json", "--page-size", "1", env=env)).stdout)["jobs"]
    assert listed[1]["jobspec"]["name"] == "lmp"  # a document, not text inside a string
    assert [(job["id"], job["state"]) for job in listed] == [(first_id, "accepted"), (second["jobid"], "accepted")]
    assert all(job["accepted"] for job in listed)
    assert "no jobs queued" in ok(rainbow("receive", env=env)).stdout

    # Another cluster's secret cannot read keebler's jobs.
    assert "PERMISSION_DENIED" in one_line_failure(rainbow("jobs", "--cluster-secret", "not-it", env=env))

    ok(rainbow("delete", "--subsystem", "io", env=env))
    gone = rainbow(*io_job, env=env)
    assert gone.returncode == 1 and json.loads(gone.stdout)["clusters"] == []
    assert ok(rainbow("delete", env=env)).stdout.strip() == "deleted cluster keebler"
    one_line_failure(rainbow("delete", env=env))


def test_artifact_requirements_reach_the_server(rainbow_server, tmp_path):
    """The upstream sample graph has no node properties, so an artifact's OS/MPI requirements cannot be met."""
    cfg = tmp_path / "c.yaml"
    env = {"RAINBOW_CONFIG": str(cfg), "RAINBOW_HOST": rainbow_server.address}
    ok(rainbow("register", "--cluster-name", "keebler", "--nodes-json", UPSTREAM / "cluster-nodes.json",
               "--secret", rainbow_server.secret, "--save", env=env))
    plain = json.loads(ok(rainbow("submit", "--nodes", "1", "--satisfy-only", "--json", "--", "lmp", env=env)).stdout)
    assert plain["clusters"] == ["keebler"]
    none_fits = rainbow("submit", "--nodes", "1", "--artifact", UPSTREAM / "artifact-lammps.json",
                        "--satisfy-only", "--json", "--", "lmp", env=env)
    assert none_fits.returncode == 1  # no cluster fits: exit 1, like grep
    result = json.loads(none_fits.stdout)
    assert result["clusters"] == [] and result["reasons"]["keebler"]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    ca = TestCA(directory)
    return ca, ca.issue("server", "localhost", server=True), ca.issue("client", "cluster", server=False)


def test_tls_from_flags(server_factory, pki, tmp_path):
    ca, server_cert, _ = pki
    server = server_factory(extra_args=["--tls-cert", server_cert.cert, "--tls-key", server_cert.key])
    cfg = tmp_path / "c.yaml"
    args = ["--config-path", cfg, "--host", server.address]
    register = ["register", "--cluster-name", "red", "--nodes-json", UPSTREAM / "cluster-nodes.json",
                "--secret", server.secret, "--save", *args]
    # Plain gRPC against a TLS server fails on one line, and nothing is saved.
    one_line_failure(rainbow(*register, "--timeout", "5", process=True))
    assert not cfg.exists()
    ok(rainbow(*register, "--tls-ca", ca.ca_path))
    ok(rainbow("receive", "--config-path", cfg, "--tls-ca", ca.ca_path, "--host", f"localhost:{server.port}"))
    # Dialling an address the certificate does not name works when --server-name names one it does.
    ok(rainbow("receive", *args, "--tls-ca", ca.ca_path, "--server-name", "localhost"))


def test_mutual_tls_from_environment_and_config(server_factory, pki, tmp_path):
    ca, server_cert, client_cert = pki
    server = server_factory(extra_args=["--tls-cert", server_cert.cert, "--tls-key", server_cert.key,
                                        "--tls-ca", ca.ca_path])
    cfg = tmp_path / "c.yaml"
    env = {"RAINBOW_CONFIG": str(cfg), "RAINBOW_HOST": server.address, "RAINBOW_TLS_CA": ca.ca_path}
    register = ["register", "--cluster-name", "red", "--nodes-json", UPSTREAM / "cluster-nodes.json",
                "--secret", server.secret, "--save", "--timeout", "5"]
    # Without a client certificate the connection is refused before any secret is looked at.
    one_line_failure(rainbow(*register, env=env, process=True))
    tls_env = env | {"RAINBOW_TLS_CERT": client_cert.cert, "RAINBOW_TLS_KEY": client_cert.key}
    ok(rainbow(*register, env=tls_env))
    # The same settings from the config file's tls: section.
    saved = rconfig.load_config(cfg)
    saved["tls"] = {"ca": ca.ca_path, "cert": client_cert.cert, "key": client_cert.key, "server_name": ""}
    saved["host"] = server.address
    rconfig.save_config(cfg, saved)
    assert "no jobs queued" in ok(rainbow("receive", "--config-path", cfg)).stdout


def test_client_health_and_satisfy(rainbow_server):
    from rainbow.client import RainbowClient

    with RainbowClient(rainbow_server.address, timeout=10) as client:
        assert client.health() == "SERVING"
        empty = client.satisfy((UPSTREAM / "jobspec-constraint.yaml").read_text())
        assert (empty.clusters, empty.total_clusters, empty.total_matches) == ([], 0, 0)
        result = client.register("keebler", rainbow_server.secret, (UPSTREAM / "cluster-nodes.json").read_bytes())
        assert result.status == "REGISTER_SUCCESS"
        fits = client.satisfy((UPSTREAM / "jobspec-constraint.yaml").read_text())
        assert (fits.clusters, fits.total_clusters, fits.total_matches, fits.total_mismatches) == (["keebler"], 1, 1, 0)
        too_big = client.satisfy({"version": 1, "resources": {"r": {"type": "node", "replicas": 4}},
                                  "tasks": [{"command": ["true"], "resources": "r"}]})
        assert too_big.clusters == [] and too_big.total_mismatches == 1 and too_big.reasons["keebler"]
