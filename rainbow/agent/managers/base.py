"""What the agent asks of a local resource manager, and the shared way of running its commands."""
from __future__ import annotations

import abc
import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from rainbow.agent.translate import Shape

log = logging.getLogger("rainbow.agent")

# A manager command that hangs (a controller not answering) must not stall the agent for ever.
COMMAND_TIMEOUT = 60.0


class ManagerError(RuntimeError):
    """The manager could not be asked (not installed, not answering): try again later, nothing was decided."""


class Refused(RuntimeError):
    """The manager answered and refused the job; the message is its own words."""


@dataclass(frozen=True)
class LocalStatus:
    """A job as the manager sees it: rainbow's status words (submitted, running, completed, failed, cancelled),
    with the exit code and the manager's reason when it ended."""

    status: str
    exit_code: int | None = None
    reason: str = ""


def one_line(text: str, width: int = 500) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


class Manager(abc.ABC):
    """One local resource manager. `workdir` is where jobs' output files go (the agent's state folder); `cluster`
    is the rainbow cluster the agent serves, marked on each job where the manager has room for it, so that two
    clusters sharing one manager never take each other's jobs for their own."""

    name = ""

    def __init__(self, workdir: str | Path = ".", env: Mapping[str, str] | None = None, cluster: str = "") -> None:
        self.workdir = Path(workdir).resolve()  # output paths handed to the manager must not depend on its cwd
        self.env = dict(os.environ if env is None else env)
        self.cluster = cluster

    def mark(self, rainbow_id: int) -> str:
        """What identifies a job as this cluster's rainbow job `rainbow_id` (Slurm keeps it as the comment)."""
        return f"rainbow:{self.cluster}:{rainbow_id}"

    # -- running the manager's commands -----------------------------------------------------------------------
    def run(self, args: Sequence[str], *, stdin: str | None = None) -> subprocess.CompletedProcess:
        """Run one manager command; ManagerError when it cannot be started or does not finish."""
        try:
            return subprocess.run(list(args), input=stdin, capture_output=True, text=True, env=self.env,
                                  timeout=COMMAND_TIMEOUT)
        except FileNotFoundError:
            raise ManagerError(f"{args[0]}: command not found (is {self.name} installed and on PATH?)") from None
        except subprocess.TimeoutExpired:
            raise ManagerError(f"{args[0]}: no answer within {COMMAND_TIMEOUT:g}s") from None
        except OSError as exc:
            raise ManagerError(f"{args[0]}: {exc.strerror}") from None

    def checked(self, args: Sequence[str]) -> str:
        """Run a command that must succeed; its stdout, or ManagerError with its stderr."""
        done = self.run(args)
        if done.returncode != 0:
            raise ManagerError(f"{args[0]} failed ({done.returncode}): {one_line(done.stderr or done.stdout)}")
        return done.stdout

    def output_path(self, shape: Shape) -> Path:
        return self.workdir / "output" / f"{shape.name}.out"

    # -- what the agent asks ----------------------------------------------------------------------------------
    @abc.abstractmethod
    def command(self, shape: Shape) -> list[str]:
        """The submission command for a job (shown by --dry-run, run by submit)."""

    @abc.abstractmethod
    def submit(self, shape: Shape) -> str:
        """Submit the job; its local id. Refused when the manager says no, ManagerError when it cannot be asked."""

    @abc.abstractmethod
    def find(self, rainbow_id: int) -> str | None:
        """The local id of a job already submitted for this rainbow id (an agent that died before accepting it),
        or None."""

    @abc.abstractmethod
    def status(self, local_ids: Sequence[str]) -> dict[str, LocalStatus]:
        """What each of these jobs is doing now; a job the manager no longer knows is left out."""

    @abc.abstractmethod
    def cancel(self, local_id: str) -> None:
        """Cancel a job (one already ended is no error)."""

    def estimate(self, shape: Shape) -> "Estimate":
        """Whether and when this manager would start the job (for a bid). By default from its state: now when the
        free cores (or nodes) hold the job, else after the reported wait, and no when the whole cluster is too
        small."""
        from rainbow.agent.bids import Estimate

        state = self.state()
        cores = shape.tasks * shape.cores_per_task
        total, free = state.get("cores_total"), state.get("cores_free")
        if isinstance(total, int) and total and cores > total:
            return Estimate(False, reason=f"needs {cores} cores, the cluster has {total}")
        fits_now = free >= cores if isinstance(free, int) else state.get("nodes_free", 0) >= shape.nodes
        if fits_now:
            return Estimate(True, 0.0, "fits what is free now")
        wait = state.get("wait_seconds")
        return Estimate(True, float(wait) if isinstance(wait, (int, float)) else None, "after the jobs ahead of it")

    @abc.abstractmethod
    def state(self) -> dict[str, Any]:
        """The cluster's state for UpdateState: flat keys (nodes_free, cores_free, jobs_pending, jobs_running,
        wait_seconds...)."""
