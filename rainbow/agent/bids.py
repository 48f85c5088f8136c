"""The agent's answers to bid requests (level-2 selection): whether and when this cluster would run a job, from its
manager's own estimate, or from a command the site provides."""
from __future__ import annotations

import json
import logging
import shlex
import subprocess
from dataclasses import dataclass
from typing import Any, Mapping

from compspec.schemas import FormatError, validate
from rainbow.agent.managers.base import COMMAND_TIMEOUT, Manager, ManagerError, one_line
from rainbow.agent.translate import Shape

log = logging.getLogger("rainbow.agent")


@dataclass(frozen=True)
class Estimate:
    """A manager's answer: `eta_seconds` None means it would run the job but cannot say when."""

    will_run: bool
    eta_seconds: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class BidAnswer:
    will_run: bool
    eta_seconds: float | None = None
    cost: float | None = None
    valid_for: float | None = None
    reason: str = ""


class Bidder:
    """Answers one bid request: the site's `command` when it has one, else the manager's estimate, priced from the
    site's `cost_per_node_hour` (or `cost_per_core_hour`) for the job's size and time (an hour when it gives none).
    An answer holds for `valid_for` seconds: long enough for the window, short enough not to promise stale
    figures."""

    def __init__(self, manager: Manager, site: Mapping[str, Any] | None = None, command: str = "",
                 valid_for: float = 120.0) -> None:
        self.manager = manager
        self.site = dict(site or {})
        self.command = command
        self.valid_for = valid_for

    def answer(self, shape: Shape, jobspec: str) -> BidAnswer:
        if self.command:
            return self._from_command(shape, jobspec)
        estimate = self.manager.estimate(shape)
        if not estimate.will_run:
            return BidAnswer(False, reason=estimate.reason)
        return BidAnswer(True, estimate.eta_seconds, self._cost(shape), self.valid_for, estimate.reason)

    def _cost(self, shape: Shape) -> float | None:
        hours = (shape.minutes or 60) / 60
        for key, size in (("cost_per_node_hour", shape.nodes), ("cost_per_core_hour",
                                                                  shape.tasks * shape.cores_per_task)):
            rate = self.site.get(key)
            if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate >= 0:
                return float(rate) * size * hours
        return None

    def _from_command(self, shape: Shape, jobspec: str) -> BidAnswer:
        """The site's command gets the jobspec on stdin and RAINBOW_JOB_ID, RAINBOW_NODES, RAINBOW_TASKS,
        RAINBOW_CORES_PER_TASK, RAINBOW_MINUTES in its environment; it prints one JSON object (bid-answer.json)."""
        env = {**self.manager.env, "RAINBOW_JOB_ID": str(shape.rainbow_id), "RAINBOW_NODES": str(shape.nodes),
               "RAINBOW_TASKS": str(shape.tasks), "RAINBOW_CORES_PER_TASK": str(shape.cores_per_task),
               "RAINBOW_MINUTES": str(shape.minutes)}
        try:
            done = subprocess.run(shlex.split(self.command), input=jobspec, capture_output=True, text=True, env=env,
                                  timeout=COMMAND_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ManagerError(f"bid command: {exc}") from None
        if done.returncode != 0:
            raise ManagerError(f"bid command exited {done.returncode}: {one_line(done.stderr or done.stdout)}")
        try:
            doc = json.loads(done.stdout)
            validate("bid-answer", doc, "bid command answer", package="rainbow")
        except (ValueError, FormatError) as exc:
            raise ManagerError(f"bid command: {one_line(str(exc), 200)}") from None
        return BidAnswer(doc["will_run"], doc.get("eta_seconds"), doc.get("cost"), doc.get("valid_for"),
                         doc.get("reason", ""))
