"""What a local resource manager needs to know of a received job: nodes, tasks, cores per task, GPUs and memory
per node, the time limit and the command, read from its jobspec (nextgen or Flux v1, YAML or JSON).

Every manager plugin starts from the same Shape, so a job asks a Slurm and a Flux cluster for the same resources.
"""
from __future__ import annotations

import math
import shlex
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping

from compspec.schemas import FormatError
from rainbow.client import Job
from rainbow.jobspec import load_document
from rainbow.jobspec.needs import unit_bytes


class TranslateError(ValueError):
    """The jobspec does not say what to run (no command) or says it in a way no manager can take."""


@dataclass(frozen=True)
class Shape:
    """One job as a local resource manager sees it. `name` is `rainbow-<id>`, how the agent finds the job again."""

    rainbow_id: int
    name: str
    nodes: int
    tasks: int
    cores_per_task: int
    gpus_per_node: int
    memory_mb_per_node: int
    minutes: int  # 0: the manager's default time limit
    command: list[str]
    title: str  # the job's own name in rainbow, for people
    # the container image the job runs in (attributes.system.container: the image pinned by digest when known)
    image: str = ""

    @property
    def command_line(self) -> str:
        return shlex.join(self.command)


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
        raise TranslateError(f"job {shape.rainbow_id} runs in image {shape.image}, and this cluster's agent has no "
                             "container runtime (--container-runtime)")
    prefix = [part.replace("{image}", shape.image) for part in CONTAINER_RUNTIMES[runtime]]
    return replace(shape, command=prefix + shape.command)


def local_name(rainbow_id: int) -> str:
    """The name every manager gives a rainbow job, so the agent recognises it after a restart."""
    return f"rainbow-{rainbow_id}"


def _count(resource: Mapping[str, Any]) -> int:
    """Instances of one resource entry: its count times its replicas."""
    count = resource.get("count", 1)
    if isinstance(count, Mapping):  # Flux allows {min: N, ...}; the minimum is what the job needs
        count = count.get("min", 1)
    return max(1, int(count)) * max(1, int(resource.get("replicas", 1) or 1))


@dataclass
class _PerNode:
    cores: int = 0
    gpus: int = 0
    memory_mb: int = 0

    def add(self, other: "_PerNode", times: int) -> None:
        self.cores += times * other.cores
        self.gpus += times * other.gpus
        self.memory_mb += times * other.memory_mb


def _below(children: Iterable[Mapping[str, Any]]) -> _PerNode:
    """Cores, GPUs and memory one parent asks for, counting through sockets and slots."""
    total = _PerNode()
    for child in children or ():
        kind = child.get("type")
        if kind == "core":
            total.cores += _count(child)
        elif kind == "gpu":
            total.gpus += _count(child)
        elif kind == "memory":
            size = unit_bytes(str(child.get("unit") or "GB")) or 2**30
            total.memory_mb += math.ceil(_count(child) * size / 2**20)
        else:
            total.add(_below(child.get("with", ())), _count(child))
    return total


def _nodes(resources: Iterable[Mapping[str, Any]], factor: int = 1) -> tuple[int, _PerNode]:
    """(nodes asked for, what each node needs) of a resource list; resources without nodes count as one node."""
    nodes, per_node = 0, _PerNode()
    for resource in resources:
        kind = resource.get("type")
        if kind == "node":
            nodes += factor * _count(resource)
            inner = _below(resource.get("with", ()))
            per_node = _PerNode(max(per_node.cores, inner.cores), max(per_node.gpus, inner.gpus),
                                max(per_node.memory_mb, inner.memory_mb))
        elif kind in ("core", "gpu", "memory"):
            inner = _below([{**resource, "count": factor * _count(resource), "replicas": 1}])
            nodes = max(nodes, 1)
            per_node = _PerNode(max(per_node.cores, inner.cores), max(per_node.gpus, inner.gpus),
                                max(per_node.memory_mb, inner.memory_mb))
        else:
            inner_nodes, inner = _nodes(resource.get("with", ()), factor * _count(resource))
            if inner_nodes:
                nodes += inner_nodes
            per_node = _PerNode(max(per_node.cores, inner.cores), max(per_node.gpus, inner.gpus),
                                max(per_node.memory_mb, inner.memory_mb))
    return nodes, per_node


def _slots(resources: Iterable[Mapping[str, Any]], factor: int = 1) -> int:
    """Slot instances of a resource list (Flux: the job runs count.per_slot tasks in each)."""
    total = 0
    for resource in resources:
        if resource.get("type") == "slot":
            total += factor * _count(resource)
        else:
            total += _slots(resource.get("with", ()), factor * _count(resource))
    return total


def _task_count(task: Mapping[str, Any], nodes: int, slots: int) -> int:
    """Tasks the job runs: count.total, count.per_slot times the slots, replicas, or one per node."""
    count = task.get("count")
    if isinstance(count, Mapping):
        if "total" in count:
            return max(1, int(count["total"]))
        if "per_slot" in count:
            return max(1, int(count["per_slot"]) * max(slots or nodes, 1))
    if isinstance(count, int):
        return max(1, count)
    if task.get("replicas"):
        return max(1, int(task["replicas"]))
    return max(nodes, 1)


def job_shape(job: Job) -> Shape:
    """The Shape of a received job; TranslateError (naming the job) when its jobspec cannot be run."""
    try:
        spec = load_document(job.jobspec, f"job {job.id}: jobspec")
    except FormatError as exc:
        raise TranslateError(str(exc)) from None
    try:
        tasks = spec.get("tasks") or spec.get("task") or [{}]
        task = tasks[0] if isinstance(tasks, list) and tasks else (tasks if isinstance(tasks, Mapping) else {})
        resources = spec.get("resources") or {}
        if isinstance(resources, Mapping):  # nextgen: named resources; the task names the one it uses
            chosen = task.get("resources")
            resources = [resources[chosen]] if chosen in resources else list(resources.values())
        nodes, per_node = _nodes(resources)
        nodes = max(nodes, 1)
        ntasks = _task_count(task, nodes, _slots(resources))
        cores_per_task = max(1, (max(per_node.cores, 1) * nodes) // ntasks)
        system = (spec.get("attributes") or {}).get("system") or {}
        duration = float(system.get("duration") or 0)
    except (TypeError, ValueError, AttributeError) as exc:
        raise TranslateError(f"job {job.id}: jobspec: cannot read its resources: {exc}") from None
    raw_command = task.get("command") if isinstance(task, Mapping) else None
    if job.command:
        command = shlex.split(job.command)
    elif isinstance(raw_command, str):
        command = shlex.split(raw_command)
    else:
        command = [str(part) for part in raw_command or []]
    if not command:
        raise TranslateError(f"job {job.id}: no command in the job or its jobspec")
    container = system.get("container") if isinstance(system, Mapping) else None
    image = str(container.get("pull") or container.get("image") or "") if isinstance(container, Mapping) else ""
    return Shape(rainbow_id=job.id, name=local_name(job.id), nodes=nodes, tasks=ntasks,
                 cores_per_task=cores_per_task, gpus_per_node=per_node.gpus,
                 memory_mb_per_node=per_node.memory_mb, minutes=math.ceil(duration / 60) if duration > 0 else 0,
                 command=command, title=job.name or str(spec.get("name") or ""), image=image)
