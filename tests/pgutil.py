"""A throw-away PostgreSQL server for tests: initdb into a temporary folder, run it in the foreground as a child
on a free loopback port, and remove everything afterwards.

PostgreSQL refuses to run as root; as root (CI machines) its binaries run as the unprivileged user `nobody`.
Each test gets a fresh database of its own (`new_database`), so tests never see each other's rows.
"""
from __future__ import annotations

import glob
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

START_TIMEOUT = 30.0
RUN_AS = "nobody"


def find_bindir() -> Path | None:
    """The folder of initdb and postgres (Debian's layout first, then PATH); None when PostgreSQL is absent."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def ensure_dev_null() -> None:
    """initdb's shell writes to /dev/null as an unprivileged user. A root process that once wrote a file "to"
    /dev/null by rename left a regular root-owned file there; put the character device back (root only)."""
    import stat

    try:
        if stat.S_ISCHR(os.stat("/dev/null").st_mode):
            return
    except FileNotFoundError:
        pass
    if os.geteuid() == 0:
        spare = f"/dev/.null-{os.getpid()}"
        os.mknod(spare, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        os.chmod(spare, 0o666)
        os.replace(spare, "/dev/null")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="rainbow-pg-"))
        os.chmod(self.root, 0o755)
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "postgres.log"
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self._names = itertools.count(1)
        self.sockets.mkdir()
        self.log.touch()
        if os.geteuid() == 0:
            for path in (self.root, self.sockets, self.log):
                shutil.chown(path, RUN_AS, "nogroup")
        ensure_dev_null()
        self._run([str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync",
                   "-E", "UTF8"], check=True)

    @staticmethod
    def _as_user() -> dict:
        """Popen arguments that drop root (the child itself is postgres, so signals reach it directly)."""
        if os.geteuid() != 0:
            return {}
        return {"user": RUN_AS, "group": "nogroup", "extra_groups": [],
                "env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": "/tmp"}}

    def _run(self, args: list[str], check: bool) -> None:
        done = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              cwd=str(self.root), **self._as_user())
        if check and done.returncode:
            raise RuntimeError(f"{args[0]} failed: {done.stdout[-2000:]}")

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> "PostgresServer":
        import psycopg

        self.port = self.port or free_port()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", str(self.data), "-k", str(self.sockets),
                 "-p", str(self.port), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                 "-c", "max_connections=300", "-c", "shared_buffers=32MB"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(self.root),
                **self._as_user())
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                psycopg.connect(self.admin_url, connect_timeout=2).close()
                return self
            except psycopg.OperationalError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"postgres did not start: {self.log.read_text()[-2000:]}")
                time.sleep(0.05)

    def stop(self, mode: int = signal.SIGINT) -> None:
        """SIGINT is PostgreSQL's fast shutdown (disconnects every client); SIGKILL is a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(mode)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def new_database(self, prefix: str = "t") -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> PostgresServer | None:
    """A started throw-away server, or None when PostgreSQL's binaries are not installed."""
    bindir = find_bindir()
    if bindir is None:
        return None
    server = PostgresServer(bindir)
    try:
        return server.start()
    except BaseException:
        server.remove()
        raise
