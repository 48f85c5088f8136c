"""Flux through its commands (flux submit, flux jobs, flux cancel, flux resource list), as a login node has them.

The output formats read here are those of flux-core 0.56 (flux-jobs(1) and flux-resource(1) with `-o` formats,
flux-submit(1) printing the job id); job ids are asked for in ASCII F58 (FLUX_F58_FORCE_ASCII), e.g. `f2QxTb9Zm`.
Every job is named `rainbow-<id>`, so `flux jobs --name` finds a job the agent submitted before it died.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from rainbow.agent.managers import manager
from rainbow.agent.managers.base import LocalStatus, Manager, ManagerError, Refused, one_line
from rainbow.agent.translate import Shape

# Words of a flux command that could not reach the instance, as opposed to the instance refusing the job.
_UNREACHABLE = ("unable to connect", "connection refused", "no such file or directory", "flux_open")
_WAITING = {"NEW", "DEPEND", "PRIORITY", "SCHED"}
_RUNNING = {"RUN", "CLEANUP"}
STATUS_FORMAT = "{id.f58}|{state}|{result}|{returncode}|{exception.type}"


def status_of(line: str) -> tuple[str, LocalStatus] | None:
    """(job id, status) from one `flux jobs -o STATUS_FORMAT` line: a job that ran to its end completed with its
    exit code; a time-out or an exception failed, with Flux's words."""
    parts = line.strip().split("|")
    if len(parts) < 5 or not parts[0]:
        return None
    job, state, result, code_text, exception = parts[:5]
    code = int(code_text) if code_text.lstrip("-").isdigit() else None
    if state in _WAITING:
        return job, LocalStatus("submitted")
    if state in _RUNNING:
        return job, LocalStatus("running")
    if result == "COMPLETED" or (result == "FAILED" and not exception and code is not None):
        return job, LocalStatus("completed", exit_code=code if code is not None else 0)
    if result == "CANCELED":
        return job, LocalStatus("cancelled", exit_code=code, reason="cancelled in Flux")
    why = f"{result} ({exception})" if exception else (result or state)
    return job, LocalStatus("failed", exit_code=code, reason=f"Flux: {why}")


@manager("flux")
class Flux(Manager):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.env["FLUX_F58_FORCE_ASCII"] = "1"

    def command(self, shape: Shape) -> list[str]:
        args = ["flux", "submit", f"--job-name={shape.name}", f"--nodes={shape.nodes}", f"--ntasks={shape.tasks}",
                f"--cores-per-task={shape.cores_per_task}", f"--output={self.output_path(shape)}"]
        if shape.gpus_per_node:
            args.append(f"--gpus-per-task={math.ceil(shape.gpus_per_node * shape.nodes / shape.tasks)}")
        if shape.minutes:
            args.append(f"--time-limit={shape.minutes}m")
        return [*args, "--", *shape.command]

    def submit(self, shape: Shape) -> str:
        self.output_path(shape).parent.mkdir(parents=True, exist_ok=True)
        done = self.run(self.command(shape))
        if done.returncode != 0:
            message = one_line(done.stderr or done.stdout or f"flux submit exited {done.returncode}")
            if any(words in message.lower() for words in _UNREACHABLE):
                raise ManagerError(message)
            raise Refused(message)
        local = done.stdout.strip().split()[-1] if done.stdout.strip() else ""
        if not local:
            raise ManagerError("flux submit printed no job id")
        return local

    def find(self, rainbow_id: int) -> str | None:
        out = self.checked(["flux", "jobs", "-a", "-n", f"--name=rainbow-{rainbow_id}", "-o", "{id.f58}"])
        ids = out.split()
        return ids[0] if ids else None

    def status(self, local_ids: Sequence[str]) -> dict[str, LocalStatus]:
        if not local_ids:
            return {}
        out = self.checked(["flux", "jobs", "-a", "-n", "-o", STATUS_FORMAT, *local_ids])
        found = {}
        for line in out.splitlines():
            parsed = status_of(line)
            if parsed is not None:
                found[parsed[0]] = parsed[1]
        return found

    def cancel(self, local_id: str) -> None:
        done = self.run(["flux", "cancel", local_id])
        if done.returncode != 0 and "inactive" not in (done.stderr or "").lower():
            raise ManagerError(f"flux cancel {local_id} failed: {one_line(done.stderr)}")

    def state(self) -> dict[str, Any]:
        figures = {"free": [0, 0, 0], "allocated": [0, 0, 0], "down": [0, 0, 0]}
        out = self.checked(["flux", "resource", "list", "-n", "-o", "{state} {nnodes} {ncores} {ngpus}"])
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[0] in figures and all(p.isdigit() for p in parts[1:]):
                figures[parts[0]] = [int(p) for p in parts[1:]]
        states = self.checked(["flux", "jobs", "-n", "-o", "{state}"]).split()
        total = [sum(v[i] for v in figures.values()) for i in range(3)]
        return {"manager": "flux", "nodes_total": total[0], "nodes_free": figures["free"][0],
                "cores_total": total[1], "cores_free": figures["free"][1], "gpus_total": total[2],
                "gpus_free": figures["free"][2], "jobs_pending": sum(1 for s in states if s in _WAITING),
                "jobs_running": sum(1 for s in states if s in _RUNNING)}
