"""Store speed: SubmitJob and drain throughput on PostgreSQL next to SQLite, and three replicas on one PostgreSQL.

Each server is a real `rainbow serve` process; this process is the load generator, on loopback. PostgreSQL is a
throw-away server started here (as `tests/pgutil.py` does for the tests) unless `--postgres URL` names a database
to use (it must be empty). The figures are printed, not asserted: see docs/many-clusters.md for what they mean.

    python bench/store.py [--submits 3000] [--clients 8] [--postgres postgresql://USER@HOST:PORT/DB]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from rainbow.client import RainbowClient  # noqa: E402

SECRET = "bench-registration-secret"
SERVING = re.compile(r"serving on \S+:(\d+)")
TARGET_RATIO = 0.60  # PostgreSQL's SubmitJob throughput, at least this share of SQLite's


def start_server(db: str, workdir: Path, tag: str) -> tuple[subprocess.Popen, str]:
    out, err = open(workdir / f"{tag}.out", "wb"), open(workdir / f"{tag}.err", "wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAINBOW_")}
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from rainbow.cli import main; sys.exit(main())", "serve", "--port", "0", "--db", db,
                             "--secret", SECRET], stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                            cwd=str(workdir))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = SERVING.search((workdir / f"{tag}.out").read_text())
        if found:
            return proc, f"127.0.0.1:{found.group(1)}"
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{tag} did not start: {(workdir / f'{tag}.err').read_text()[-2000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def graph(name: str) -> str:
    from rainbow.graph.generate import NodeKind, make_graph

    return json.dumps(make_graph(name, [NodeKind(count=8, sockets=2, cores_per_socket=8, memory_gib=64)]))


def job() -> str:
    from rainbow.jobspec import simple_jobspec

    return json.dumps(simple_jobspec(1, 2, ["app"]))


def submit_load(addresses: list[str], clusters: list[tuple[str, str]], submits: int, clients: int) -> dict:
    """`clients` threads, client i on addresses[i % len], submit `submits` jobs in all; rate and latencies."""
    spec = job()
    latencies: list[float] = []
    lock = threading.Lock()
    per = submits // clients

    def run(i: int) -> None:
        mine = []
        with RainbowClient(addresses[i % len(addresses)], timeout=60) as client:
            for n in range(per):
                started = time.perf_counter()
                result = client.submit(spec, clusters, name=f"b{i}-{n}")
                mine.append(time.perf_counter() - started)
                assert result.status == "SUBMIT_SUCCESS", result
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {"rate": len(latencies) / elapsed, "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))], "jobs": len(latencies)}


def drain(addresses: list[str], creds: dict[str, tuple[str, str]], pollers: int) -> dict:
    """Pollers receive batches of 100 and accept each batch until every cluster's queue is empty."""
    counted = [0] * pollers
    names = sorted(creds)

    def run(i: int) -> None:
        with RainbowClient(addresses[i % len(addresses)], timeout=60) as client:
            idle = 0
            while idle < len(names):
                idle = 0
                for name in names:
                    jobs = client.receive(name, creds[name][1], max_jobs=100)
                    if not jobs:
                        idle += 1
                        continue
                    client.accept(name, creds[name][1], [j.id for j in jobs])
                    counted[i] += len(jobs)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(pollers)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    return {"rate": sum(counted) / elapsed, "jobs": sum(counted)}


def measure(db: str, workdir: Path, tag: str, submits: int, clients: int, replicas: int = 1) -> dict:
    servers = [start_server(db, workdir, f"{tag}-{i}") for i in range(replicas)]
    addresses = [address for _, address in servers]
    try:
        creds = {}
        with RainbowClient(addresses[0]) as client:
            for name in ("east", "west"):
                result = client.register(name, SECRET, graph(name))
                creds[name] = (result.token, result.secret)
        clusters = [(name, token) for name, (token, _) in sorted(creds.items())]
        submit_load(addresses, clusters, clients * 10, clients)  # warm the caches and connections
        sub = submit_load(addresses, clusters, submits, clients)
        dr = drain(addresses, creds, pollers=max(2, replicas))
        return {"submit": sub, "drain": dr}
    finally:
        for proc, _ in servers:
            stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submits", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--postgres", default="", help="An empty PostgreSQL database to use (default: start one).")
    args = parser.parse_args()

    own = None
    with tempfile.TemporaryDirectory(prefix="rainbow-bench-store-") as tmp:
        work = Path(tmp)
        try:
            if args.postgres:
                pg_one = pg_three = args.postgres
            else:
                from pgutil import start_postgres

                own = start_postgres()
                if own is None:
                    raise SystemExit("PostgreSQL is not installed (Debian: apt-get install postgresql)")
                pg_one, pg_three = own.new_database("bench_one"), own.new_database("bench_three")
            print(f"SubmitJob: {args.submits} jobs from {args.clients} clients, 2 clusters of 8 nodes; "
                  f"drain: receive 100 + accept them, until empty (machine: {os.cpu_count()} CPUs)")
            rows = {
                "SQLite, 1 server": measure(str(work / "bench.db"), work, "sqlite", args.submits, args.clients),
                "PostgreSQL, 1 server": measure(pg_one, work, "pg1", args.submits, args.clients),
            }
            if args.postgres:
                print("(3 replicas need a second empty database: skipped with --postgres)")
            else:
                rows["PostgreSQL, 3 replicas"] = measure(pg_three, work, "pg3", args.submits, args.clients,
                                                         replicas=3)
            print(f"{'store':<24} {'submit/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'drain jobs/s':>13}")
            for label, row in rows.items():
                sub, dr = row["submit"], row["drain"]
                print(f"{label:<24} {sub['rate']:>9.0f} {sub['p50_ms']:>7.1f} {sub['p99_ms']:>7.1f} "
                      f"{dr['rate']:>13.0f}")
            ratio = rows["PostgreSQL, 1 server"]["submit"]["rate"] / rows["SQLite, 1 server"]["submit"]["rate"]
            verdict = "met" if ratio >= TARGET_RATIO else "missed"
            print(f"PostgreSQL / SQLite SubmitJob throughput: {ratio:.0%} (target >= {TARGET_RATIO:.0%}: {verdict})")
        finally:
            if own is not None:
                own.remove()


if __name__ == "__main__":
    main()
