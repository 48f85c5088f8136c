"""An in-memory registry that has what distribution 2.8 lacks: the OCI 1.1 referrers API (and the OCI-Subject
answer to a manifest with a subject). Just enough of the distribution API for compspec's calls; for the paths a
newer registry takes."""
from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

_ROUTE = re.compile(r"^/v2/(?P<name>.+)/(?P<kind>manifests|blobs|referrers)/(?P<ref>[^/]+)$")
_UPLOAD = re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/(?P<id>[^/]*)$")


class _Handler(BaseHTTPRequestHandler):
    registry: "FakeRegistry"

    def log_message(self, *args):
        pass

    def _reply(self, code: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(code)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        store = self.registry
        path = urlparse(self.path).path
        if path == "/v2/":
            return self._reply(200, b"{}")
        match = _ROUTE.match(path)
        if not match:
            return self._reply(404)
        name, kind, ref = match["name"], match["kind"], match["ref"]
        if kind == "blobs":
            data = store.blobs.get(ref)
            return self._reply(200, data) if data is not None else self._reply(404)
        if kind == "manifests":
            digest = store.tags.get((name, ref), ref)
            found = store.manifests.get(digest)
            if found is None:
                return self._reply(404)
            body, media_type = found
            return self._reply(200, body, {"Content-Type": media_type, "Docker-Content-Digest": digest})
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                 "manifests": store.referrers.get(ref, [])}
        return self._reply(200, json.dumps(index).encode(),
                           {"Content-Type": "application/vnd.oci.image.index.v1+json"})

    def do_POST(self):
        match = _UPLOAD.match(urlparse(self.path).path)
        if not match:
            return self._reply(404)
        return self._reply(202, headers={"Location": f"/v2/{match['name']}/blobs/uploads/{uuid.uuid4().hex}"})

    def do_PUT(self):
        store = self.registry
        url = urlparse(self.path)
        body = self._body()
        upload = _UPLOAD.match(url.path)
        if upload:
            digest = parse_qs(url.query)["digest"][0]
            store.blobs[digest] = body
            return self._reply(201)
        match = _ROUTE.match(url.path)
        if not match or match["kind"] != "manifests":
            return self._reply(404)
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        media_type = self.headers.get("Content-Type", "")
        store.manifests[digest] = (body, media_type)
        if not match["ref"].startswith("sha256:"):
            store.tags[(match["name"], match["ref"])] = digest
        doc = json.loads(body)
        headers = {"Docker-Content-Digest": digest}
        if doc.get("subject"):
            store.referrers.setdefault(doc["subject"]["digest"], []).append(
                {"mediaType": media_type, "digest": digest, "size": len(body),
                 "artifactType": doc.get("artifactType", ""), "annotations": doc.get("annotations", {})})
            headers["OCI-Subject"] = doc["subject"]["digest"]
        return self._reply(201, headers=headers)


class FakeRegistry:
    def __init__(self):
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[str, tuple[bytes, str]] = {}
        self.tags: dict[tuple[str, str], str] = {}
        self.referrers: dict[str, list[dict]] = {}
        handler = type("Handler", (_Handler,), {"registry": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
