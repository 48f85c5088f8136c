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
import signal
from pathlib import Path
from typing import Sequence

from rainbow.server.launch import START_TIMEOUT, STOP_TIMEOUT, LaunchError, ServedProcess, serve_command

DEFAULT_SECRET = "test-registration-secret"

ServerError = LaunchError

__all__ = ["DEFAULT_SECRET", "START_TIMEOUT", "STOP_TIMEOUT", "ServerError", "ServerProcess", "start_server"]


class ServerProcess(ServedProcess):
    """One `rainbow serve` on a database file, with none of the caller's RAINBOW_* settings; restartable."""

    def __init__(self, workdir: Path, db_path: Path | str, secret: str | None, extra_args: Sequence[str],
                 host: str = "127.0.0.1") -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAINBOW_")}
        super().__init__([], workdir, env=env)
        # A SQLite file, or a store URL (postgresql://...) kept as given.
        self.db_path = db_path if "://" in str(db_path) else Path(db_path)
        self.secret = secret
        self.extra_args = tuple(extra_args)
        self.host = host

    def start(self, port: int = 0) -> "ServerProcess":
        """Launch and wait until the server says it serves."""
        self.launch(port).wait_serving()
        return self

    def launch(self, port: int = 0) -> "ServerProcess":  # type: ignore[override]
        args = ["--host", self.host, "--port", str(port), "--db", str(self.db_path)]
        if self.secret is not None:
            args += ["--secret", self.secret]
        self.command = serve_command(*args, *self.extra_args)
        super().launch()
        return self

    def interrupt(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGINT (Ctrl-C) and wait; returns the exit status."""
        return self.stop(timeout, signal.SIGINT)

    def restart(self, *, same_port: bool = True) -> "ServerProcess":
        """Stop gracefully (if running) and start again on the same database (and by default the same port)."""
        if self.running:
            self.stop()
        return self.start(self.port if same_port else 0)


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
