"""The agent's parts without processes: jobspec translation, each manager's command and status parsing, the
journal, the backoff, the plugin registry, and the loop over an in-process server with a counting manager."""
from __future__ import annotations

import json
import random

import pytest

from rainbow.agent.journal import Journal
from rainbow.agent.loop import Agent, AgentOptions, Backoff
from rainbow.agent.managers import LocalStatus, Manager, Refused, create, manager, names
from rainbow.agent.managers.flux import status_of as flux_status
from rainbow.agent.managers.slurm import parse_scontrol, status_of as slurm_status
from rainbow.agent.translate import TranslateError, job_shape
from rainbow.client import Job, RainbowClient
from rainbow.server.inprocess import InProcessTransport

from .agentutil import jobspec


def _job(spec, jid=7, name=""):
    return Job(id=jid, cluster="c", name=name, jobspec=spec if isinstance(spec, str) else json.dumps(spec),
               command="")


def test_nextgen_jobspec_becomes_nodes_tasks_cores_gpus_memory_and_time():
    spec = {"version": 1, "attributes": {"system": {"duration": 90}},
            "resources": {"r": {"type": "node", "replicas": 2, "with": [
                {"type": "core", "count": 8}, {"type": "gpu", "count": 2},
                {"type": "memory", "count": 4, "unit": "GiB"}]}},
            "tasks": [{"command": ["lmp", "-in", "x"], "replicas": 4, "resources": "r"}]}
    shape = job_shape(_job(spec))
    assert (shape.name, shape.nodes, shape.tasks, shape.cores_per_task) == ("rainbow-7", 2, 4, 4)
    assert (shape.gpus_per_node, shape.memory_mb_per_node, shape.minutes) == (2, 4096, 2)
    args = create("slurm", workdir="/w", cluster="c").command(shape)
    assert args[:3] == ["sbatch", "--parsable", "--job-name=rainbow-7"]
    for flag in ("--comment=rainbow:c:7", "--nodes=2", "--ntasks=4", "--cpus-per-task=4", "--gpus-per-node=2",
                 "--mem=4096M", "--time=2", "--output=/w/output/rainbow-7.out", "--wrap=srun lmp -in x"):
        assert flag in args
    flux = create("flux", workdir="/w").command(shape)
    assert flux[:2] == ["flux", "submit"] and flux[-4:] == ["--", "lmp", "-in", "x"]
    assert "--gpus-per-task=1" in flux and "--time-limit=2m" in flux and "--cores-per-task=4" in flux


def test_a_job_with_an_image_runs_through_the_container_runtime():
    from rainbow.agent.translate import in_container

    spec = json.loads(jobspec(["lmp", "-in", "x"]))
    spec["attributes"] = {"system": {"container": {"image": "reg/lammps:1", "pull": "reg/lammps@sha256:ab"}}}
    shape = job_shape(_job(spec))
    assert shape.image == "reg/lammps@sha256:ab"
    assert in_container(shape, "apptainer").command == ["apptainer", "exec", "docker://reg/lammps@sha256:ab", "lmp",
                                                        "-in", "x"]
    assert in_container(job_shape(_job(jobspec(["true"]))), "none").command == ["true"]
    with pytest.raises(TranslateError, match="no container runtime"):
        in_container(shape, "none")


