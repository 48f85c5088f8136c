"""Stopping a long-running command on SIGINT/SIGTERM without ever hanging: `rainbow serve`, the demo, the pollers.

Supervisors send signals in bursts (systemd and Kubernetes escalate, `timeout` forwards its own while someone else
sends theirs, Ctrl-C is pressed twice). A Python signal handler runs on the main thread between two bytecodes,
possibly while that thread holds a lock the handler would need, so a handler that sets a threading.Event or logs can
deadlock on the second signal. Here the handlers do nothing at all: the interpreter's C-level handler writes the
signal's number to a socket (`signal.set_wakeup_fd`), and a watcher thread reads it from there and acts:

- first SIGINT/SIGTERM: one log line, and `stop` is set; the command checks it at its own safe points (between
  start-up steps, between polls, while it serves) and stops gracefully within the grace period;
- a second signal, or a grace period that runs out: one log line, and the process exits at once with 128 + the
  signal's number, as shells report a command a signal ended.

The watcher starts with the `with` block, so a command that enters it first keeps every signal that arrives while
it starts up (imports, store, index), and a burst during start-up ends it as promptly as one while it runs.

    with StopSignals(grace=10.0, say=log.info) as signals:
        ...                                  # start-up: `if signals.stop.is_set(): return` between steps
        signals.stop.wait()                  # serve until asked to stop, then stop gracefully
"""
from __future__ import annotations

import os
import select
import signal
import socket
import sys
import threading
import time
from typing import Callable

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_WAKE = 0  # the byte that wakes the watcher to end it; no signal has number 0


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _ignore(_signum: int, _frame: object) -> None:
    """The Python-level handler: nothing. The wake-up byte already carries the news."""


class Stop(threading.Event):
    """Set when the command is asked to stop; `signum` says by which signal."""

    signum: int = 0


class StopSignals:
    """Catch SIGINT and SIGTERM for the `with` block (enter it on the main thread) and stop as the module says.

    `say` writes the log lines; `stopping` is what the first one says the command does now; `before_exit` runs just
    before an immediate exit (to kill the processes the command started: nothing that waits); `stop` is the Stop to
    set (a new one by default). Both signals are
    caught even when the command started with SIGINT ignored (a background job of a script): a supervisor that sends
    SIGINT means it.
    """

    def __init__(self, *, grace: float, say: Callable[[str], None], stopping: str = "stopping",
                 before_exit: Callable[[], None] | None = None, stop: Stop | None = None) -> None:
        self.grace = grace
        self.say = say
        self.stopping = stopping
        self.before_exit = before_exit
        self.stop = stop if stop is not None else Stop()
        self._previous: dict[int, object] = {}
        self._previous_fd = -1
        self._reader: socket.socket | None = None
        self._writer: socket.socket | None = None
        self._watcher: threading.Thread | None = None
        self._closing = False

    def __enter__(self) -> "StopSignals":
        self._reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, _ignore)
        self._watcher = threading.Thread(target=self._watch, name="stop-signals", daemon=True)
        self._watcher.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing = True
        self._send(_WAKE)
        if self._watcher is not None:
            self._watcher.join()
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()
        signal.set_wakeup_fd(self._previous_fd)
        for sock in (self._reader, self._writer):
            if sock is not None:
                sock.close()
        self._reader = self._writer = None

    def _send(self, byte: int) -> None:
        try:
            if self._writer is not None:
                self._writer.send(bytes([byte]))
        except OSError:
            pass  # a full buffer already wakes the watcher

    def _watch(self) -> None:
        assert self._reader is not None
        deadline: float | None = None
        while True:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self._reader], [], [], timeout)
            data = self._reader.recv(4096) if ready else b""
            for got in data:
                if self._closing:
                    return
                if got == _WAKE:
                    continue
                if self.stop.is_set():
                    self._exit_now(got, f"{signal_name(got)} received again: stopping now")
                self.stop.signum = got
                self.stop.set()
                self.say(f"{signal_name(got)} received: {self.stopping}")
                deadline = time.monotonic() + self.grace
            if self._closing:
                return
            if deadline is not None and time.monotonic() >= deadline:
                self._exit_now(self.stop.signum,
                               f"not stopped within {self.grace:g}s of {signal_name(self.stop.signum)}: stopping now")

    def _exit_now(self, signum: int, line: str) -> None:
        self.say(line)
        if self.before_exit is not None:
            try:
                self.before_exit()
            except Exception:  # noqa: BLE001  (exiting matters more than the cleanup)
                pass
        end_process(128 + signum)


def end_process(status: int) -> None:
    """Flush what was printed and end the process with `status` at once, without the interpreter's teardown (which
    for a process that loaded gRPC can take seconds): call it only when nothing is left to close."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001  (a closed or broken stream must not keep us alive)
            pass
    os._exit(status)
