"""The HTTP port's guard and transport, and JSON logs: a credential when asked for (viewer token or registration
secret, Basic or Bearer), HTTPS with the server's certificate, one JSON object per log event."""
from __future__ import annotations

import json
import ssl

import pytest

from certs import TestCA
from serverutil import DEFAULT_SECRET

from .conftest import http_get

VIEWER = "a-viewer-token"


def test_credential_required_when_asked(server_factory):
    server = server_factory(extra_args=["--http-port", "0", "--http-auth", "always", "--viewer-token", VIEWER])
    url = server.http_url
    for path in ("", "metrics", "?job=1"):
        status, body, headers = http_get(url + path)
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic realm=")
        assert VIEWER not in body and DEFAULT_SECRET not in body
        assert http_get(url + path, "wrong")[0] == 401
        assert http_get(url + path, VIEWER)[0] == 200
        assert http_get(url + path, DEFAULT_SECRET, bearer=True)[0] == 200
    assert http_get(url + "nothing-here", VIEWER)[0] == 404
    stderr = server.stderr()
    assert VIEWER not in stderr and VIEWER not in server.stdout()


def test_loopback_needs_no_credential_by_default(server_factory):
    server = server_factory(extra_args=["--http-port", "0"])
    status, body, headers = http_get(server.http_url)
    assert status == 200 and "rainbow status" in body
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert headers["Cache-Control"] == "no-store"


def test_https_with_the_server_certificate(server_factory, tmp_path):
    ca = TestCA(tmp_path / "ca")
    cert = ca.issue("server", "localhost", server=True)
    server = server_factory(extra_args=["--http-port", "0", "--tls-cert", cert.cert, "--tls-key", cert.key])
    assert server.http_url.startswith("https://127.0.0.1:")
    context = ssl.create_default_context(cafile=ca.ca_path)
    status, body, _ = http_get(server.http_url + "metrics", context=context)
    assert status == 200 and "rainbow_store_up 1.0" in body
    with pytest.raises(OSError):  # plain HTTP to the HTTPS port: the connection is refused in the handshake
        http_get(server.http_url.replace("https://", "http://"))
    # A client that connects and says nothing holds up nobody else.
    import socket

    with socket.create_connection(("127.0.0.1", int(server.http_url.rsplit(":", 1)[1].strip("/")))):
        assert http_get(server.http_url, context=context)[0] == 200


def test_http_port_in_use_is_one_line(server_factory, tmp_path):
    import socket

    from serverutil import ServerError, start_server

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        with pytest.raises(ServerError) as err:
            start_server(tmp_path / "busy", extra_args=["--http-port", str(port)])
    assert "--http-port: cannot listen on 127.0.0.1:" in str(err.value) and "Traceback" not in str(err.value)


def test_json_logs_one_object_per_event(server_factory):
    server = server_factory(extra_args=["--log-format", "json"])
    server.stop()
    lines = [line for line in server.stderr().splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]
    assert len(events) >= 3
    assert all(set(e) >= {"time", "level", "logger", "message"} and e["time"].endswith("Z") for e in events)
    assert any(e["message"].startswith("serving on 127.0.0.1:") for e in events)
    assert events[-1]["message"] == "stopped"


def test_http_settings_from_the_config_file(server_factory, tmp_path):
    config = tmp_path / "rainbow-config.yaml"
    config.write_text("http:\n  port: 0\n  auth: always\n  viewer_token: from-the-file\nlog:\n  format: json\n")
    server = server_factory(extra_args=["--config-path", str(config)])
    assert server.http_url.startswith("http://127.0.0.1:")
    assert http_get(server.http_url)[0] == 401
    assert http_get(server.http_url, "from-the-file")[0] == 200
    assert json.loads(server.stderr().splitlines()[0])["level"] == "info"


def test_the_admin_token_may_look_too(server_factory):
    from .conftest import rainbow_cli

    server = server_factory(extra_args=["--http-port", "0", "--http-auth", "always", "--admin-token", "adm-tok"])
    assert http_get(server.http_url, "adm-tok")[0] == 200
    assert http_get(server.http_url, "adm-to")[0] == 401
    done = rainbow_cli("status", "--host", server.address, "--admin-token", "adm-tok", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["clusters"] == []
