"""Start a server as a separate process and wait until it serves: the one way the tests, the demo and the benchmarks
run `rainbow serve` (or any server that announces itself the same way).

A server is ready when its stdout shows `serving on HOST:PORT`, optionally after a `NAME: ` prefix (`rainbow serve`
prints `rainbow: serving on 127.0.0.1:PORT`, with `--port 0` the port it was given). A registration secret the
server made up (`rainbow: registration secret: ...`) is read from the same output.

    server = ServedProcess(serve_command("--port", "0", "--db", "rainbow.db"), workdir).launch().wait_serving()
    ... RainbowClient(server.address) ...
    server.stop()           # SIGTERM, then the exit status (0 after a graceful stop)
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Mapping, Sequence

SERVING = re.compile(r"^(?:[\w.-]+: )?serving on (\S+):(\d+)\s*$", re.M)
SECRET = re.compile(r"^rainbow: registration secret: (\S+)\s*$", re.M)
HTTP = re.compile(r"^rainbow: status page and metrics on (https?://\S+)\s*$", re.M)
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0

# `python -c` rather than the console script: the script may not sit next to sys.executable in every venv layout.
_LAUNCH = "import sys; from rainbow.cli import main; sys.exit(main())"


def serve_command(*args: str) -> list[str]:
    """The command line of `rainbow serve ARGS` with this interpreter."""
    return [sys.executable, "-c", _LAUNCH, "serve", *args]


class LaunchError(RuntimeError):
    """The server did not start, or did not stop as asked; the message carries the tail of its output."""


class ServedProcess:
    """One server process; its stdout and stderr go to files `STEM-N.out` / `STEM-N.err` in `workdir` (N counts the
    starts, so that a restart keeps the earlier output)."""

    def __init__(self, command: Sequence[str], workdir: str | os.PathLike, *, name: str = "rainbow serve",
                 env: Mapping[str, str] | None = None, stem: str = "rainbow-serve") -> None:
        self.command = list(command)
        self.workdir = Path(workdir)
        self.name = name
        self.env = dict(os.environ if env is None else env)
        self.env["PYTHONUNBUFFERED"] = "1"
        self.stem = stem
        self.host = ""
        self.port = 0
        self.address = ""
        self.secret: str | None = None
        self.http_url = ""  # the status page's URL when the server has an HTTP port (ends with "/")
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None
        self._starts = 0

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def launch(self) -> "ServedProcess":
        """Start the process and return at once (it does not serve yet: see `wait_serving`)."""
        if self.running:
            raise LaunchError(f"{self.name} already running")
        self._starts += 1
        self.stdout_path = self.workdir / f"{self.stem}-{self._starts}.out"
        self.stderr_path = self.workdir / f"{self.stem}-{self._starts}.err"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.command, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         cwd=str(self.workdir), env=self.env)
        self.returncode = None
        return self

    def wait_serving(self, timeout: float = START_TIMEOUT, stop: threading.Event | None = None) -> "ServedProcess":
        """Wait for the `serving on` line and take the address (and a generated secret) from it. Raises
        LaunchError if the process exits first, `timeout` passes (it is killed then), or `stop` is set."""
        assert self.proc is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while True:
            text = self.stdout()
            found = SERVING.search(text)
            if found:
                self.host, self.port = found.group(1), int(found.group(2))
                self.address = f"{self.host}:{self.port}"
                http = HTTP.search(text)
                self.http_url = http.group(1) if http else ""
                generated = SECRET.search(text)
                if generated and self.secret is None:
                    self.secret = generated.group(1)
                return self
            if self.proc.poll() is not None:
                self.returncode = self.proc.returncode
                raise LaunchError(f"{self.name} exited with {self.returncode} before serving: {self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise LaunchError(f"{self.name} did not start within {timeout:.0f}s: {self.log_tail()}")
            if stop is not None and stop.wait(0.02):
                raise LaunchError(f"stopped while waiting for {self.name} to serve")
            if stop is None:
                time.sleep(0.02)

    def stop(self, timeout: float = STOP_TIMEOUT, sig: int = signal.SIGTERM) -> int:
        """Send `sig` (SIGTERM: a graceful stop) and wait; returns the exit status. A process that does not exit
        within `timeout` is killed, and LaunchError says so."""
        if self.proc is None:
            return self.returncode or 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise LaunchError(f"{self.name} ignored {signal.Signals(sig).name} for {timeout}s: "
                                  f"{self.log_tail()}") from None
        self.returncode = self.proc.returncode
        return self.returncode

    def kill(self) -> int:
        """SIGKILL: the crash case (no cleanup at all)."""
        if self.proc is None:
            return self.returncode or 0
        if self.proc.poll() is None:
            self.proc.kill()
        self.returncode = self.proc.wait()
        return self.returncode

    # -- inspection --------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 20) -> str:
        text = (self.stdout() + self.stderr()).strip().splitlines()
        return " | ".join(text[-lines:]) or "(no output)"

    def __enter__(self) -> "ServedProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.running:
            try:
                self.stop()
            except LaunchError:
                pass
