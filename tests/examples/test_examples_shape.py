"""How the pollers turn a received job into nodes, tasks, cores per task and a command."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

from flux_poller import flux_command  # noqa: E402
from poller import Shape, in_container, job_shape  # noqa: E402
from slurm_poller import slurm_command  # noqa: E402

from rainbow.client import Job  # noqa: E402

FLUX_V1 = """
version: 1
resources:
- type: node
  count: 2
  with:
  - type: slot
    count: 1
    label: default
    with:
    - type: core
      count: 4
tasks:
- command: [hostname]
  slot: default
  count: {per_slot: 1}
"""


def job(text: str, name: str = "", command: str = "") -> Job:
    return Job(id=7, cluster="c", name=name, jobspec=text, command=command)


def test_simple_job_spreads_tasks_over_the_cores():
    from rainbow.jobspec import simple_jobspec
    import json

    spec = simple_jobspec(3, 12, ["lmp", "-in", "in.lj"], name="lj")
    assert job_shape(job(json.dumps(spec))) == Shape("lj", 3, 12, 1, ["lmp", "-in", "in.lj"])


def test_flux_v1_counts_slots_per_node():
    assert job_shape(job(FLUX_V1)) == Shape("rainbow-7", 2, 2, 4, ["hostname"])


def test_the_job_name_and_command_from_the_server_win():
    shape = job_shape(job(FLUX_V1, name="given", command="echo 'a b'"))
    assert (shape.name, shape.command) == ("given", ["echo", "a b"])


def test_sockets_are_counted_through():
    text = ("version: 1\nresources:\n  r:\n    type: node\n    count: 1\n    with:\n    - type: socket\n"
            "      count: 2\n      with:\n      - {type: core, count: 8}\ntasks:\n- command: [a]\n  resources: r\n")
    assert job_shape(job(text)) == Shape("rainbow-7", 1, 1, 16, ["a"])


@pytest.mark.parametrize("text", ["version: 1\nresources: {}\ntasks: []\n", "[1, 2", "just text"])
def test_unusable_jobspecs_are_refused(text):
    with pytest.raises(ValueError, match="job 7"):
        job_shape(job(text))


def test_local_commands_quote_the_user_command():
    shape = Shape("x", 2, 4, 3, ["echo", "a b"])
    assert flux_command(shape)[-3:] == ["--", "echo", "a b"]
    assert slurm_command(shape)[-1] == "--wrap=srun echo 'a b'"


def test_a_job_submitted_by_image_runs_in_its_image():
    from rainbow.jobspec import set_container, simple_jobspec
    import json

    pinned = "127.0.0.1:5000/lammps@sha256:" + "ab" * 32
    spec = set_container(simple_jobspec(2, 4, ["lmp", "-in", "in.lj"], name="lj"),
                         {"image": "127.0.0.1:5000/lammps:rocky9", "pull": pinned})
    shape = job_shape(job(json.dumps(spec)))
    assert shape == Shape("lj", 2, 4, 1, ["lmp", "-in", "in.lj"], image=pinned)
    assert in_container(shape, "apptainer").command == ["apptainer", "exec", f"docker://{pinned}", "lmp", "-in",
                                                        "in.lj"]
    assert slurm_command(in_container(shape, "podman"))[-1] == \
        f"--wrap=srun podman run --rm --network=host {pinned} lmp -in in.lj"
    assert flux_command(in_container(shape, "singularity"))[-7:] == ["--", "singularity", "exec",
                                                                     f"docker://{pinned}", "lmp", "-in", "in.lj"]
    with pytest.raises(ValueError, match="no container runtime"):
        in_container(shape, "none")
    plain = job_shape(job(json.dumps(simple_jobspec(1, 1, ["hostname"]))))
    assert in_container(plain, "none") == plain
