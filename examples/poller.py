"""The cluster side of rainbow: poll the server for this cluster's jobs, accept them, hand them to the local scheduler.

flux_poller.py and slurm_poller.py differ only in how one job becomes a local command; everything else (reading the
cluster's credentials, the receive/accept loop, dry runs, turning a jobspec into nodes/tasks/cores) is here, so a
poller for another scheduler is one function.

A job is accepted before it is handed to the local scheduler: once accepted it is this cluster's to run, and a
local submission that fails is reported on stderr with the job id, so the operator can resubmit it by hand.
"""
from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Mapping

import click

from rainbow.client import Job, RainbowClient, RainbowError
from rainbow.cli.settings import config_path_option, setting
from rainbow.config import ADDRESS_KEYS, DEFAULT_ADDRESS
from rainbow.jobspec import JobspecError, load_document
from rainbow.shutdown import StopSignals, end_process

STOP_GRACE = 10.0


@dataclass(frozen=True)
class Shape:
    """What the local scheduler needs to know about one job."""

    name: str
    nodes: int
    tasks: int
    cores_per_task: int
    command: list[str]
    # the container image the job runs in (attributes.system.container: the image pinned by digest when known)
    image: str = ""


# How each runtime runs a command in an image, pulling it from its registry (`rainbow submit --image`).
CONTAINER_RUNTIMES = {
    "apptainer": ["apptainer", "exec", "docker://{image}"],
    "singularity": ["singularity", "exec", "docker://{image}"],
    "podman": ["podman", "run", "--rm", "--network=host", "{image}"],
}


def in_container(shape: Shape, runtime: str) -> Shape:
    """The shape whose command runs inside the job's image with `runtime`; a job without an image is unchanged."""
    if not shape.image:
        return shape
    if runtime not in CONTAINER_RUNTIMES:
        raise ValueError(f"runs in image {shape.image}, and no container runtime is set (--container-runtime)")
    prefix = [part.replace("{image}", shape.image) for part in CONTAINER_RUNTIMES[runtime]]
    return replace(shape, command=prefix + shape.command)


def _count(resource: Mapping[str, Any]) -> int:
    """Instances of one resource entry: its count times its replicas (a slot with replicas R is R instances)."""
    count = resource.get("count", 1)
    if isinstance(count, Mapping):  # Flux allows {min: N, ...}; the minimum is what the job needs
        count = count.get("min", 1)
    return max(1, int(count)) * max(1, int(resource.get("replicas", 1) or 1))


def _cores_below(children: Iterable[Mapping[str, Any]]) -> int:
    """Cores one parent asks for, counting through sockets and slots."""
    total = 0
    for child in children or ():
        if child.get("type") == "core":
            total += _count(child)
        else:
            total += _count(child) * _cores_below(child.get("with", ()))
    return total


def _nodes_and_cores(resources: Iterable[Mapping[str, Any]], factor: int = 1) -> tuple[int, int]:
    """(nodes asked for, cores per node) of a resource list; cores without nodes count as one node."""
    nodes, cores = 0, 0
    for resource in resources:
        kind = resource.get("type")
        if kind == "node":
            nodes += factor * _count(resource)
            cores = max(cores, _cores_below(resource.get("with", ())))
        elif kind == "core":
            nodes, cores = max(nodes, 1), max(cores, factor * _count(resource))
        else:
            inner_nodes, inner_cores = _nodes_and_cores(resource.get("with", ()), factor * _count(resource))
            nodes, cores = nodes + inner_nodes, max(cores, inner_cores)
    return nodes, cores


def _task_count(task: Mapping[str, Any], nodes: int) -> int:
    """Tasks the job runs: count.total, count.per_slot (one slot per node), replicas, or one per node."""
    count = task.get("count")
    if isinstance(count, Mapping):
        if "total" in count:
            return max(1, int(count["total"]))
        if "per_slot" in count:
            return max(1, int(count["per_slot"]) * max(nodes, 1))
    if isinstance(count, int):
        return max(1, count)
    if task.get("replicas"):
        return max(1, int(task["replicas"]))
    return max(nodes, 1)


