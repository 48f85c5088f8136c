"""Start the real `rainbow serve` as a subprocess for tests, and stop it again.

Every test that needs a live server (end-to-end, CLI, reliability, docs) goes through here, so that all of them run
the server the way a user does: a separate process, a free loopback port, a temporary SQLite file.

    from serverutil import start_server

    server = start_server(tmp_path, secret="s3cret")
    client = RainbowClient(server.address)
    ...
    server.restart()        # same database, same port
    server.stop()           # SIGTERM, waits for exit 0

The pytest fixture `rainbow_server` (tests/conftest.py) yields a started ServerProcess and stops it afterwards.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

DEFAULT_SECRET = "test-registration-secret"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0

_SERVING = re.compile(r"^rainbow: serving on (\S+):(\d+)\s*$", re.M)
_SECRET = re.compile(r"^rainbow: registration secret: (\S+)\s*$", re.M)

# `python -c` rather than the console script: the script may not sit next to sys.executable in every venv layout.
_LAUNCH = "import sys; from rainbow.cli import main; sys.exit(main())"


class ServerError(RuntimeError):
    """The server did not start, or did not stop as asked; the message carries the tail of its log."""


class ServerProcess:
    """One running `rainbow serve`; its stdout and stderr go to files in the test's directory."""

    def __init__(self, workdir: Path, db_path: Path | str, secret: str | None, extra_args: Sequence[str],
                 host: str = "127.0.0.1") -> None:
        self.workdir = Path(workdir)
        # A SQLite file, or a store URL (postgresql://...) kept as given.
        self.db_path = db_path if "://" in str(db_path) else Path(db_path)
        self.secret = secret
        self.extra_args = tuple(extra_args)
        self.host = host
        self.port = 0
        self.address = ""
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None
        self._starts = 0

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self, port: int = 0) -> "ServerProcess":
        """Launch and wait until the server says it serves."""
        return self.launch(port).wait_serving()

    def launch(self, port: int = 0) -> "ServerProcess":
        """Start the process and return at once (it is not serving yet: see `wait_serving`)."""
        if self.proc is not None and self.proc.poll() is None:
            raise ServerError("server already running")
        self._starts += 1
        self.stdout_path = self.workdir / f"rainbow-serve-{self._starts}.out"
        self.stderr_path = self.workdir / f"rainbow-serve-{self._starts}.err"
        args = [sys.executable, "-c", _LAUNCH, "serve", "--host", self.host, "--port", str(port),
                "--db", str(self.db_path)]
        if self.secret is not None:
            args += ["--secret", self.secret]
        args += list(self.extra_args)
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        for key in [k for k in env if k.startswith("RAINBOW_")]:
            del env[key]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         cwd=str(self.workdir), env=env)
        self.returncode = None
        return self

    def wait_serving(self, timeout: float = START_TIMEOUT) -> "ServerProcess":
        """Wait for the line 'rainbow: serving on HOST:PORT' and take the port (and a generated secret) from it."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.stdout_path.read_text(encoding="utf-8", errors="replace")
            found = _SERVING.search(text)
            if found:
                self.port = int(found.group(2))
                self.address = f"{self.host}:{self.port}"
                if self.secret is None:
                    generated = _SECRET.search(text)
                    if generated:
                        self.secret = generated.group(1)
                return self
            if self.proc.poll() is not None:
                self.returncode = self.proc.returncode
                raise ServerError(f"rainbow serve exited with {self.returncode} before serving: {self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise ServerError(f"rainbow serve did not start within {timeout:.0f}s: {self.log_tail()}")
            time.sleep(0.02)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM and wait; returns the exit status (the server exits 0 on a graceful stop)."""
        return self._signal(signal.SIGTERM, timeout)

    def interrupt(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGINT (Ctrl-C) and wait; returns the exit status."""
        return self._signal(signal.SIGINT, timeout)

    def kill(self) -> int:
        """SIGKILL: the crash case (no cleanup at all)."""
        if self.proc is None:
            return self.returncode or 0
        if self.proc.poll() is None:
            self.proc.kill()
        self.returncode = self.proc.wait()
        return self.returncode

    def restart(self, *, same_port: bool = True) -> "ServerProcess":
        """Stop gracefully (if running) and start again on the same database (and by default the same port)."""
        if self.running:
            self.stop()
        return self.start(self.port if same_port else 0)

    def _signal(self, sig: int, timeout: float) -> int:
        if self.proc is None:
            return self.returncode or 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise ServerError(f"rainbow serve ignored {signal.Signals(sig).name} for {timeout}s: "
                                  f"{self.log_tail()}")
        self.returncode = self.proc.returncode
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
        return " | ".join(text[-lines:])

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc) -> None:
        if self.running:
            try:
                self.stop()
            except ServerError:
                pass


def start_server(tmp_path: str | os.PathLike, *, secret: str | None = DEFAULT_SECRET,
                 extra_args: Sequence[str] = (), db: str | os.PathLike | None = None,
                 port: int = 0) -> ServerProcess:
    """Start `rainbow serve` on 127.0.0.1 with a database in `tmp_path` (or `db`); wait until it serves.

    `secret=None` lets the server make its own registration secret; it is read from the server's output.
    """
    workdir = Path(tmp_path)
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = (db if "://" in str(db) else Path(db)) if db is not None else workdir / "rainbow.db"
    return ServerProcess(workdir, db_path, secret, extra_args).start(port)
