"""Signal storms: start the real server many times and send it bursts of SIGTERM and SIGINT at random moments,
during start-up and while clients submit. Every run must end within the grace period plus a second, with status 0
or 128 + signal and no traceback; a burst that arrives under load loses no acknowledged job.
"""
from __future__ import annotations

import collections
import os
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from rainbow.client import RainbowClient

from .rel_env import pick
from .rel_graphs import cluster_graph, nextgen_jobspec, render
from .rel_load import Ledger, Submitter, register
from .rel_signals import PATTERNS, SERVER_GRACE, send, verdict, wait_exit, wait_until_catching
from .rel_store import table_rows

from serverutil import ServerProcess, start_server  # noqa: E402  (tests/ is on sys.path, see rel_env)

# 5 patterns x 2 moments x REPEATS runs: 50 starts of the real server under `make test`.
REPEATS = pick(5, 20)
PARALLEL = 2
LIMIT = SERVER_GRACE + 1.0

pytestmark = [pytest.mark.slow, pytest.mark.timeout(pick(600, 3600))]


def _run_once(workdir, pattern_name: str, moment: str, rng: random.Random) -> tuple[str, dict]:
    """One start, one burst; returns ("" or what went wrong, figures of the run)."""
    pattern = PATTERNS[pattern_name]
    name = f"{pattern_name}/{moment}/{workdir.name}"
    workdir.mkdir(parents=True)
    server = ServerProcess(workdir, workdir / "rainbow.db", "storm-secret", ())
    server.launch()
    stop = threading.Event()
    subs: list[Submitter] = []
    ledger = Ledger()
    try:
        if moment == "start-up":
            if not wait_until_catching(server.proc):
                return f"{name}: never installed its signal handlers: {server.log_tail()}", {}
            time.sleep(rng.uniform(0.0, 0.05))
        else:
            server.wait_serving()
            with RainbowClient(server.address) as client:
                token, _ = register(client, "storm", server.secret, cluster_graph("storm", nodes=2, cores=4))
            jobspec = render(nextgen_jobspec(nodes=1, cores=1), "yaml")
            subs = [Submitter(lambda: server.address, [("storm", token)], jobspec, f"s{i}", ledger, stop,
                              timeout=5.0) for i in range(2)]
            for sub in subs:
                sub.start()
            deadline = time.monotonic() + 30.0
            while not ledger.confirmed and time.monotonic() < deadline and server.running:
                time.sleep(0.01)  # until the first job is acknowledged: the burst comes while clients submit
            time.sleep(rng.uniform(0.0, 0.3))
        first = send(server.proc, pattern, rng)
        status = wait_exit(server.proc, first, LIMIT)
        took = time.monotonic() - first
        server.returncode = status
        problem = verdict(name, status, pattern, server.stderr(), LIMIT)
        if not problem and moment == "under-load":
            stop.set()
            for sub in subs:
                sub.join(10)
            stored = collections.Counter(row[0] for row in table_rows(server.db_path, "SELECT name FROM jobs"))
            lost = [job for job in ledger.confirmed if not stored[job]]
            twice = [job for job, n in stored.items() if n > 1]
            if lost or twice:
                problem = f"{name}: acknowledged jobs lost {lost[:5]}, stored twice {twice[:5]}"
        return problem, {"status": status, "took": took, "confirmed": len(ledger.confirmed), "name": name}
    finally:
        stop.set()
        for sub in subs:
            sub.join(10)
        if server.running:
            server.kill()


def test_signal_bursts_never_hang_the_server(tmp_path, figures):
    seed = int(os.environ.get("RAINBOW_SEED", time.time_ns() % 2 ** 32))
    rng = random.Random(seed)
    figures.add(seed=seed)
    runs = [(pattern, moment, random.Random(rng.random()))
            for _ in range(REPEATS) for pattern in PATTERNS for moment in ("start-up", "under-load")]
    rng.shuffle(runs)
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(lambda item: _run_once(tmp_path / f"run{item[0]}", *item[1]), enumerate(runs)))
    problems = [problem for problem, _ in results if problem]
    assert not problems, f"{len(problems)} of {len(runs)} runs went wrong:\n" + "\n".join(problems[:10])
    statuses = collections.Counter(stats["status"] for _, stats in results)
    slowest = max((stats for _, stats in results), key=lambda stats: stats["took"])
    figures.add(runs=len(runs), statuses=dict(statuses), slowest_exit_s=slowest["took"],
                slowest=f"{slowest['name']}:{slowest['status']}",
                jobs_confirmed=sum(stats["confirmed"] for _, stats in results))


