"""`make demo` (python -m rainbow.demo): the whole flow passes its own checks; a broken scenario fails cleanly."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import sys
from pathlib import Path

import psutil
import yaml

from rainbow.demo import DATA, SCENARIO, attach_subsystem, node_labels

REPO = Path(__file__).resolve().parents[2]


# Each play gets its own temporary root, so the check for servers left behind sees only this demo's, not those of
# another demo running on the same machine.
PLAY_ROOT = tempfile.mkdtemp(prefix="demo-plays-")


def play(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rainbow.demo", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=120, env={**os.environ, "TMPDIR": PLAY_ROOT})


def test_demo_plays_every_step_and_exits_zero():
    done = play()
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "   it went to rocky-cpu, as job 1" in lines
    assert "   submitting it anyway is refused (FAILED_PRECONDITION); nothing is queued" in lines
    assert any(line.startswith("   rocky-cpu cannot run it: ") and "Rocky Linux 9.3" in line for line in lines)
    assert "   a job that asks for a node with shm storage now fits: rocky-cpu" in lines
    assert "   stopped cleanly (exit 0)" in lines
    assert any(line.startswith("   the user follows it (rainbow job 2): ") and "completed, exit code 0" in line
               for line in lines)
    assert "     job 2: accepted" in lines and "     job 2: completed (exit code 0)" in lines
    assert lines[-1].startswith("Done in ")
    assert "FAILED at" not in done.stdout
    assert not demo_servers()


def demo_servers() -> list[psutil.Process]:
    """`rainbow serve` processes whose working folder is a temporary folder of a demo this module played."""
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        info = proc.info
        if "serve" in (info.get("cmdline") or []) and (info.get("cwd") or "").startswith(PLAY_ROOT):
            found.append(proc)
    return found


def test_a_step_that_fails_ends_the_demo_with_status_1_and_stops_the_server(tmp_path):
    scenario = yaml.safe_load(SCENARIO.read_text())
    scenario["clusters"][0]["machines"][0]["host"] = "no-such-machine"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(scenario))
    done = play(str(path))
    assert done.returncode == 1
    assert "FAILED at step 3: the recorded machine" in done.stdout and "no-such-machine is missing" in done.stdout
    assert "Done in" not in done.stdout
    assert not demo_servers()


def test_a_scenario_that_does_not_fit_its_schema_is_refused_before_anything_starts(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("clusters: []\njobs: []\n")
    done = play(str(path))
    assert done.returncode == 1
    assert "FAILED: cannot read the scenario" in done.stdout and "bad.yaml: jobs: " in done.stdout
    assert "1. Start" not in done.stdout


def test_io_vertices_are_hung_off_the_given_labels_as_upstream_does():
    template = json.loads((DATA / "cluster-io-subsystem.json").read_text())
    graph = json.loads((REPO / "examples" / "data" / "cluster-nodes.json").read_text())
    assert node_labels(graph) == ["2", "16", "30"]
    rebuilt = attach_subsystem(template, node_labels(graph))
    key = lambda e: (e["source"], e["target"], e["relation"])  # noqa: E731
    assert sorted(map(key, rebuilt["graph"]["edges"])) == sorted(map(key, template["graph"]["edges"]))
    one = attach_subsystem(template, ["7"])
    assert {e["source"] for e in one["graph"]["edges"] if e["relation"] == "contains"} == {"7"}


def teardown_module() -> None:
    shutil.rmtree(PLAY_ROOT, ignore_errors=True)
