"""Slurm through its commands (sbatch, squeue, scontrol, scancel, sinfo), as a login node has them.

Every job is named `rainbow-<id>` and carries the comment `rainbow:<cluster>:<id>`, so `squeue --name` finds a job
the agent submitted before it died, and only its own cluster's. Finished jobs are read with `scontrol show job`
while Slurm keeps them (MinJobAge, five minutes by default), which is far longer than the agent's poll interval.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Sequence

from rainbow.agent.managers import manager
from rainbow.agent.managers.base import LocalStatus, Manager, ManagerError, Refused, one_line
from rainbow.agent.translate import Shape

# `sbatch --test-only`: "sbatch: Job 12 to start at 2026-12-02T11:30:14 using 1 processors on nodes vm in ..."
_TEST_START = re.compile(r"to start at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)")
# sbatch's words when it could not ask the controller, as opposed to the controller refusing the job.
_UNREACHABLE = ("unable to contact slurm controller", "socket timed out", "temporarily unable",
                "connection refused", "zero bytes were transmitted", "slurm_persist_conn")

_WAITING = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESV_DEL_HOLD", "SPECIAL_EXIT"}
_RUNNING = {"RUNNING", "COMPLETING", "SUSPENDED", "STAGE_OUT", "SIGNALING", "STOPPED", "RESIZING"}


def parse_scontrol(text: str) -> dict[str, str]:
    """`scontrol -o show job` output as key/value pairs (values never hold spaces in the keys read here)."""
    fields: dict[str, str] = {}
    for part in text.split():
        key, sep, value = part.partition("=")
        if sep and key not in fields:
            fields[key] = value
    return fields


def status_of(fields: dict[str, str]) -> LocalStatus:
    """rainbow's status of a job from its scontrol fields: a script that ran to its end completed, with its exit
    code; time-outs, node failures, out-of-memory and the like failed, with Slurm's reason."""
    state = fields.get("JobState", "")
    code_text, _, signal_text = fields.get("ExitCode", "0:0").partition(":")
    code = int(code_text) if code_text.isdigit() else None
    signal = int(signal_text) if signal_text.isdigit() else 0
    reason = fields.get("Reason", "None")
    if state in _WAITING:
        return LocalStatus("submitted")
    if state in _RUNNING:
        return LocalStatus("running")
    if state == "COMPLETED" or (state == "FAILED" and reason in ("NonZeroExitCode", "None") and not signal):
        return LocalStatus("completed", exit_code=code)
    if state == "CANCELLED":
        return LocalStatus("cancelled", exit_code=code, reason="cancelled in Slurm")
    why = state if reason in ("None", "") else f"{state} ({reason})"
    return LocalStatus("failed", exit_code=code, reason=f"Slurm: {why}" + (f", signal {signal}" if signal else ""))


