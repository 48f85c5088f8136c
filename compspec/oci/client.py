"""One registry, spoken to through the ORAS SDK's client (`oras.provider.Registry`).

The SDK uploads blobs and parses references; this subclass adds what it lacks: it answers a registry's `Basic`
challenge (the SDK's token backend only knows `Bearer`, and its basic backend sends credentials it may not have),
it never retries a refused connection (the SDK retries any failure five times, sleeping up to 83 seconds between
tries), it bounds every read (a registry decides what it sends), it picks plain HTTP only for hosts allowed to use
it, and it speaks the OCI 1.1 referrers API with its tag-schema fallback, which the SDK has no call for.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import oras.auth.utils
import oras.container
import oras.provider
import requests
import urllib3

from compspec import documents
from compspec.oci import RegistryError, settings
from compspec.oci.credentials import Credentials, find_credentials
from compspec.oci.reference import Reference, is_loopback
from compspec.schemas import FormatError

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
ACCEPT = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST)
EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"


class Unreachable(RegistryError):
    """No connection to the registry (refused, timed out, name not found)."""


class TlsError(RegistryError):
    """The TLS handshake failed; `untrusted` when only the certificate's issuer was not trusted."""

    def __init__(self, message: str, untrusted: bool = False):
        super().__init__(message)
        self.untrusted = untrusted