def job_shape(job: Job) -> Shape:
    """Nodes, tasks, cores per task and command of a received job (nextgen or Flux v1 jobspec, YAML or JSON)."""
    try:
        spec = load_document(job.jobspec, f"job {job.id}: jobspec")
    except JobspecError as exc:
        raise ValueError(str(exc)) from None
    tasks = spec.get("tasks") or spec.get("task") or [{}]
    task = tasks[0] if isinstance(tasks, list) and tasks else (tasks if isinstance(tasks, Mapping) else {})
    resources = spec.get("resources") or {}
    if isinstance(resources, Mapping):  # nextgen: a mapping of named resources; the task names the one it uses
        chosen = task.get("resources")
        resources = [resources[chosen]] if chosen in resources else list(resources.values())
    nodes, cores_per_node = _nodes_and_cores(resources)
    nodes = max(nodes, 1)
    ntasks = _task_count(task, nodes)
    cores_per_task = max(1, (max(cores_per_node, 1) * nodes) // ntasks)
    command = shlex.split(job.command) if job.command else [str(part) for part in task.get("command") or []]
    if not command:
        raise ValueError(f"job {job.id}: no command in the job or its jobspec")
    name = job.name or str(spec.get("name") or f"rainbow-{job.id}")
    container = ((spec.get("attributes") or {}).get("system") or {}).get("container") or {}
    image = str(container.get("pull") or container.get("image") or "") if isinstance(container, Mapping) else ""
    return Shape(name=name, nodes=nodes, tasks=ntasks, cores_per_task=cores_per_task, command=command, image=image)


@dataclass
class Settings:
    address: str
    cluster: str
    secret: str
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    container_runtime: str = "apptainer"


def poll_once(client: RainbowClient, settings: Settings, to_command: Callable[[Shape], list[str]], *,
              dry_run: bool, max_jobs: int, seen: set[int], echo: Callable[[str], None] = click.echo) -> int:
    """One round: receive, (accept,) submit locally; returns how many jobs were handled this round."""
    jobs = [job for job in client.receive(settings.cluster, settings.secret, max_jobs) if job.id not in seen]
    if not jobs:
        return 0
    planned: list[tuple[Job, list[str]]] = []
    for job in jobs:
        try:
            planned.append((job, to_command(in_container(job_shape(job), settings.container_runtime))))
        except ValueError as exc:
            echo(f"skip job {job.id}: {exc}")
            seen.add(job.id)
    if dry_run:
        for job, command in planned:
            echo(f"job {job.id} ({job.name or 'unnamed'}): would run: {shlex.join(command)}")
            seen.add(job.id)
        return len(planned)
    if planned:
        status = client.accept(settings.cluster, settings.secret, [job.id for job, _ in planned])
        echo(f"accepted {len(planned)} job(s): {status}")
    for job, command in planned:
        seen.add(job.id)
        echo(f"job {job.id} ({job.name or 'unnamed'}): {shlex.join(command)}")
        try:
            done = subprocess.run(command, capture_output=True, text=True)
        except OSError as exc:
            print(f"job {job.id}: local submission failed: {exc}", file=sys.stderr)
            continue
        if done.returncode != 0:
            print(f"job {job.id}: local submission failed ({done.returncode}): {done.stderr.strip()}",
                  file=sys.stderr)
        elif done.stdout.strip():
            echo(f"job {job.id}: local id {done.stdout.strip()}")
    return len(planned)


def poller_command(scheduler: str, to_command: Callable[[Shape], list[str]]) -> click.Command:
    """The click command every poller exposes: same options, same loop, its own job-to-command function."""

    @click.command(help=f"Receive this cluster's jobs from rainbow and submit them to {scheduler}.",
                   context_settings={"help_option_names": ["-h", "--help"]})
    @setting("--host", "--address", "address", default=DEFAULT_ADDRESS, show_default=True, metavar="HOST:PORT",
             config_key=ADDRESS_KEYS, help="rainbow server address")
    @setting("--cluster", "--cluster-name", "cluster", default="", config_key="cluster.name",
             help="this cluster's name")
    @setting("--secret", "--cluster-secret", "secret", default="", config_key="cluster.secret",
             help="this cluster's secret")
    @setting("--tls-ca", default=None, config_key="tls.ca", help="CA that signed the server's certificate")
    @setting("--tls-cert", default=None, config_key="tls.cert", help="client certificate for mutual TLS")
    @setting("--tls-key", default=None, config_key="tls.key", help="key of the client certificate")
    @setting("--container-runtime", default="apptainer", show_default=True, envvar="RAINBOW_CONTAINER_RUNTIME",
             type=click.Choice([*CONTAINER_RUNTIMES, "none"]),
             help="runs the jobs submitted with --image in their image (none: such jobs are skipped)")
    @config_path_option
    @click.option("--interval", default=10.0, show_default=True, help="seconds between polls")
    @click.option("--max-jobs", default=0, show_default=True, help="jobs per poll (0: all)")
    @click.option("--once", is_flag=True, help="poll once and exit")
    @click.option("--dry-run", is_flag=True, help="print what would run; accept nothing, submit nothing")
    def main(config_path, address, cluster, secret, tls_ca, tls_cert, tls_key, container_runtime, interval, max_jobs,
             once, dry_run) -> None:
        # First, so that a signal while connecting is kept; a round in progress gets STOP_GRACE seconds to finish.
        with StopSignals(grace=STOP_GRACE, say=lambda line: print(line, file=sys.stderr),
                         stopping="stopping after this round") as signals:
            if not cluster or not secret:
                raise click.UsageError("need the cluster's name and secret (--cluster/--secret, RAINBOW_CLUSTER_NAME/"
                                       "RAINBOW_CLUSTER_SECRET, or cluster.name and cluster.secret in the config "
                                       "file)")
            settings = Settings(address=address, cluster=cluster, secret=secret, tls_ca=tls_ca or None,
                                tls_cert=tls_cert or None, tls_key=tls_key or None,
                                container_runtime=container_runtime)
            seen: set[int] = set()
            with RainbowClient(settings.address, tls_ca=settings.tls_ca, tls_cert=settings.tls_cert,
                               tls_key=settings.tls_key) as client:
                while not signals.stop.is_set():
                    try:
                        poll_once(client, settings, to_command, dry_run=dry_run, max_jobs=max_jobs, seen=seen)
                    except RainbowError as exc:
                        if once:
                            raise click.ClickException(str(exc)) from None
                        print(f"poll failed: {exc}", file=sys.stderr)
                    if once or signals.stop.wait(interval):
                        break
            # Still inside the block, as `rainbow serve` does: signals that keep arriving meet the quiet handler,
            # never the default action, until the process has ended.
            end_process(0)

    return main
