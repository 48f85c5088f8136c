"""Registry credentials, where the container tools keep them.

In order: ORAS_USER and ORAS_PASS (the ORAS SDK's variables); the file REGISTRY_AUTH_FILE names (Podman, Skopeo,
Buildah); `config.json` in DOCKER_CONFIG, else ~/.docker/config.json. A file's `auths` are keyed by registry
(`host:port`, or a URL such as https://index.docker.io/v1/ for Docker Hub); `auth` is base64 of user:password.
Credential helpers (`credsStore`, `credHelpers`) are not run.
"""
from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from compspec import documents
from compspec.oci import RegistryError
from compspec.schemas import FormatError

_HUB_KEYS = ("docker.io", "index.docker.io", "https://index.docker.io/v1/", "registry-1.docker.io")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    source: str

    def basic(self) -> str:
        return base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


def config_files(env: Mapping[str, str] | None = None) -> list[Path]:
    """The credential files to read, in order; those that do not exist are left out."""
    env = os.environ if env is None else env
    found = []
    if env.get("REGISTRY_AUTH_FILE"):
        found.append(Path(env["REGISTRY_AUTH_FILE"]))
    docker_dir = Path(env["DOCKER_CONFIG"]) if env.get("DOCKER_CONFIG") else Path.home() / ".docker"
    found.append(docker_dir / "config.json")
    return [p for p in found if p.is_file()]


def _keys_for(registry: str) -> list[str]:
    keys = [registry, f"https://{registry}", f"http://{registry}"]
    if registry == "docker.io":
        keys += list(_HUB_KEYS)
    return keys


def _entry_credentials(entry: Mapping[str, str], where: str) -> Credentials | None:
    if entry.get("auth"):
        try:
            user, sep, password = base64.b64decode(entry["auth"], validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise RegistryError(f"{where}: auth is not base64 of user:password") from None
        if not sep:
            raise RegistryError(f"{where}: auth is not base64 of user:password")
        return Credentials(user, password, where)
    if entry.get("username") and entry.get("password"):
        return Credentials(entry["username"], entry["password"], where)
    return None


def find_credentials(registry: str, env: Mapping[str, str] | None = None) -> Credentials | None:
    """The credentials for `registry` (host:port as in the reference), or None to go anonymous."""
    env = os.environ if env is None else env
    if env.get("ORAS_USER") and env.get("ORAS_PASS"):
        return Credentials(env["ORAS_USER"], env["ORAS_PASS"], "ORAS_USER/ORAS_PASS")
    for path in config_files(env):
        try:
            doc = documents.read(path, syntax="json", kind=dict, schema="docker-config")
        except FormatError as exc:
            raise RegistryError(str(exc)) from None
        auths = doc.get("auths") or {}
        for key in _keys_for(registry):
            if key in auths:
                found = _entry_credentials(auths[key], f"{path}: auths.{key}")
                if found:
                    return found
    return None
