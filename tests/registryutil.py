"""A real OCI registry (Debian's `docker-registry`, distribution 2.8) for tests, on a free loopback port.

    registry = start_registry(tmp_path)                     # anonymous
    registry = start_registry(tmp_path, users={"ann": "pw"})  # htpasswd basic auth
    registry = start_registry(tmp_path, tls=(cert, key))      # HTTPS
    registry.address                                        # "127.0.0.1:PORT"
    registry.stop(); registry.start()                       # same port, same storage

It runs in the foreground as a child of the test process and is stopped by its PID.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import bcrypt
import yaml

BINARY = "docker-registry"
START_TIMEOUT = 20.0


def available() -> bool:
    return shutil.which(BINARY) is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Registry:
    def __init__(self, workdir: Path, users: dict[str, str] | None = None, tls: tuple[str, str] | None = None):
        self.workdir = workdir
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        config = {"version": 0.1, "log": {"level": "error"},
                  "storage": {"filesystem": {"rootdirectory": str(workdir / "data")}, "delete": {"enabled": True}},
                  "http": {"addr": self.address}}
        if tls:
            config["http"]["tls"] = {"certificate": tls[0], "key": tls[1]}
        if users:
            htpasswd = workdir / "htpasswd"
            htpasswd.write_text("".join(f"{user}:{bcrypt.hashpw(pw.encode(), bcrypt.gensalt(4)).decode()}\n"
                                        for user, pw in users.items()))
            config["auth"] = {"htpasswd": {"realm": "test-registry", "path": str(htpasswd)}}
        self.config = workdir / "config.yml"
        self.config.write_text(yaml.safe_dump(config))

    def start(self) -> None:
        self.log = open(self.workdir / "registry.log", "ab")
        self.process = subprocess.Popen([BINARY, "serve", str(self.config)], stdout=self.log,
                                        stderr=subprocess.STDOUT, cwd=self.workdir)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {(self.workdir / 'registry.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"http://{self.address}/v2/", timeout=1).close()
                return
            except urllib.error.HTTPError:
                return  # 401: up, and asking for credentials
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not answer")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
        self.log.close()


def start_registry(workdir: Path, users: dict[str, str] | None = None,
                   tls: tuple[str, str] | None = None) -> Registry:
    """`tls`: (certificate, key) PEM files to serve HTTPS with."""
    workdir.mkdir(parents=True, exist_ok=True)
    registry = Registry(workdir, users, tls)
    registry.start()
    return registry
