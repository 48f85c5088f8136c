"""Running `rainbow agent` as a site runs it (a child process reading a config file), and waiting on what it
reports through the real server."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import yaml

from rainbow.client import RainbowClient
from rainbow.graph.generate import NodeKind, make_graph
from serverutil import DEFAULT_SECRET

WAIT = 60.0  # generous: a shared, busy machine; nothing here measures speed


def wait_for(what: str, probe: Callable[[], object], timeout: float = WAIT, every: float = 0.1):
    """Poll `probe` until it returns something true, and return that; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} (last: {value!r})")
        time.sleep(every)


def register(client: RainbowClient, name: str, cores: int, nodes: int = 1) -> tuple[str, str]:
    """Register a cluster of `nodes` nodes with `cores` cores each; its (token, secret)."""
    graph = make_graph(name, [NodeKind(count=nodes, sockets=1, cores_per_socket=cores)])
    result = client.register(name, DEFAULT_SECRET, json.dumps(graph))
    assert result.status == "REGISTER_SUCCESS"
    return result.token, result.secret


def jobspec(command: Sequence[str], cores: int = 1, name: str = "") -> str:
    doc = {"version": 1, "resources": {"one": {"type": "node", "replicas": 1,
                                                "with": [{"type": "core", "count": cores}]}},
           "tasks": [{"command": list(command), "replicas": 1, "resources": "one"}]}
    if name:
        doc["name"] = name
    return json.dumps(doc)


class AgentProcess:
    """`rainbow agent` for one cluster, its settings in a config file (the secret is not on the command line)."""

    def __init__(self, workdir: Path, address: str, cluster: str, secret: str, manager: str, *,
                 env: dict[str, str] | None = None, extra: Sequence[str] = ()) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config = self.workdir / "agent.yaml"
        self.config.write_text(yaml.safe_dump({
            "host": address, "cluster": {"name": cluster, "secret": secret},
            "agent": {"manager": manager, "state_dir": str(self.workdir / "state"), "interval": 0.2,
                      "state_interval": 0.5, "backoff_max": 1.0}}))
        self.config.chmod(0o600)
        self.env = {**os.environ, **(env or {})}
        self.extra = list(extra)
        self.log = self.workdir / "agent.log"
        self.proc: subprocess.Popen | None = None

    @property
    def state_dir(self) -> Path:
        return self.workdir / "state"

    def start(self, env: dict[str, str] | None = None) -> "AgentProcess":
        out = open(self.log, "ab")
        self.proc = subprocess.Popen([sys.executable, "-c", "from rainbow.cli import main; main()", "agent", "--config-path",
                                      str(self.config), *self.extra], env={**self.env, **(env or {})},
                                     stdout=out, stderr=subprocess.STDOUT)
        out.close()
        return self

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_log(self, words: str, timeout: float = WAIT) -> str:
        return wait_for(f"agent log line {words!r}", lambda: words in self.text() and self.text(), timeout)

    def stop(self, timeout: float = 120.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def wait_exit(self, timeout: float = WAIT) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)


def job_of(client: RainbowClient, job_id: int, token: str):
    """The job as its submitter sees it."""
    return client.get_job(job_id, tokens=[token])


def wait_status(client: RainbowClient, job_id: int, token: str, status: str, timeout: float = WAIT):
    return wait_for(f"job {job_id} {status}",
                    lambda: (lambda j: j if j.status == status else None)(job_of(client, job_id, token)), timeout)
