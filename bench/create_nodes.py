"""How fast `compspec create nodes` merges node extraction files, beside what merely reading and writing costs.

Generates N realistic node files (each the default extraction of the recorded 2-socket, 64-CPU node
tests/data/hosts/x86-intel-2s-rocky9-impi, under its own hostname), then for 1,000, 5,000 and 10,000 files
measures, each in a fresh process:

- ours: `compspec create nodes` into the rainbow dialect;
- baseline: json.load of every input file + dumping a document the size of our output with the C encoder
  (json.dumps; the output is read back before the clock starts, so only the dump is timed).

Prints the median seconds of each (3 runs up to 1,000 files, 1 above, so the bench stays under 5 minutes),
their ratio, peak RSS, and the cost per file (which must not grow with N).
Targets: ratio <= 3, peak RSS <= 2 GB, linear cost.

    .venv/bin/python bench/create_nodes.py [--sizes 1000,5000,10000] [--repeat 3] [--repeat-large 1]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "data" / "hosts" / "x86-intel-2s-rocky9-impi"
CORES = 64
SOCKETS = 2

OURS = """
import json, sys, time
t0 = time.perf_counter()
from compspec.cli import main
main(["create", "nodes", "--cluster-name", "bench", "--node-dir", sys.argv[1], "--nodes-output", sys.argv[2]],
     standalone_mode=False)
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""

BASELINE = """
import json, os, sys, time
t0 = time.perf_counter()
with os.scandir(sys.argv[1]) as it:
    names = sorted(e.name for e in it)
for name in names:
    with open(os.path.join(sys.argv[1], name), "rb") as fh:
        json.load(fh)
load = time.perf_counter() - t0
with open(sys.argv[2], "rb") as fh:
    document = json.load(fh)
t1 = time.perf_counter()
with open(sys.argv[3], "w") as fh:
    fh.write(json.dumps(document))
dump = time.perf_counter() - t1
print(json.dumps({"seconds": load + dump, "load": load, "dump": dump}))
"""


def node_template() -> str:
    """A default extraction of the recorded 2-socket, 64-CPU node, as text with a hostname placeholder."""
    from compspec.extract import run_extractors

    doc = run_extractors(None, host_root=str(FIXTURE)).document
    cpu = doc["results"]["system"]["sections"]["cpu"]
    if (cpu.get("sockets"), cpu.get("cores")) != (str(SOCKETS), str(CORES)):
        sys.exit(f"bench: {FIXTURE.name} is no longer a {SOCKETS}-socket, {CORES}-CPU node")
    doc["metadata"]["hostname"] = "@HOST@"
    doc["results"]["nfd"]["sections"]["system"]["name.nodename"] = "@HOST@"
    return json.dumps(doc, indent=2)


def generate(directory: Path, count: int) -> int:
    """Write `count` node files; hostnames are shuffled against file names so the merge has to sort."""
    directory.mkdir(parents=True, exist_ok=True)
    template = node_template()
    hosts = [f"node{i:05d}" for i in range(count)]
    random.Random(7).shuffle(hosts)
    for i, host in enumerate(hosts):
        (directory / f"extract-{i:05d}.json").write_text(template.replace("@HOST@", host))
    return len(template)


def subset(source: Path, target: Path, count: int) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in sorted(os.listdir(source))[:count]:
        os.link(source / name, target / name)


def measure(code: str, *args: str) -> tuple[dict, int]:
    """Run `code` in a fresh interpreter; its printed figures and its peak RSS in bytes."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=out, stderr=err, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            sys.exit(f"bench: run failed ({proc.returncode}): {err.read().decode()[-2000:]}")
        return json.loads(out.read().decode().strip().splitlines()[-1]), usage.ru_maxrss * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size up to 1,000 files (median taken)")
    parser.add_argument("--repeat-large", type=int, default=1,
                        help="runs per larger size (few, so the whole bench stays within minutes)")
    parser.add_argument("--workdir", default=None, help="where to put the node files (default: a temporary folder)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-create-nodes-"))
    try:
        t0 = time.perf_counter()
        size = generate(work / "all", sizes[-1])
        print(f"generated {sizes[-1]} node files of {size / 1024:.0f} KiB each ({CORES} CPUs, {SOCKETS} sockets) "
              f"in {time.perf_counter() - t0:.1f} s")
        print(f"{'files':>7} {'ours s':>8} {'base s':>8} {'(load':>7} {'dump)':>6} {'ratio':>6} "
              f"{'ours RSS MB':>12} {'base RSS MB':>12} "
              f"{'ours ms/file':>13} {'out MB':>7}")
        rows = []
        for n in sizes:
            directory = work / f"n{n}"
            if n == sizes[-1]:
                directory = work / "all"
            else:
                subset(work / "all", directory, n)
            graph, copy = work / f"graph-{n}.json", work / f"copy-{n}.json"
            ours, base, parts, ours_rss, base_rss = [], [], [], 0, 0
            for _ in range(args.repeat if n <= 1000 else args.repeat_large):
                figures, rss = measure(OURS, str(directory), str(graph))
                ours.append(figures["seconds"])
                ours_rss = max(ours_rss, rss)
                figures, rss = measure(BASELINE, str(directory), str(graph), str(copy))
                base.append(figures["seconds"])
                parts.append((figures["load"], figures["dump"]))
                base_rss = max(base_rss, rss)
                copy.unlink()
            o, b = statistics.median(ours), statistics.median(base)
            out_mb = graph.stat().st_size / 1e6
            graph.unlink()
            rows.append((n, o, b, ours_rss))
            load, dump = parts[base.index(b)] if b in base else parts[0]
            print(f"{n:>7} {o:>8.2f} {b:>8.2f} {load:>7.2f} {dump:>6.2f} {o / b:>6.2f} "
                  f"{ours_rss / 1e6:>12.0f} {base_rss / 1e6:>12.0f} "
                  f"{1000 * o / n:>13.3f} {out_mb:>7.0f}", flush=True)
        worst_ratio = max(o / b for _, o, b, _ in rows)
        peak = max(r for *_, r in rows)
        per_file = [o / n for n, o, _, _ in rows]
        growth = per_file[-1] / per_file[0]
        print(f"ratio to baseline: worst {worst_ratio:.2f} (target <= 3): {'met' if worst_ratio <= 3 else 'MISSED'}")
        print(f"peak RSS: {peak / 1e6:.0f} MB (target <= 2000): {'met' if peak <= 2e9 else 'MISSED'}")
        print(f"cost per file, largest vs smallest run: x{growth:.2f} (linear when close to 1): "
              f"{'met' if growth <= 1.5 else 'MISSED'}")
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
