"""The signal bursts supervisors send (systemd, Kubernetes, Slurm, `timeout`, Ctrl-C pressed twice), and how to
watch a process answer them.

A pattern is a list of signals sent back to back. Whatever the pattern and whenever it arrives, a long-running
command must exit within its grace period plus a second, with status 0 (it stopped gracefully before the second
signal came) or 128 + the number of a signal it was sent (a second signal stopped it at once), and no traceback.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

TERM, INT = signal.SIGTERM, signal.SIGINT

PATTERNS: dict[str, list[signal.Signals]] = {
    "term-term": [TERM, TERM],
    "int-int": [INT, INT],
    "term-int": [TERM, INT],
    "term-storm": [TERM] * 300,
    "alternating-storm": [INT, TERM] * 150,
}

# The server's default grace period for requests in flight (ServerOptions.grace_seconds).
SERVER_GRACE = 10.0


def catches(pid: int, sig: signal.Signals) -> bool:
    """Whether the process has a handler of its own for `sig` (Linux: the SigCgt mask of /proc/PID/status)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (int(sig) - 1) & 1)
    return False


def wait_until_catching(proc: subprocess.Popen, sig: signal.Signals = TERM, timeout: float = 30.0) -> bool:
    """Wait until the process handles `sig` itself: from then on it is starting up under its own signal handling."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if catches(proc.pid, sig):
            return True
        time.sleep(0.005)
    return False


def send(proc: subprocess.Popen, pattern: list[signal.Signals], rng: random.Random) -> float:
    """Send the signals back to back, a storm spread over some tens of milliseconds as a supervisor's burst is;
    returns when the first was sent (time.monotonic)."""
    first = time.monotonic()
    for sig in pattern:
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            break
        if rng.random() < 0.3:
            time.sleep(rng.uniform(0.0, 0.001))
    return first


def wait_exit(proc: subprocess.Popen, since: float, limit: float) -> int | None:
    """The exit status if the process ended within `limit` seconds of `since`; otherwise kill it and return None."""
    try:
        return proc.wait(max(0.0, since + limit - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def allowed_statuses(pattern: list[signal.Signals]) -> set[int]:
    return {0} | {128 + int(sig) for sig in pattern}


def verdict(name: str, status: int | None, pattern: list[signal.Signals], stderr: str, limit: float) -> str:
    """"" when the run ended as it must; else one line saying how it did not."""
    if status is None:
        return f"{name}: still running {limit:.1f}s after the first signal (hung): {tail(stderr)}"
    if status not in allowed_statuses(pattern):
        return f"{name}: exit status {status}, expected 0 or 128+signal: {tail(stderr)}"
    if "Traceback" in stderr:
        return f"{name}: traceback on stderr: {tail(stderr)}"
    return ""


def tail(text: str, lines: int = 6) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])
