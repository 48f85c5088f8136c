"""Where registry credentials come from, and the token (Bearer) challenge most public registries send."""
from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from compspec.oci import RegistryError
from compspec.oci.client import RegistryClient
from compspec.oci.credentials import find_credentials
from compspec.oci.reference import parse_reference


def _auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def test_order_and_forms(tmp_path):
    docker = tmp_path / "docker"
    docker.mkdir(exist_ok=True)
    (docker / "config.json").write_text(json.dumps({"auths": {
        "127.0.0.1:5000": {"auth": _auth("ann", "pw:with:colons")},
        "https://index.docker.io/v1/": {"auth": _auth("hub", "hubpw")},
        "registry.example.org": {"username": "bob", "password": "bobpw"}}}))
    podman = tmp_path / "auth.json"
    podman.write_text(json.dumps({"auths": {"127.0.0.1:5000": {"auth": _auth("pod", "podpw")}}}))
    env = {"DOCKER_CONFIG": str(docker)}
    found = find_credentials("127.0.0.1:5000", env)
    assert (found.username, found.password) == ("ann", "pw:with:colons") and "config.json" in found.source
    assert (find_credentials("docker.io", env).username, find_credentials("registry.example.org", env).password) == \
        ("hub", "bobpw")
    assert find_credentials("other:1", env) is None
    assert find_credentials("127.0.0.1:5000", env | {"REGISTRY_AUTH_FILE": str(podman)}).username == "pod"
    assert find_credentials("127.0.0.1:5000", env | {"ORAS_USER": "o", "ORAS_PASS": "p"}).username == "o"
    assert find_credentials("127.0.0.1:5000", {"DOCKER_CONFIG": str(tmp_path / "none")}) is None


def test_bad_files_are_one_line_errors(tmp_path):
    (tmp_path / "config.json").write_text('{"auths": {"r:1": {"auth": "***"}}}')
    with pytest.raises(RegistryError, match=r"auths.r:1: auth is not base64 of user:password"):
        find_credentials("r:1", {"DOCKER_CONFIG": str(tmp_path)})
    (tmp_path / "config.json").write_text('{"auths": [')
    with pytest.raises(RegistryError, match="config.json: not valid JSON"):
        find_credentials("r:1", {"DOCKER_CONFIG": str(tmp_path)})


class _TokenRegistry(BaseHTTPRequestHandler):
    """A registry front that asks for a Bearer token, and the token service that hands one for ann's password."""

    TOKEN = "tok-123"

    def log_message(self, *args):
        pass

    def _reply(self, code: int, body: bytes = b"", headers: dict | None = None):
        self.send_response(code)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        host = self.headers["Host"]
        if self.path.startswith("/token"):
            good = self.headers.get("Authorization") == f"Basic {_auth('ann', 'pw')}"
            return self._reply(200 if good else 401, json.dumps({"token": self.TOKEN}).encode() if good else b"")
        if self.path == "/v2/":
            return self._reply(200, b"{}")
        if self.headers.get("Authorization") != f"Bearer {self.TOKEN}":
            return self._reply(401, headers={"WWW-Authenticate": f'Bearer realm="http://{host}/token",'
                                                                 'service="test",scope="repository:app:pull"'})
        return self._reply(404)


@pytest.fixture
def token_registry():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_bearer_challenge_is_answered_with_a_token(token_registry, tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"auths": {token_registry: {"auth": _auth("ann", "pw")}}}))
    client = RegistryClient(token_registry, env={"DOCKER_CONFIG": str(tmp_path)})
    assert client.manifest(parse_reference(f"{token_registry}/app:v1")) is None  # authorised: a plain 404
    assert client._authorization == f"Bearer {_TokenRegistry.TOKEN}"
    anonymous = RegistryClient(token_registry, env={"DOCKER_CONFIG": str(tmp_path / "none")})
    with pytest.raises(RegistryError, match="token service answered 401 \\(no credentials found for it\\)"):
        anonymous.manifest(parse_reference(f"{token_registry}/app:v1"))