@dataclass(frozen=True)
class Manifest:
    """A manifest as the registry served it: parsed, with its digest, media type and size."""

    document: dict[str, Any]
    digest: str
    media_type: str
    size: int

    def descriptor(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.document.get("artifactType"):
            out["artifactType"] = self.document["artifactType"]
        return out


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def endpoint(registry: str) -> str:
    """The host:port that serves a registry's API (Docker Hub's references say docker.io)."""
    return settings()["endpoints"].get(registry, registry)


def oras_container(ref: Reference) -> oras.container.Container:
    """The SDK's view of a reference, set field by field (its parser takes `my.org/app` for a registry)."""
    container = oras.container.Container(ref.repository.rsplit("/", 1)[-1], registry=endpoint(ref.registry))
    container.registry = endpoint(ref.registry)
    namespace, _, repository = ref.repository.rpartition("/")
    container.namespace = namespace or None
    container.repository = repository
    container.tag = ref.tag or settings()["default_tag"]
    container.digest = ref.digest
    return container


class RegistryClient(oras.provider.Registry):
    """The ORAS SDK's registry client for one registry (host:port), with the additions this module describes."""

    def __init__(self, registry: str, insecure_hosts: Iterable[str] = (), env: Mapping[str, str] | None = None):
        host = Reference(registry, "x").host
        allowed = {h.strip() for h in insecure_hosts if h.strip()}
        self.loopback = is_loopback(host)
        self.allow_http = self.loopback or host in allowed or registry in allowed
        super().__init__(hostname=registry, insecure=False)
        self.registry = registry
        self.endpoint = endpoint(registry)
        self.credentials: Credentials | None = find_credentials(registry, env)
        self._authorization: str | None = None
        self._scheme: str | None = None
        self._timeout = (settings()["connect_timeout"], settings()["read_timeout"])

    # -- transport ------------------------------------------------------------------------------------------------

    @property
    def prefix(self) -> str:  # the SDK builds URLs from this
        if self._scheme is None:
            self._scheme = self._pick_scheme()
        return self._scheme

    @prefix.setter
    def prefix(self, value: str) -> None:
        pass  # the SDK sets it once in its constructor; the scheme is chosen on first use instead

    def _pick_scheme(self) -> str:
        """HTTPS; a host named insecure, as docker treats it, gets TLS without a certificate check when its
        certificate is not trusted, and plain HTTP when it does not speak TLS.

        A loopback registry is asked in plain HTTP first: nothing on the way can read or change it, and trying TLS
        first costs more than the request (loading the CA bundle). A TLS registry answers such a request 400.
        """
        if self.allow_http and self.loopback:
            try:
                response = self._send("GET", f"http://{self.endpoint}/v2/", None, {}, None, False)
                response.close()
                if response.status_code != 400:
                    return "http"
            except RegistryError:
                pass
        try:
            self._send("GET", f"https://{self.endpoint}/v2/", None, {}, None, False).close()
            return "https"
        except TlsError as exc:
            if not self.allow_http:
                raise
            if exc.untrusted:  # as docker treats an insecure registry: TLS without checking whose certificate
                self._tls_verify = False
                urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # asked for: no warning per call
                self._send("GET", f"https://{self.endpoint}/v2/", None, {}, None, False).close()
                return "https"
        except RegistryError:
            if not self.allow_http:
                raise
        self._send("GET", f"http://{self.endpoint}/v2/", None, {}, None, False).close()
        return "http"

    def _send(self, method: str, url: str, data: Any, headers: dict, json_body: Any,
              stream: bool) -> requests.Response:
        try:
            return self.session.request(method, url, data=data, json=json_body, headers=headers, stream=stream,
                                        timeout=self._timeout, allow_redirects=True, verify=self._tls_verify)
        except requests.exceptions.SSLError as exc:
            reason = str(exc.args[0]) if exc.args else "handshake failed"
            untrusted = "CERTIFICATE_VERIFY_FAILED" in reason
            if "WRONG_VERSION_NUMBER" in reason or "wrong version number" in reason:
                reason = "it does not speak TLS (a plain HTTP registry: name it with --insecure-registry)"
            elif untrusted:
                reason = ("its certificate is not trusted (name its CA with REQUESTS_CA_BUNDLE, or the registry "
                          "with --insecure-registry)")
            raise TlsError(f"registry {self.registry}: TLS failed: {_short(reason)}", untrusted) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise Unreachable(f"registry {self.registry} unreachable ({_why(exc)})") from None
        except requests.exceptions.RequestException as exc:
            raise RegistryError(f"registry {self.registry}: {_short(str(exc))}") from None

    def do_request(self, url: str, method: str = "GET", data: Any = None, headers: dict | None = None,
                   json: Any = None, stream: bool = False) -> requests.Response:
        headers = dict(headers or {})
        if self._authorization:
            headers["Authorization"] = self._authorization
        response = self._send(method, url, data, headers, json, stream)
        if response.status_code != 401:
            return response
        challenge = response.headers.get("WWW-Authenticate", "")
        response.close()
        self._authorization = self._answer(challenge)
        headers["Authorization"] = self._authorization
        response = self._send(method, url, data, headers, json, stream)
        if response.status_code == 401:
            response.close()
            raise RegistryError(f"registry {self.registry} refused the credentials from {self.credentials.source}"
                                if self.credentials else f"registry {self.registry} needs credentials")
        return response

    def _answer(self, challenge: str) -> str:
        """The Authorization header that answers a 401's challenge."""
        scheme = challenge.split(" ", 1)[0].lower()
        if scheme == "basic":
            if not self.credentials:
                raise RegistryError(f"registry {self.registry} needs credentials (none for it in the docker config "
                                    "file, REGISTRY_AUTH_FILE or ORAS_USER/ORAS_PASS)")
            return f"Basic {self.credentials.basic()}"
        if scheme == "bearer":
            return f"Bearer {self._token(oras.auth.utils.parse_auth_header(challenge))}"
        raise RegistryError(f"registry {self.registry} asks for {scheme or 'an unnamed'} authentication, "
                            "which compspec does not speak")

    def _token(self, header: Any) -> str:
        if not header.realm or not header.realm.startswith(("https://", "http://")):
            raise RegistryError(f"registry {self.registry}: its token challenge names no realm URL")
        params = {k: v for k, v in (("service", header.service), ("scope", header.scope)) if v}
        extra = {"Authorization": f"Basic {self.credentials.basic()}"} if self.credentials else {}
        reply = self._send("GET", header.realm, None, extra, None, False)
        if reply.status_code != 200:
            raise RegistryError(f"registry {self.registry}: token service answered {reply.status_code}"
                                + ("" if self.credentials else " (no credentials found for it)"))
        try:
            body = reply.json()
            token = body.get("token") or body.get("access_token")
        except ValueError:
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"registry {self.registry}: token service sent no token")
        return token

    def _read(self, response: requests.Response, limit: int, what: str) -> bytes:
        """A response body, refused once it passes `limit` bytes."""
        with response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise RegistryError(f"{what} is {int(declared)} bytes, over the limit of {limit}")
            body = response.raw.read(limit + 1, decode_content=True)
        if len(body) > limit:
            raise RegistryError(f"{what} is over the limit of {limit} bytes")
        return body

    def _url(self, ref: Reference, kind: str, name: str) -> str:
        return f"{self.prefix}://{self.endpoint}/v2/{ref.repository}/{kind}/{name}"

    def _check(self, response: requests.Response, what: str) -> None:
        if response.status_code >= 400:
            detail = ""
            try:
                errors = response.json().get("errors") or []
                detail = "; ".join(str(e.get("message") or e.get("code")) for e in errors if isinstance(e, dict))
            except ValueError:
                pass
            response.close()
            raise RegistryError(f"{what}: registry answered {response.status_code} {response.reason}"
                                + (f" ({_short(detail)})" if detail else ""))

    # -- reading ----------------------------------------------------------------------------------------------

    def manifest(self, ref: Reference, accept: Sequence[str] = ACCEPT) -> Manifest | None:
        """The manifest `ref` names (its digest if it has one, else its tag); None when the registry has none."""
        name = ref.digest or ref.tag or settings()["default_tag"]
        response = self.do_request(self._url(ref, "manifests", name), "GET", headers={"Accept": ", ".join(accept)},
                                   stream=True)
        if response.status_code == 404:
            response.close()
            return None
        self._check(response, f"manifest {ref}")
        body = self._read(response, settings()["max_manifest_bytes"], f"manifest {ref}")
        digest = sha256(body)
        if ref.digest and digest != ref.digest:
            raise RegistryError(f"manifest {ref}: content has digest {digest}, not the one asked for")
        try:
            doc = documents.load(body, f"manifest {ref}", syntax="json", kind=dict, schema="oci-manifest")
        except FormatError as exc:
            raise RegistryError(str(exc)) from None
        media_type = doc.get("mediaType") or response.headers.get("Content-Type", "").split(";")[0] or OCI_MANIFEST
        return Manifest(doc, digest, media_type, len(body))

    def blob(self, ref: Reference, descriptor: Mapping[str, Any], limit: int, what: str) -> bytes:
        """A blob's bytes, checked against the descriptor's digest, refused over `limit` bytes."""
        digest = descriptor["digest"]
        if descriptor.get("size", 0) > limit:
            raise RegistryError(f"{what} is {descriptor['size']} bytes, over the limit of {limit}")
        response = self.do_request(self._url(ref, "blobs", digest), "GET", stream=True)
        self._check(response, what)
        body = self._read(response, limit, what)
        if sha256(body) != digest:
            raise RegistryError(f"{what}: content does not have digest {digest}")
        return body

    def referrers(self, ref: Reference, digest: str, artifact_types: Sequence[str]) -> list[dict[str, Any]]:
        """Descriptors of the manifests whose subject is `digest`, of one of `artifact_types`.

        The referrers API (OCI distribution 1.1) first; a registry without it (404) keeps them in an index at the
        tag `sha256-<hex>` (the referrers tag schema).
        """
        response = self.do_request(self._url(ref, "referrers", digest), "GET", headers={"Accept": OCI_INDEX},
                                   stream=True)
        index: Manifest | dict[str, Any] | None
        if response.status_code == 200 and response.headers.get("Content-Type", "").startswith(OCI_INDEX):
            body = self._read(response, settings()["max_manifest_bytes"], f"referrers of {ref}")
            try:
                index = documents.load(body, f"referrers of {ref}", syntax="json", kind=dict, schema="oci-manifest")
            except FormatError as exc:
                raise RegistryError(str(exc)) from None
        else:
            response.close()
            found = self.manifest(ref.at(tag=fallback_tag(digest)), accept=(OCI_INDEX,))
            index = found.document if found else None
        manifests = (index or {}).get("manifests") or []
        return [m for m in manifests if m.get("artifactType") in artifact_types]

    # -- writing ----------------------------------------------------------------------------------------------

    def upload(self, ref: Reference, data: bytes, media_type: str) -> dict[str, Any]:
        """Put a blob in `ref`'s repository through the SDK's upload; its descriptor."""
        layer = {"mediaType": media_type, "digest": sha256(data), "size": len(data)}
        with tempfile.TemporaryDirectory(prefix="compspec-push-") as tmp:
            path = os.path.join(tmp, "blob")
            with open(path, "wb") as handle:
                handle.write(data)
            response = self.upload_blob(path, oras_container(ref), layer)
        if response.status_code not in (200, 201, 202):
            self._check(response, f"blob upload to {ref.name}")
            raise RegistryError(f"blob upload to {ref.name}: registry answered {response.status_code}")
        return layer

    def put_manifest(self, ref: Reference, document: Mapping[str, Any], media_type: str) -> tuple[str, bool]:
        """Put a manifest at `ref`'s tag (or by its own digest); its digest, and whether the registry took note of
        its subject (the OCI-Subject header: without it, referrers must be listed at the fallback tag)."""
        body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
        digest = sha256(body)
        response = self.do_request(self._url(ref, "manifests", ref.tag or digest), "PUT", data=body,
                                   headers={"Content-Type": media_type})
        self._check(response, f"manifest upload to {ref}")
        response.close()
        return digest, bool(response.headers.get("OCI-Subject"))


def fallback_tag(digest: str) -> str:
    """The referrers tag schema's tag for a subject digest: sha256:abc… → sha256-abc…"""
    algorithm, _, hex_digits = digest.partition(":")
    return f"{algorithm}-{hex_digits}"[:128]


def _why(exc: Exception) -> str:
    text = str(exc)
    for marker, reason in (("Connection refused", "connection refused"), ("timed out", "timed out"),
                           ("Name or service not known", "host not found"),
                           ("Temporary failure in name resolution", "host not found"),
                           ("No route to host", "no route to host")):
        if marker in text:
            return reason
    return _short(type(exc).__name__)


def _short(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= 160 else line[:157] + "..."
