"""A restarted server (graceful or killed) finds every cluster, subsystem, state and pending job again."""
from __future__ import annotations

import threading
import time

import psutil
import pytest

from rainbow.client import RainbowClient
from rainbow.graph.generate import NodeKind, make_graph
from rainbow.jobspec import simple_jobspec
from serverutil import DEFAULT_SECRET

from .e2e_util import data_text, rows


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_restart_keeps_everything(rainbow_server, how):
    with RainbowClient(rainbow_server.address, timeout=20) as client:
        red = client.register("red", DEFAULT_SECRET, data_text("cluster-nodes.json"))
        blue = client.register("blue", DEFAULT_SECRET, data_text("cluster-nodes.json"))
        client.register_subsystem("red", red.secret, "io", data_text("cluster-io-subsystem.json"))
        client.register_subsystem("blue", blue.secret, "spack", data_text("spack-subsystem.json"))
        client.update_state("red", red.secret, {"nodes_free": 3, "cost": 1})
        client.update_state("blue", blue.secret, {"nodes_free": 0, "cost": 1})
        tokens = [("red", red.token), ("blue", blue.token)]
        pending = [client.submit(data_text("jobspec-io.yaml"), tokens).jobid for _ in range(3)]
        taken = client.submit(data_text("jobspec-valid-range.yaml"), tokens)
        assert taken.cluster == "blue"
        client.accept("blue", blue.secret, [taken.jobid])

    if how == "kill":
        rainbow_server.kill()
    rainbow_server.restart()

    with RainbowClient(rainbow_server.address, timeout=20) as client:
        # Both graphs and their subsystems are matched again, with the same credentials.
        assert client.satisfy(data_text("jobspec-io.yaml")).clusters == ["red"]
        assert client.submit(data_text("jobspec-valid-range.yaml"), tokens, satisfy_only=True).clusters == ["blue"]
        assert client.submit(data_text("jobspec-invalid-range.yaml"), tokens, satisfy_only=True).clusters == []
        assert [j.id for j in client.receive("red", red.secret)] == pending
        assert client.receive("blue", blue.secret) == []
        assert [j.state for j in client.iter_jobs("blue", blue.secret)] == ["accepted"]
        # The stored state still drives constraint selection.
        options = {"priorities": "- priority: 1\n  steps:\n  - filter: nodes_free > 0\n  - select: first\n"}
        chosen = client.submit(simple_jobspec(1, 1, ["x"]), tokens, select_algorithm="constraint",
                               select_options=options)
        assert chosen.cluster == "red" and chosen.jobid > taken.jobid
        assert client.register("red", DEFAULT_SECRET, data_text("cluster-nodes.json")).status == "REGISTER_EXISTS"


def test_sigint_and_sigterm_exit_zero(rainbow_server):
    assert rainbow_server.stop() == 0
    rainbow_server.start(rainbow_server.port)
    assert rainbow_server.interrupt() == 0
    assert "stopping" in rainbow_server.stderr()


def test_stop_finishes_requests_in_flight(rainbow_server):
    graph = make_graph("big", [NodeKind(count=60, sockets=2, cores_per_socket=8, memory_gib=64)])
    outcome: dict = {}
    with RainbowClient(rainbow_server.address, timeout=60) as client:
        assert client.health() == "SERVING"  # connected before the request goes out

        def register() -> None:
            try:
                outcome["result"] = client.register("big", DEFAULT_SECRET, graph)
            except Exception as exc:  # reported by the assertion below
                outcome["error"] = exc

        worker = threading.Thread(target=register)
        busy_from = _cpu_seconds(rainbow_server.pid)
        worker.start()
        # The request has reached the server once the server works on it; the stop below must wait for it.
        assert _wait_until_busy(rainbow_server.pid, busy_from, worker), "the server never started on the request"
        assert rainbow_server.stop() == 0
        worker.join()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"].status == "REGISTER_SUCCESS"
    assert rows(rainbow_server.db_path, "SELECT name FROM clusters") == [("big",)]


def _cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def _wait_until_busy(pid: int, since: float, worker: threading.Thread, timeout: float = 30.0) -> bool:
    """Wait until the server process has spent 20 ms of CPU since `since` (an idle server spends next to none)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and worker.is_alive():
        if _cpu_seconds(pid) - since >= 0.02:
            return True
        time.sleep(0.002)
    return _cpu_seconds(pid) - since >= 0.02
