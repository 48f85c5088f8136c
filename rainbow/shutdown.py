"""Stopping a long-running command on SIGINT/SIGTERM without ever hanging: `rainbow serve`, the demo, the pollers.

Supervisors send signals in bursts (systemd and Kubernetes escalate, `timeout` forwards its own while someone else
sends theirs, Ctrl-C is pressed twice). A Python signal handler runs on the main thread between two bytecodes,
possibly while that thread holds a lock the handler would need, so a handler that sets a threading.Event or logs can
deadlock on the second signal. Here the handlers do nothing at all: the interpreter's C-level handler writes the
signal's number to a socket (`signal.set_wakeup_fd`), and the main thread reads it from there, in its own time.

The work runs in a worker thread while the main thread only watches that socket:

- first SIGINT/SIGTERM: one log line, the work is asked to stop (`Stop.is_set()`), and has a grace period to return;
- a second signal, or a grace period that runs out: one log line, and the process exits at once with 128 + the
  signal's number, as shells report a command a signal ended.

    with StopSignals() as signals:          # as early as possible: signals from here on are kept, not lost
        ...                                 # start-up (read config, open the store)
        status = supervise(work, signals=signals, grace=10.0, say=log.info)
"""
from __future__ import annotations

import collections
import os
import select
import signal
import socket
import sys
import threading
import time
from typing import Callable, TypeVar

T = TypeVar("T")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_WAKE = 0  # the byte a worker writes to wake the main thread; no signal has number 0


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _ignore(_signum: int, _frame: object) -> None:
    """The Python-level handler: nothing. The wake-up byte already carries the news."""


class StopSignals:
    """Catch SIGINT and SIGTERM into a socket the main thread reads (a context manager; main thread only).

    Both are caught even when the command started with SIGINT ignored (a background job of a script): a supervisor
    that sends SIGINT means it.
    """

    def __init__(self, signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> None:
        self.signals = signals
        self._queue: collections.deque[int] = collections.deque()
        self._previous: dict[int, object] = {}
        self._previous_fd = -1
        self._reader: socket.socket | None = None
        self._writer: socket.socket | None = None

    def __enter__(self) -> "StopSignals":
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        for sig in self.signals:
            self._previous[sig] = signal.signal(sig, _ignore)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()
        signal.set_wakeup_fd(self._previous_fd)
        for sock in (self._reader, self._writer):
            if sock is not None:
                sock.close()
        self._reader = self._writer = None

    def wake(self) -> None:
        """Wake the main thread from `wait` (any thread may call this)."""
        try:
            if self._writer is not None:
                self._writer.send(bytes([_WAKE]))
        except OSError:
            pass  # a full buffer already means the main thread has something to read

    def wait(self, timeout: float | None = None) -> int | None:
        """The next signal received (its number), 0 if woken by `wake`, None if `timeout` seconds passed first."""
        if self._queue:
            return self._queue.popleft()
        assert self._reader is not None, "StopSignals used outside its with block"
        ready, _, _ = select.select([self._reader], [], [], timeout)
        if ready:
            self._drain()
        return self._queue.popleft() if self._queue else None

    def pending(self) -> int | None:
        """The next signal already received, without waiting; None if there is none."""
        while True:
            got = self.wait(0)
            if got != _WAKE:
                return got

    def _drain(self) -> None:
        assert self._reader is not None
        while True:
            try:
                data = self._reader.recv(4096)
            except (BlockingIOError, InterruptedError):
                return
            if not data:
                return
            self._queue.extend(data)


class Stop(threading.Event):
    """Set when the command is asked to stop; `signum` says by which signal."""

    signum: int = 0


def exit_now(signum: int) -> None:
    """End the process at once with 128 + signum, flushing what was printed first; no cleanup runs."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001  (a closed or broken stream must not keep us alive)
            pass
    os._exit(128 + signum)


def supervise(work: Callable[[Stop], T], *, signals: StopSignals, grace: float, say: Callable[[str], None],
              on_stop: Callable[[], None] | None = None, before_exit: Callable[[], None] | None = None,
              stopping: str = "stopping", stop: Stop | None = None) -> T:
    """Run `work(stop)` in a worker thread; the main thread watches the signals (see the module's docstring).

    `on_stop` runs on the main thread after the first signal (to cut a wait short, say); `before_exit` runs just
    before an immediate exit (to kill the processes the command started: nothing that waits); `stopping` is what
    the first signal's log line says the command does now; `stop` is the Stop to set (a new one by default).
    Returns what `work` returned, or raises what it raised.
    """

    def now(signum: int, line: str) -> None:
        say(line)
        if before_exit is not None:
            try:
                before_exit()
            except Exception:  # noqa: BLE001  (exiting matters more than the cleanup)
                pass
        exit_now(signum)

    stop = stop if stop is not None else Stop()
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = work(stop)
        except BaseException as exc:  # noqa: BLE001  (handed to the main thread, which re-raises it)
            outcome["error"] = exc
        finally:
            signals.wake()

    worker = threading.Thread(target=run, name="work", daemon=True)
    worker.start()
    deadline: float | None = None
    while worker.is_alive():
        timeout = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
        got = signals.wait(timeout)
        if got:
            if stop.is_set():
                now(got, f"{signal_name(got)} received again: stopping now")
            stop.signum = got
            stop.set()
            say(f"{signal_name(got)} received: {stopping}")
            deadline = time.monotonic() + grace
            if on_stop is not None:
                on_stop()
        elif deadline is not None and time.monotonic() >= deadline and worker.is_alive():
            now(stop.signum, f"not stopped within {grace:g}s of {signal_name(stop.signum)}: stopping now")
    worker.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
