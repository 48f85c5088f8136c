"""Bad TLS files are named in one line before gRPC sees them, and gRPC's own log lines never reach stderr."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from certs import TestCA

LAUNCH = "import sys; from rainbow.cli import main; sys.exit(main())"
# What gRPC's C core writes when it logs: "E1202 14:49:38.673527   23064 file.cc:1558] ..."
CORE_LOG = re.compile(r"^[EWID]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\]", re.M)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tlsfiles")
    ca = TestCA(directory)
    other = TestCA(directory / "other", name="other CA")
    (directory / "cert.json").write_text('{"certificate": "no"}\n')
    (directory / "ca.txt").write_text("not a certificate\n")
    return {"dir": directory, "ca": ca.ca_path, "server": ca.issue("server", "localhost", server=True),
            "other": other.issue("other", "localhost", server=True), "json": str(directory / "cert.json"),
            "text": str(directory / "ca.txt")}


def rainbow(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAINBOW_", "GRPC_"))}
    return subprocess.run([sys.executable, "-c", LAUNCH, *map(str, args)], capture_output=True, text=True,
                          timeout=60, env=env, cwd=cwd)


def one_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def serve(tmp_path, *args) -> subprocess.CompletedProcess:
    return rainbow("serve", "--port", "0", "--secret", "s", "--db", tmp_path / "x.db", *args, cwd=tmp_path)


def test_serve_json_as_certificate(files, tmp_path):
    line = one_line(serve(tmp_path, "--tls-cert", files["json"], "--tls-key", files["server"].key))
    assert line == f"Error: --tls-cert {files['json']}: not a PEM certificate"
    assert not (tmp_path / "x.db").exists(), "checked before the store is opened"


def test_serve_text_as_ca(files, tmp_path):
    line = one_line(serve(tmp_path, "--tls-cert", files["server"].cert, "--tls-key", files["server"].key,
                          "--tls-ca", files["text"]))
    assert line == f"Error: --tls-ca {files['text']}: not a PEM certificate"


def test_serve_certificate_as_key(files, tmp_path):
    line = one_line(serve(tmp_path, "--tls-cert", files["server"].cert, "--tls-key", files["server"].cert))
    assert line == f"Error: --tls-key {files['server'].cert}: not a PEM private key"


def test_serve_key_of_another_certificate(files, tmp_path):
    line = one_line(serve(tmp_path, "--tls-cert", files["server"].cert, "--tls-key", files["other"].key))
    assert line.startswith(f"Error: --tls-key {files['other'].key}: not the (unencrypted) private key of --tls-cert")


def test_client_bad_ca(files):
    line = one_line(rainbow("jobs", "--host", "127.0.0.1:1", "--cluster-name", "a", "--cluster-secret", "b",
                            "--tls-ca", files["text"]))
    assert line == f"Error: --tls-ca {files['text']}: not a PEM certificate"


def test_client_bad_certificate(files):
    line = one_line(rainbow("jobs", "--host", "127.0.0.1:1", "--cluster-name", "a", "--cluster-secret", "b",
                            "--tls-ca", files["ca"], "--tls-cert", files["json"], "--tls-key", files["server"].key))
    assert line == f"Error: --tls-cert {files['json']}: not a PEM certificate"


def test_no_grpc_log_lines_when_tls_meets_plaintext(files, rainbow_server):
    done = rainbow("jobs", "--host", rainbow_server.address, "--cluster-name", "a", "--cluster-secret", "b",
                   "--tls-ca", files["ca"], "--server-name", "localhost", "--timeout", "3")
    assert done.returncode == 1
    assert not CORE_LOG.search(done.stderr), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_no_grpc_log_lines_from_a_tls_server_given_plaintext(files, server_factory):
    server = server_factory(extra_args=["--tls-cert", files["server"].cert, "--tls-key", files["server"].key])
    done = rainbow("jobs", "--host", server.address, "--cluster-name", "a", "--cluster-secret", "b",
                   "--timeout", "3")
    assert done.returncode == 1 and not CORE_LOG.search(done.stderr), done.stderr
    server.stop()
    assert not CORE_LOG.search(server.stderr()), server.stderr()
