"""How long `compspec extract` (default set) takes, next to starting the interpreter itself.

Prints the median wall time of both, measured alternately in the same run so machine load affects both alike,
and their ratio (target: at most 8). Then the in-process cost of each section, to show where time goes.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

RUNS = int(os.environ.get("BENCH_RUNS", "21"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


#: Bytecode caches are what an installed package runs from; without them every run would time the compiler.
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=ENV)
    return time.perf_counter() - start


def main() -> None:
    script = os.path.join(os.path.dirname(sys.executable), "compspec")
    extract = [script, "extract", "--quiet"] if os.path.exists(script) else \
        [sys.executable, "-c", "from compspec.cli import main; main()", "extract", "--quiet"]
    baseline = [sys.executable, "-c", "pass"]
    wall(extract)  # warm the page cache and bytecode caches
    hosts = os.path.join(ROOT, "tests", "data", "hosts")
    recorded = [*extract, "--host-root", os.path.join(hosts, "x86-gpu-4xh100-ubuntu")]
    clusters = [*extract, "--host-root", os.path.join(hosts, "riscv64-sg2042-pioneer")]
    base_times, extract_times, recorded_times, cluster_times = [], [], [], []
    for _ in range(RUNS):
        base_times.append(wall(baseline))
        extract_times.append(wall(extract))
        recorded_times.append(wall(recorded))
        cluster_times.append(wall(clusters))
    base, ext = statistics.median(base_times), statistics.median(extract_times)
    rec, clu = statistics.median(recorded_times), statistics.median(cluster_times)
    print(f"python -c pass           median {base * 1000:7.1f} ms  ({RUNS} runs, {sys.executable})")
    print(f"compspec extract         median {ext * 1000:7.1f} ms  (this node, default set, output discarded)")
    print(f"ratio                    {ext / base:7.2f}  (target <= 8)")
    print(f"recorded 64-CPU GPU node median {rec * 1000:7.1f} ms  (--host-root x86-gpu-4xh100-ubuntu), "
          f"ratio {rec / base:.2f}")
    print(f"recorded 64-core RISC-V  median {clu * 1000:7.1f} ms  (--host-root riscv64-sg2042-pioneer: sibling lists "
          f"of 64 CPUs), ratio {clu / base:.2f}")

    sys.path.insert(0, ROOT)
    from compspec.extractors.host import Host
    from compspec.extractors.registry import Unavailable, load_builtin
    from compspec.extract import parse_selection

    registry = load_builtin()
    host = Host("/")
    print("in-process, first call of each section (imports included):")
    for name, sections in parse_selection(None):
        for section in sections:
            start = time.perf_counter()
            try:
                registry[name].sections[section].func(host)
            except Unavailable:
                pass
            print(f"  {name + '.' + section:<20} {(time.perf_counter() - start) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