# -- the other long-running commands -----------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
AGENT_RUNS = pick(1, 4)  # per pattern
AGENT_GRACE = 90.0  # rainbow/cli/agent.py STOP_GRACE
DEMO_RUNS = pick(3, 10)
DEMO_GRACE = 15.0  # rainbow/demo.py: STOP_TIMEOUT + 5


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAINBOW_")}
    env.update(PYTHONUNBUFFERED="1", **extra)
    return env


def test_signal_bursts_never_hang_the_agent(tmp_path, figures):
    seed = int(os.environ.get("RAINBOW_SEED", time.time_ns() % 2 ** 32)) + 7
    rng = random.Random(seed)
    figures.add(seed=seed)
    server = start_server(tmp_path / "server")
    stop = threading.Event()
    try:
        with RainbowClient(server.address) as client:
            token, secret = register(client, "polled", server.secret, cluster_graph("polled", nodes=2, cores=4))
        feed = Submitter(lambda: server.address, [("polled", token)], render(nextgen_jobspec(), "yaml"), "feed",
                         Ledger(), stop, timeout=5.0)
        feed.start()
        config = tmp_path / "agent.yaml"
        config.write_text(f"host: {server.address}\ncluster:\n  name: polled\n  secret: {secret}\n")
        runs = [(name, "shell") for _ in range(AGENT_RUNS) for name in PATTERNS]

        def one(item: tuple[int, tuple[str, str]]) -> str:
            index, (name, script) = item
            pattern = PATTERNS[name]
            with open(tmp_path / f"agent{index}.err", "w+") as err:
                proc = subprocess.Popen([sys.executable, "-c", "from rainbow.cli import main; main()", "agent",
                                         "--config-path", str(config), "--manager", script, "--interval", "0.1",
                                         "--state-dir", str(tmp_path / f"agent{index}")], cwd=tmp_path,
                                        stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL,
                                        env=_clean_env())
                if not wait_until_catching(proc):
                    proc.kill()
                    proc.wait()
                    err.seek(0)
                    return f"{name}/{script}: never installed its signal handlers: {err.read()[-500:]}"
                time.sleep(rng.uniform(0.0, 1.0))  # some during start-up, most while it polls
                first = send(proc, pattern, rng)
                status = wait_exit(proc, first, AGENT_GRACE + 1.0)
                err.seek(0)
                return verdict(f"{name}/{script}/{index}", status, pattern, err.read(), AGENT_GRACE + 1.0)

        with ThreadPoolExecutor(PARALLEL) as pool:
            problems = [p for p in pool.map(one, enumerate(runs)) if p]
        assert not problems, "\n".join(problems)
        figures.add(runs=len(runs))
    finally:
        stop.set()
        server.stop()


def test_signal_bursts_stop_the_demo_and_what_it_started(tmp_path, figures):
    seed = int(os.environ.get("RAINBOW_SEED", time.time_ns() % 2 ** 32)) + 11
    rng = random.Random(seed)
    figures.add(seed=seed)
    names = [rng.choice(list(PATTERNS)) if i else "term-term" for i in range(DEMO_RUNS)]
    problems: list[str] = []
    statuses = []
    for index, name in enumerate(names):
        pattern = PATTERNS[name] if index % 2 == 0 else PATTERNS[name][:1]  # a single signal: the graceful stop
        tmp = tmp_path / f"demo{index}"
        tmp.mkdir()
        with open(tmp / "out", "w+") as out:
            proc = subprocess.Popen([sys.executable, "-m", "rainbow.demo"], cwd=REPO, stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=_clean_env(TMPDIR=str(tmp)))
            if not wait_until_catching(proc):
                proc.kill()
                proc.wait()
                problems.append(f"demo {name}: never installed its signal handlers")
                continue
            time.sleep(rng.uniform(0.0, 4.0))
            first = send(proc, pattern, rng)
            status = wait_exit(proc, first, DEMO_GRACE + 1.0)
            out.seek(0)
            problem = verdict(f"demo {name} x{len(pattern)}", status, pattern, out.read(), DEMO_GRACE + 1.0)
        statuses.append(status)
        if problem:
            problems.append(problem)
        left = [p.name for p in tmp.iterdir() if p.name.startswith("rainbow-demo-")]
        if left:
            problems.append(f"demo {name}: left its folder behind: {left}")
        servers = _demo_servers(str(tmp))
        if servers:
            problems.append(f"demo {name}: left {len(servers)} server(s) running")
            for server in servers:
                server.kill()
    assert not problems, "\n".join(problems)
    figures.add(runs=len(names), statuses=dict(collections.Counter(statuses)))


def _demo_servers(folder: str) -> list[psutil.Process]:
    """`rainbow serve` processes whose working folder lies under `folder`; waits a moment for a dying one."""
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        if "serve" in (proc.info.get("cmdline") or []) and (proc.info.get("cwd") or "").startswith(folder):
            try:
                proc.wait(2.0)
            except psutil.TimeoutExpired:
                found.append(proc)
    return found