def test_flux_jobspec_with_slots_and_a_job_without_a_command():
    spec = {"version": 1, "resources": [{"type": "slot", "count": 3, "label": "task",
                                         "with": [{"type": "core", "count": 2}]}],
            "tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}], "attributes": {}}
    shape = job_shape(_job(spec))
    assert (shape.nodes, shape.tasks, shape.cores_per_task, shape.command) == (1, 3, 2, ["app"])
    with pytest.raises(TranslateError, match="job 7: no command"):
        job_shape(_job(jobspec([])))
    with pytest.raises(TranslateError):
        job_shape(_job("{not json"))


@pytest.mark.parametrize("fields, expected", [
    ({"JobState": "PENDING"}, LocalStatus("submitted")),
    ({"JobState": "RUNNING"}, LocalStatus("running")),
    ({"JobState": "COMPLETED", "ExitCode": "0:0"}, LocalStatus("completed", 0)),
    ({"JobState": "FAILED", "ExitCode": "3:0", "Reason": "NonZeroExitCode"}, LocalStatus("completed", 3)),
    ({"JobState": "TIMEOUT", "ExitCode": "0:15", "Reason": "TimeLimit"},
     LocalStatus("failed", 0, "Slurm: TIMEOUT (TimeLimit), signal 15")),
    ({"JobState": "CANCELLED", "ExitCode": "0:15"}, LocalStatus("cancelled", 0, "cancelled in Slurm")),
])
def test_slurm_states(fields, expected):
    assert slurm_status(fields) == expected


def test_scontrol_line_parsing():
    line = "JobId=12 JobName=rainbow-3 JobState=FAILED Reason=NonZeroExitCode ExitCode=2:0 Comment=rainbow:c:3"
    fields = parse_scontrol(line)
    assert (fields["JobState"], fields["ExitCode"], fields["Comment"]) == ("FAILED", "2:0", "rainbow:c:3")


@pytest.mark.parametrize("line, expected", [
    ("f2X|SCHED|||", ("f2X", LocalStatus("submitted"))),
    ("f2X|RUN|||", ("f2X", LocalStatus("running"))),
    ("f2X|INACTIVE|COMPLETED|0|", ("f2X", LocalStatus("completed", 0))),
    ("f2X|INACTIVE|FAILED|4|", ("f2X", LocalStatus("completed", 4))),
    ("f2X|INACTIVE|CANCELED|143|cancel", ("f2X", LocalStatus("cancelled", 143, "cancelled in Flux"))),
    ("f2X|INACTIVE|TIMEOUT|142|timeout", ("f2X", LocalStatus("failed", 142, "Flux: TIMEOUT (timeout)"))),
    ("garbage", None),
])
def test_flux_states(line, expected):
    assert flux_status(line) == expected


def test_journal_replays_and_forgets_finished_jobs(tmp_path):
    path = tmp_path / "j" / "journal.jsonl"
    journal = Journal(path)
    journal.record(1, "100")
    journal.record(1, "100", accepted=True, reported="submitted")
    journal.record(2, "200")
    journal.record(2, "200", done=True)
    with open(path, "a") as out:
        out.write('{"id": 3, "local_')  # a line cut short by a crash
    again = Journal(path)
    assert [(e.id, e.local_id, e.accepted, e.reported) for e in again.active()] == [(1, "100", True, "submitted")]
    assert len(path.read_text().splitlines()) == 1


def test_backoff_grows_with_jitter_up_to_its_cap():
    backoff = Backoff(1.0, 8.0, random.Random(1))
    waits = [backoff.next() for _ in range(8)]
    assert all(0.5 <= w <= 8.0 for w in waits) and len(set(waits)) == len(waits)
    backoff.reset()
    assert backoff.next() <= 2.0


def test_registry_knows_the_builtin_managers_and_takes_plugins():
    assert {"slurm", "flux", "shell"} <= set(names())

    @manager("test-null")
    class Null(Manager):
        def command(self, shape): return ["true"]
        def submit(self, shape): raise Refused("never")
        def find(self, rainbow_id): return None
        def status(self, local_ids): return {}
        def cancel(self, local_id): pass
        def state(self): return {}

    assert isinstance(create("test-null"), Null) and Null.name == "test-null"
    with pytest.raises(KeyError, match="no manager 'nope'"):
        create("nope")


class Counting(Manager):
    """Submits nothing anywhere: counts submissions and remembers them, as a manager would."""

    name = "counting"

    def __init__(self):
        super().__init__()
        self.submitted: dict[int, str] = {}

    def command(self, shape): return ["run", shape.name]

    def submit(self, shape):
        self.submitted[shape.rainbow_id] = f"L{shape.rainbow_id}"
        return self.submitted[shape.rainbow_id]

    def find(self, rainbow_id): return self.submitted.get(rainbow_id)
    def status(self, local_ids): return {i: LocalStatus("running") for i in local_ids}
    def cancel(self, local_id): pass
    def state(self): return {"nodes_free": 1}


def test_a_journalled_job_redelivered_after_a_crash_is_accepted_without_a_second_submission(tmp_path):
    from rainbow.graph.generate import NodeKind, make_graph

    transport = InProcessTransport.over_sqlite(tmp_path, registration_secret="s")
    client = RainbowClient(transport=transport)
    reg = client.register("c", "s", json.dumps(make_graph("c", [NodeKind(count=1, cores_per_socket=4)])))
    job = client.submit(jobspec(["true"]), [("c", reg.token)])
    journal = Journal(tmp_path / "journal.jsonl")
    counting = Counting()
    options = AgentOptions(cluster="c", secret=reg.secret)
    # The first agent submitted and wrote its journal, then died before accepting.
    journal.record(job.jobid, counting.submit(job_shape(client.receive("c", reg.secret)[0])))
    agent = Agent(client, counting, Journal(tmp_path / "journal.jsonl"), options)
    agent.round()
    assert list(counting.submitted) == [job.jobid]  # still one submission
    seen = client.get_job(job.jobid, tokens=[reg.token])
    assert (seen.state, seen.status, seen.local_id) == ("accepted", "running", f"L{job.jobid}")


def test_refusals_move_the_job_until_max_requeues_then_it_fails(tmp_path):
    from rainbow.client import InvalidArgument, PermissionDenied
    from rainbow.graph.generate import NodeKind, make_graph
    from rainbow.server.limits import default_limits

    transport = InProcessTransport.over_sqlite(tmp_path, registration_secret="s",
                                               limits=default_limits().with_overrides(max_requeues=2))
    client = RainbowClient(transport=transport)
    creds = {}
    for name in ("a", "b", "c"):
        reg = client.register(name, "s", json.dumps(make_graph(name, [NodeKind(count=1, cores_per_socket=4)])))
        creds[name] = (reg.token, reg.secret)
    job = client.submit(jobspec(["true"]), [(n, t) for n, (t, _) in creds.items()])
    with pytest.raises(InvalidArgument, match="status"):
        client.report_job(job.cluster, creds[job.cluster][1], job.jobid, "exploded")
    with pytest.raises(PermissionDenied):
        client.report_job(job.cluster, "wrong", job.jobid, "failed", requeue=True)
    tried = []
    cluster = job.cluster
    for _ in range(2):
        moved = client.report_job(cluster, creds[cluster][1], job.jobid, "failed", reason="no", requeue=True)
        tried.append(cluster)
        assert moved.requeued_to and moved.requeued_to not in tried
        assert moved.job.tried == tried and moved.job.state == "pending"
        cluster = moved.requeued_to
    last = client.report_job(cluster, creds[cluster][1], job.jobid, "failed", reason="still no", requeue=True)
    assert last.requeued_to == "" and (last.job.state, last.job.status, last.job.reason) == ("closed", "failed",
                                                                                             "still no")
    assert client.receive(cluster, creds[cluster][1]) == []
