"""A throw-away PostgreSQL server for tests: initdb into a temporary folder, run it in the foreground as a child
on a free loopback port, and remove everything afterwards.

PostgreSQL refuses to run as root; as root (CI machines) its binaries run as the unprivileged user `nobody`.
Each test gets a fresh database of its own (`new_database`), so tests never see each other's rows.
"""
from __future__ import annotations

import functools
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


# As root, each PostgreSQL program runs in a mount namespace of its own with a private /dev (null, zero, random,
# shm), then drops to `nobody`: a shared machine's /dev/null being clobbered by some other root process (a regular
# file renamed over it) cannot break initdb's shell redirections.
_PRIVATE_DEV = ("mount -t tmpfs -o mode=755 tmpfs /dev && mknod -m 666 /dev/null c 1 3 && "
                "mknod -m 666 /dev/zero c 1 5 && mknod -m 666 /dev/random c 1 8 && "
                "mknod -m 666 /dev/urandom c 1 9 && mkdir -m 1777 /dev/shm && "
                f"exec setpriv --reuid={RUN_AS} --regid=nogroup --clear-groups \"$@\"")


@functools.lru_cache(maxsize=1)
def _namespaces_work() -> bool:
    if not (shutil.which("unshare") and shutil.which("setpriv")):
        return False
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", _PRIVATE_DEV, "sh",
                           "true"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return done.returncode == 0


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
        self._run([str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync",
                   "-E", "UTF8"], check=True)

    @staticmethod
    def _command(args: list[str]) -> tuple[list[str], dict]:
        """The command line and Popen arguments that run `args` as an unprivileged user; the last program exec'd
        is the PostgreSQL one, so signals sent to the child reach it directly."""
        if os.geteuid() != 0:
            return args, {}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": "/tmp"}
        if _namespaces_work():
            return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", _PRIVATE_DEV, "sh",
                    *args], {"env": env}
        return args, {"user": RUN_AS, "group": "nogroup", "extra_groups": [], "env": env}

    def _run(self, args: list[str], check: bool) -> None:
        command, extra = self._command(args)
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              cwd=str(self.root), **extra)
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
            command, extra = self._command(
                [str(self.bindir / "postgres"), "-D", str(self.data), "-k", str(self.sockets),
                 "-p", str(self.port), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                 "-c", "max_connections=300", "-c", "shared_buffers=32MB"])
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=str(self.root), **extra)
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