@manager("slurm")
class Slurm(Manager):
    def command(self, shape: Shape) -> list[str]:
        args = ["sbatch", "--parsable", f"--job-name={shape.name}", f"--comment={self.mark(shape.rainbow_id)}",
                f"--nodes={shape.nodes}", f"--ntasks={shape.tasks}", f"--cpus-per-task={shape.cores_per_task}",
                f"--output={self.output_path(shape)}"]
        if shape.gpus_per_node:
            args.append(f"--gpus-per-node={shape.gpus_per_node}")
        if shape.memory_mb_per_node:
            args.append(f"--mem={shape.memory_mb_per_node}M")
        if shape.minutes:
            args.append(f"--time={shape.minutes}")
        args.append(f"--wrap=srun {shape.command_line}")
        return args

    def submit(self, shape: Shape) -> str:
        self.output_path(shape).parent.mkdir(parents=True, exist_ok=True)
        done = self.run(self.command(shape))
        if done.returncode != 0:
            message = one_line(done.stderr or done.stdout or f"sbatch exited {done.returncode}")
            if any(words in message.lower() for words in _UNREACHABLE):
                raise ManagerError(message)
            raise Refused(message)
        local = done.stdout.strip().split(";")[0]
        if not local.isdigit():
            raise ManagerError(f"sbatch printed no job id: {one_line(done.stdout)}")
        return local

    def find(self, rainbow_id: int) -> str | None:
        out = self.checked(["squeue", "-h", "--states=all", f"--name=rainbow-{rainbow_id}", "-o", "%i|%k"])
        for line in out.splitlines():
            local, _, comment = line.strip().partition("|")
            if local and comment.strip() == self.mark(rainbow_id):
                return local
        return None

    def status(self, local_ids: Sequence[str]) -> dict[str, LocalStatus]:
        found: dict[str, LocalStatus] = {}
        for local in local_ids:
            done = self.run(["scontrol", "-o", "show", "job", local])
            if done.returncode != 0:
                if "invalid job id" in (done.stderr or "").lower():
                    continue  # Slurm has forgotten it
                raise ManagerError(f"scontrol failed ({done.returncode}): {one_line(done.stderr)}")
            found[local] = status_of(parse_scontrol(done.stdout))
        return found

    def estimate(self, shape: Shape) -> "Estimate":
        """Slurm's own answer: `sbatch --test-only` with the job's real options says when it would start, or why it
        cannot run (it checks without queueing anything)."""
        from rainbow.agent.bids import Estimate

        args = [a for a in self.command(shape) if a != "--parsable"]
        args.insert(1, "--test-only")
        done = self.run(args)
        text = f"{done.stderr}\n{done.stdout}"
        found = _TEST_START.search(text)
        if done.returncode == 0 and found:
            try:
                start = dt.datetime.fromisoformat(found.group(1))
            except ValueError:
                return Estimate(True, None, one_line(text, 200))
            return Estimate(True, max(0.0, (start - dt.datetime.now()).total_seconds()), "sbatch --test-only")
        if any(word in text.lower() for word in _UNREACHABLE):
            raise ManagerError(f"sbatch --test-only could not ask the controller: {one_line(text)}")
        return Estimate(False, reason=one_line(text.replace("sbatch: error: ", ""), 300))

    def cancel(self, local_id: str) -> None:
        done = self.run(["scancel", local_id])
        if done.returncode != 0 and "invalid job id" not in (done.stderr or "").lower() \
                and "already completing" not in (done.stderr or "").lower():
            raise ManagerError(f"scancel {local_id} failed: {one_line(done.stderr)}")

    def state(self) -> dict[str, Any]:
        nodes_total = nodes_free = 0
        for line in self.checked(["sinfo", "-h", "-o", "%D|%T"]).splitlines():
            count, _, node_state = line.partition("|")
            if count.strip().isdigit():
                nodes_total += int(count)
                if node_state.strip() == "idle":
                    nodes_free += int(count)
        cores = self.checked(["sinfo", "-h", "-o", "%C"]).split()
        allocated, idle, other, total = (int(x) for x in cores[0].split("/")) if cores else (0, 0, 0, 0)
        states = self.checked(["squeue", "-h", "-o", "%T"]).split()
        pending = states.count("PENDING")
        running = sum(1 for s in states if s in _RUNNING)
        state = {"manager": "slurm", "nodes_total": nodes_total, "nodes_free": nodes_free, "cores_total": total,
                 "cores_free": idle, "jobs_pending": pending, "jobs_running": running}
        wait = self._wait(pending)
        if wait is not None:
            state["wait_seconds"] = wait
        return state

    def _wait(self, pending: int) -> int | None:
        """Seconds until the earliest pending job is expected to start (Slurm's own estimate); 0 when nothing
        waits, None when Slurm has no estimate yet."""
        if not pending:
            return 0
        now = dt.datetime.now()
        starts = []
        for text in self.checked(["squeue", "-h", "-t", "PENDING", "--start", "-o", "%S"]).split():
            try:
                starts.append(dt.datetime.fromisoformat(text))
            except ValueError:
                continue  # N/A: Slurm has no estimate for it yet
        if not starts:
            return None
        return max(0, int((min(starts) - now).total_seconds()))
