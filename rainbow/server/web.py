"""The operator's HTTP port: `/metrics` for Prometheus and `/` the status page, served by the standard library's
threading HTTP server in a thread of its own beside the gRPC server.

Off a loopback address every request needs a credential (the viewer token or the registration secret) as HTTP Basic
(any user name, the credential as password; what a browser asks for) or `Authorization: Bearer`; with the server's
TLS certificate the port speaks HTTPS.
"""
from __future__ import annotations

import base64
import ipaddress
import logging
import ssl
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from prometheus_client import generate_latest

from rainbow.server.overview import build_overview, find_job
from rainbow.server.statuspage import render
from rainbow.store import MAX_JOB_ID, StoreError

log = logging.getLogger("rainbow.server")

# The classic text exposition format, which every Prometheus version reads.
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Sent with every answer: nothing is cached, framed, sniffed or loaded from elsewhere.
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'",
}


def is_loopback(host: str) -> bool:
    """True for an address only this machine reaches (127.0.0.0/8, ::1, localhost)."""
    name = host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass
class WebOptions:
    host: str = "127.0.0.1"
    port: int = 0
    tls_cert: str | None = None
    tls_key: str | None = None
    # "auto": a credential off loopback only; "always": on loopback too (a reverse proxy on the same host).
    auth: str = "auto"

    @property
    def needs_credential(self) -> bool:
        return self.auth == "always" or not is_loopback(self.host)

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"


def given_credential(header: str | None) -> str:
    """The credential of an Authorization header (Basic: the password; Bearer: the token); "" when none."""
    if not header:
        return ""
    kind, _, value = header.strip().partition(" ")
    kind = kind.lower()
    if kind == "bearer":
        return value.strip()
    if kind == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2]
    return ""


class _Handler(BaseHTTPRequestHandler):
    server_version = "rainbow"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection is closed after this many seconds
    web: "WebServer"  # set on the subclass each WebServer makes

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        log.debug("http %s %s", self.address_string(), format % args)

    def _send(self, status: HTTPStatus, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in {**_HEADERS, **(extra or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _text(self, status: HTTPStatus, text: str, extra: dict[str, str] | None = None) -> None:
        self._send(status, (text + "\n").encode(), "text/plain; charset=utf-8", extra)

    def _allowed(self) -> bool:
        if not self.web.options.needs_credential:
            return True
        if self.web.may_view(given_credential(self.headers.get("Authorization"))):
            return True
        self._text(HTTPStatus.UNAUTHORIZED, "a credential is needed: the viewer token or the registration secret",
                   {"WWW-Authenticate": 'Basic realm="rainbow", charset="UTF-8"'})
        return False

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        try:
            if not self._allowed():
                return
            if url.path == "/metrics":
                self._send(HTTPStatus.OK, generate_latest(self.web.registry), METRICS_CONTENT_TYPE)
            elif url.path == "/":
                self._page(parse_qs(url.query).get("job", [None])[0])
            else:
                self._text(HTTPStatus.NOT_FOUND, "not found: / is the status page, /metrics the metrics")
        except StoreError as exc:
            log.error("http %s: store error: %s", url.path, exc)
            self._text(HTTPStatus.SERVICE_UNAVAILABLE, "store unavailable")
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # a bug: one line in the log, a plain 500 to the browser, and keep serving
            log.error("http %s: internal error: %s: %s", url.path, type(exc).__name__, " ".join(str(exc).split())[:300])
            self._text(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")

    def _page(self, lookup: str | None) -> None:
        scheduler = self.web.scheduler
        job = error = None
        if lookup is not None:
            lookup = lookup.strip()[:20]
            if not lookup.isdigit() or not 0 < int(lookup) <= MAX_JOB_ID:
                error = f"{lookup!r} is not a job id (a whole number from 1)"
            else:
                job = find_job(scheduler, int(lookup))
        html = render(build_overview(scheduler), lookup=lookup, job=job, error=error)
        self._send(HTTPStatus.OK, html.encode("utf-8"), "text/html; charset=utf-8")

    def do_POST(self) -> None:
        self._text(HTTPStatus.METHOD_NOT_ALLOWED, "read only", {"Allow": "GET, HEAD"})

    do_PUT = do_DELETE = do_PATCH = do_POST


class _HTTPServer(ThreadingHTTPServer):
    """The threading server, with the TLS handshake done in each connection's own thread (so a client that connects
    and says nothing holds up only itself) and failed connections logged as one line, not a traceback."""

    daemon_threads = True
    ssl_context: ssl.SSLContext | None = None

    def finish_request(self, request, client_address) -> None:
        if self.ssl_context is not None:
            request.settimeout(_HANDSHAKE_SECONDS)
            request = self.ssl_context.wrap_socket(request, server_side=True)
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address) -> None:
        import sys

        error = sys.exc_info()[1]
        log.debug("http %s: connection failed: %s", client_address[0] if client_address else "?", error)


_HANDSHAKE_SECONDS = 10.0


class WebServer:
    """The HTTP port of one rainbow server."""

    def __init__(self, scheduler, registry, options: WebOptions, may_view: Callable[[str], bool] | None = None
                 ) -> None:
        self.scheduler = scheduler
        self.registry = registry
        self.options = options
        self.may_view = may_view or scheduler.may_view
        self.port = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        handler = type("Handler", (_Handler,), {"web": self})
        host = self.options.host.strip("[]")
        server_class = _HTTPServer
        if ":" in host:
            import socket

            server_class = type("HTTPServer6", (_HTTPServer,), {"address_family": socket.AF_INET6})
        context = None
        if self.options.tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(self.options.tls_cert, self.options.tls_key)
        httpd = server_class((host, self.options.port), handler)
        httpd.ssl_context = context
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="rainbow-http", daemon=True)
        self._thread.start()
        return self.port

    @property
    def url(self) -> str:
        host = self.options.host
        shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return f"{self.options.scheme}://{shown}:{self.port}/"

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd = None
