"""Run jobs as local processes: the manager of the demo and the tests, and of a single machine without a resource
manager.

Each job gets a folder `shell/rainbow-<id>` under the agent's state folder, made before the process starts (so a
restarted agent finds the job there), holding its pid and, once it ends, its exit code. The process runs in a
session of its own, so it outlives an agent restart and a cancel reaches all of its children.
"""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any, Sequence

from rainbow.agent.managers import manager
from rainbow.agent.managers.base import LocalStatus, Manager, ManagerError, Refused
from rainbow.agent.translate import Shape

# The wrapper records the exit code in a file that appears whole (written, then renamed).
_WRAPPER = '"$@" > "$RAINBOW_OUTPUT" 2>&1; echo $? > "$RAINBOW_JOBDIR/rc.tmp"; mv "$RAINBOW_JOBDIR/rc.tmp" ' \
           '"$RAINBOW_JOBDIR/rc"'


@manager("shell")
class Shell(Manager):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._children: dict[str, subprocess.Popen] = {}

    def _folder(self, name: str) -> Path:
        return self.workdir / "shell" / name

    def _folder_of(self, local_id: str) -> Path | None:
        for pid_file in (self.workdir / "shell").glob("rainbow-*/pid"):
            if pid_file.read_text().strip() == local_id:
                return pid_file.parent
        return None

    def command(self, shape: Shape) -> list[str]:
        return ["sh", "-c", _WRAPPER, "sh", *shape.command]

    def submit(self, shape: Shape) -> str:
        cores = os.cpu_count() or 1
        if shape.nodes > 1 or shape.tasks * shape.cores_per_task > cores:
            raise Refused(f"this machine has 1 node and {cores} cores; the job asks for {shape.nodes} node(s) and "
                          f"{shape.tasks * shape.cores_per_task} cores")
        folder = self._folder(shape.name)
        output = self.output_path(shape)
        output.parent.mkdir(parents=True, exist_ok=True)
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir()  # FileExistsError: already submitted; the agent asks find() first
        env = {**self.env, "RAINBOW_OUTPUT": str(output), "RAINBOW_JOBDIR": str(folder),
               "RAINBOW_JOB_ID": str(shape.rainbow_id)}
        try:
            child = subprocess.Popen(self.command(shape), env=env, cwd=self.workdir, start_new_session=True,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError as exc:
            (folder / "rc").write_text("127\n")
            raise ManagerError(f"cannot start sh: {exc.strerror}") from None
        local = str(child.pid)
        (folder / "pid").write_text(local + "\n")
        self._children[local] = child
        return local

    def find(self, rainbow_id: int) -> str | None:
        pid_file = self._folder(f"rainbow-{rainbow_id}") / "pid"
        return pid_file.read_text().strip() if pid_file.exists() else None

    def _alive(self, local_id: str) -> bool:
        child = self._children.get(local_id)
        if child is not None:
            return child.poll() is None
        try:
            os.kill(int(local_id), 0)
        except (ProcessLookupError, ValueError):
            return False
        except PermissionError:
            return True
        return True

    def status(self, local_ids: Sequence[str]) -> dict[str, LocalStatus]:
        found = {}
        for local in local_ids:
            folder = self._folder_of(local)
            if folder is None:
                continue
            rc = folder / "rc"
            if (folder / "cancelled").exists():
                found[local] = LocalStatus("cancelled", reason="cancelled")
            elif rc.exists():
                text = rc.read_text().strip()
                found[local] = LocalStatus("completed", exit_code=int(text) if text.lstrip("-").isdigit() else None)
            elif self._alive(local):
                found[local] = LocalStatus("running")
            elif rc.exists():  # it ended between the two looks
                found[local] = LocalStatus("completed", exit_code=int(rc.read_text().strip() or 0))
            else:
                found[local] = LocalStatus("failed", reason="the process ended without recording its exit code")
        return found

    def cancel(self, local_id: str) -> None:
        folder = self._folder_of(local_id)
        if folder is not None and not (folder / "rc").exists():
            (folder / "cancelled").write_text("")
        try:
            os.killpg(int(local_id), signal.SIGTERM)
        except (ProcessLookupError, ValueError):
            pass
        child = self._children.pop(local_id, None)
        if child is not None:
            child.wait()

    def state(self) -> dict[str, Any]:
        running = sum(1 for local in list(self._children) if self._alive(local))
        cores = os.cpu_count() or 1
        return {"manager": "shell", "nodes_total": 1, "nodes_free": 0 if running else 1, "cores_total": cores,
                "jobs_pending": 0, "jobs_running": running}
