"""Image references as docker reads them: `[registry[:port]/]path[:tag][@sha256:hex]`.

The first component is a registry when it has a dot or a port or is `localhost` (so `127.0.0.1:5000/app:1.0` is
registry 127.0.0.1:5000, repository app, tag 1.0, where a split on the first colon goes wrong). Without one the
registry is docker.io, and a one-word repository there lives under `library/`. Without a tag or digest the tag is
`latest`.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace

from compspec.oci import RegistryError, settings

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_HOST = re.compile(r"^(?:\[[0-9A-Fa-f:]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::\d{1,5})?$")
_SCHEMES = ("docker://", "oci://", "oras://")


@dataclass(frozen=True)
class Reference:
    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        out = f"{self.registry}/{self.repository}"
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    @property
    def name(self) -> str:
        """registry/repository, without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def host(self) -> str:
        """The registry's host name without its port."""
        if self.registry.startswith("["):
            return self.registry[1:self.registry.index("]")]
        return self.registry.rsplit(":", 1)[0] if ":" in self.registry else self.registry

    @property
    def pinned(self) -> bool:
        """Names content by digest, so what it resolves to never changes."""
        return self.digest is not None

    def at(self, tag: str | None = None, digest: str | None = None) -> "Reference":
        """The same repository at another tag or digest."""
        return replace(self, tag=tag, digest=digest)

    def artifact_tag(self) -> "Reference | None":
        """compspec-go's convention: the artifact of IMAGE:TAG is IMAGE:TAG-compspec (none for a digest alone)."""
        if not self.tag:
            return None
        return self.at(tag=f"{self.tag}{settings()['tag_suffix']}"[:128])


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_reference(text: str) -> Reference:
    """A reference with its defaults filled in; RegistryError says what is wrong with one that is not valid."""
    raw = text.strip()
    for scheme in _SCHEMES:
        if raw.startswith(scheme):
            raw = raw[len(scheme):]
            break
    if not raw:
        raise RegistryError("image reference: empty")
    rest, digest = raw, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.match(digest):
            raise RegistryError(f"image {text}: digest {digest!r} is not sha256: and 64 hex digits")
    registry = ""
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        if not _HOST.match(first):
            raise RegistryError(f"image {text}: registry {first!r} is not a host name with an optional port")
        registry, rest = first, remainder
    tag = None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG.match(tag):
            raise RegistryError(f"image {text}: tag {tag!r} is not a valid tag")
    defaults = settings()
    if not registry:
        registry = defaults["default_registry"]
    if registry in ("index.docker.io", "registry-1.docker.io"):
        registry = "docker.io"
    if registry == defaults["default_registry"] and "/" not in rest and defaults["default_namespace"]:
        rest = f"{defaults['default_namespace']}/{rest}"
    if not _PATH.match(rest):
        raise RegistryError(f"image {text}: repository {rest!r} must be lowercase path components "
                            "(letters, digits, . _ -) separated by /")
    if tag is None and digest is None:
        tag = defaults["default_tag"]
    return Reference(registry, rest, tag, digest)
