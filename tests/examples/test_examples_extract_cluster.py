"""examples/extract-cluster.sh: the dry run prints each launcher's commands; the local run extracts this machine,
builds the graph and registers it with a real server."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "extract-cluster.sh"


def run(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAINBOW_")}
    base["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}"
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          env={**base, **(env or {})}, cwd=cwd)


@pytest.mark.parametrize("launcher, line", [
    ("flux", "flux exec -r all sh -c 'compspec extract --quiet --out \"/shared/c/nodes/$(hostname).json\"'"),
    ("slurm", "srun --nodes=1 --ntasks-per-node=1 sh -c 'compspec extract --quiet --out "
              "\"/shared/c/nodes/$(hostname).json\"'"),
])
def test_dry_run_prints_the_launcher_commands(launcher, line):
    done = run("-n", "-l", launcher, "-c", "c1", "-d", "/shared/c", "-r")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "mkdir -p /shared/c/nodes",
        line,
        "compspec create nodes --cluster-name c1 --node-dir /shared/c/nodes --nodes-output /shared/c/graph.json",
        "rainbow register --cluster-name c1 --nodes-json /shared/c/graph.json --save",
    ]


def test_ssh_reads_the_host_file_skipping_comments(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("n1\n# down for repair\nn2\n\n")
    done = run("-n", "-l", "ssh", "-H", str(hosts), "-c", "c1", "-d", "/shared/c")
    assert [line.split()[2] for line in done.stdout.splitlines() if line.startswith("ssh")] == ["n1", "n2"]


def test_bad_launcher_and_missing_options_are_usage_errors():
    assert run("-l", "pbs", "-c", "c", "-d", "d").returncode == 2
    assert run("-l", "ssh", "-c", "c", "-d", "d").returncode == 2
    assert run("-c", "c").returncode == 2


def test_local_run_extracts_builds_and_registers(examples_server, tmp_path):
    env = {"RAINBOW_HOST": examples_server.address, "RAINBOW_SECRET": examples_server.secret}
    done = run("-l", "local", "-c", "laptop", "-d", "site", "-r", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "extracted 1 node(s)" in done.stdout
    graph = json.loads((tmp_path / "site" / "graph.json").read_text())
    assert graph["name"] == "laptop"
    saved = (tmp_path / "rainbow-config.yaml").read_text()
    assert "laptop" in saved and "secret" in saved


def test_help_is_the_usage_on_stdout_and_exit_0():
    done = run("-h")
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Extract every node of a cluster")
    assert lines[-1].startswith("COMPSPEC names the compspec command")
    assert not any(line.startswith("set ") for line in lines), "no line of the script itself"


def test_a_wrong_call_prints_the_usage_on_stderr():
    done = run("-x")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines()[0] == "extract-cluster.sh: unknown option -x"
    assert "Options:" in done.stderr
