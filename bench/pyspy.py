"""Sample a running server with py-spy while one phase of a benchmark runs, and print where its time went.

py-spy (PyPI: py-spy) reads the process from outside, so the server runs unchanged. With `--gil` only the samples of
the thread holding the GIL count: that is the time Python code, ours and gRPC's, keeps every other thread waiting.

    with Sampler(pid, out_dir, "submit") as sampler:
        ... drive the load ...
    print(sampler.report())      # top entries by own samples and by samples below them
"""
from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path


class Sampler:
    """py-spy on `pid` for the length of a `with` block; `report()` summarises the raw stacks it wrote."""

    def __init__(self, pid: int, out_dir: Path | None, phase: str, rate: int = 250, gil: bool = True) -> None:
        self.pid = pid
        self.gil = gil
        self.phase = phase
        self.out = Path(out_dir) / f"{phase}.txt" if out_dir else None
        self.rate = rate
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Sampler":
        if self.out is None:
            return self
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if not Path(spy).exists():
            raise SystemExit("--profile needs py-spy (pip install py-spy)")
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([spy, "record", *(["--gil"] if self.gil else []), "--nonblocking",
                                      "--format", "raw", "--rate", str(self.rate), "--output", str(self.out),
                                      "--pid", str(self.pid)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)  # py-spy attaches before the phase starts
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def report(self, top: int = 12) -> str:
        if self.out is None or not self.out.exists():
            return ""
        return summarise(self.out.read_text(), self.phase, top, "holding the GIL" if self.gil else "on a CPU")


def _frame(entry: str) -> str:
    """`function (path/to/module.py:LINE)` as `module.py:function`, short enough for one line."""
    name, _, where = entry.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    return f"{Path(path).name}:{name.strip()}"


def summarise(raw: str, phase: str, top: int = 12, what: str = "holding the GIL") -> str:
    """Top `top` frames by own samples and by inclusive samples, as percentages of all GIL-holding samples."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_frame(f) for f in stack.split(";")[1:]]  # the first entry names the thread
        if not frames:
            continue
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    if not samples:
        return f"profile {phase}: no samples"
    lines = [f"profile {phase}: {samples} samples {what}",
             "  own:   " + "; ".join(f"{f} {100 * n / samples:.0f}%" for f, n in own.most_common(top)),
             "  below: " + "; ".join(f"{f} {100 * n / samples:.0f}%" for f, n in total.most_common(top))]
    return "\n".join(lines)
