"""The rainbow config file (rainbow-config.yaml): read, validate, fill defaults, override from the environment, write.

The file is shared with the upstream Go tools, so it keeps their keys (formats.md §5); ours adds a top-level `host`
(the server address a client connects to) and `tls`, outside `scheduler`, whose unknown keys upstream's Python
client refuses. Precedence is flags over `RAINBOW_*` environment over the
file over the defaults: `load_config` gives file + defaults, `apply_env` lays the environment on top, and the CLI
lays its flags on top of that. The file holds secrets, so `save_config` writes it owner-only and atomically.
"""
from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from compspec import documents
from compspec.outfile import write_output
from compspec.schemas import FormatError, validate
from rainbow.address import DEFAULT_ADDRESS, DEFAULT_PORT, with_default_port  # noqa: F401  (re-exported)

DEFAULT_PATH = "rainbow-config.yaml"
"""Where the CLI looks when neither --config-path nor RAINBOW_CONFIG names a file (upstream's default)."""

CONFIG_ENV = "RAINBOW_CONFIG"

ADDRESS_KEYS = ("host", "graphdatabase.options.host", "graphdatabase.host")
"""Where a client finds the server's address, first found wins: ours, upstream Python's, upstream Go's."""


def validate_config(cfg: Any, what: str = "config") -> None:
    """Raise FormatError naming the first bad field of a config document."""
    validate("config", cfg, what, package="rainbow")


def default_config() -> dict[str, Any]:
    """A fresh copy of the defaults (the caller may change it freely)."""
    return copy.deepcopy(documents.package_data("rainbow", "default-config.yaml", schema="config"))


def env_keys() -> dict[str, str]:
    """The RAINBOW_* variables `apply_env` reads, each with the dotted config key it overrides."""
    return dict(documents.package_data("rainbow", "config-env.yaml"))


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Lay `over` on `base` key by key; a null or absent value in the file keeps the default."""
    out = dict(base)
    for key, value in over.items():
        if value is None:
            continue
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def read_config_file(path: str | Path | None) -> dict[str, Any]:
    """The settings a config file holds itself, validated (no defaults); a missing file (or None) holds none."""
    if path is None:
        return {}
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return {}
    doc = documents.read(path, f"config {path}")
    if doc is None:
        return {}
    validate_config(doc, f"config {path}")
    return doc


def load_config(path: str | Path | None) -> dict[str, Any]:
    """Read and validate a config file, filled out with the defaults; a missing file (or None) gives the defaults."""
    return with_defaults(read_config_file(path))


def with_defaults(on_file: Mapping[str, Any]) -> dict[str, Any]:
    """A config file's settings filled out with the defaults (a null or absent value keeps the default)."""
    return _merge(default_config(), on_file)


def set_dotted(cfg: dict[str, Any], dotted: str, value: Any) -> None:
    """Set the value at a dotted key such as "tls.ca", making the sections on the way."""
    node = cfg
    *parents, last = dotted.split(".")
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[last] = value


def get_dotted(cfg: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    """The value at a dotted key such as "cluster.secret", or `default` when any part is missing."""
    node: Any = cfg
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def server_address(cfg: Mapping[str, Any]) -> str:
    """The server a client talks to: our `host`, else upstream's graphdatabase.options.host (what upstream's Python
    client dials), else graphdatabase.host, else the default; without a port, the default port."""
    for key in ADDRESS_KEYS:
        value = get_dotted(cfg, key)
        if isinstance(value, str) and value:
            return with_default_port(value)
    return DEFAULT_ADDRESS


def set_address(cfg: dict[str, Any], address: str) -> None:
    """Write the server address where each reader looks: ours (host), upstream Python (graphdatabase.options.host)
    and upstream Go (graphdatabase.host)."""
    for key in ADDRESS_KEYS:
        set_dotted(cfg, key, address)


def apply_env(cfg: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A copy of `cfg` with every set, non-empty RAINBOW_* variable of `env_keys()` laid over it."""
    environ = os.environ if environ is None else environ
    out = copy.deepcopy(dict(cfg))
    for var, dotted in env_keys().items():
        value = environ.get(var)
        if value:
            set_dotted(out, dotted, value)
    return out


def save_config(path: str | Path, cfg: Mapping[str, Any]) -> None:
    """Validate and write `cfg` as YAML, replacing the file in one step and readable by its owner only."""
    cfg = dict(cfg)
    validate_config(cfg, f"config {path}")
    text = yaml.safe_dump(cfg, sort_keys=False, default_flow_style=False)
    write_output(path, text, mode=0o600, make_parents=True)


def credentials_conflict(cfg: Mapping[str, Any], name: str) -> str:
    """Why the credentials of cluster `name` cannot be saved into `cfg` ("" when they can).

    The `cluster` section is one cluster's home: when it already holds another cluster's secret or token, saving
    would clobber them. The CLI asks before registering, so a refused save never leaves a registered cluster
    whose secret was written nowhere.
    """
    own = cfg.get("cluster") or {}
    other = own.get("name") or ""
    if other and other != name and (own.get("secret") or own.get("token")):
        return f"the config already holds the credentials of cluster {other}"
    return ""


def add_cluster_credentials(cfg: Mapping[str, Any], name: str, token: str, secret: str) -> dict[str, Any]:
    """A copy of `cfg` recording a freshly registered cluster: `cluster` = its name, secret and token, and an entry
    {name, token} in `clusters` (replacing the entry of the same name, leaving every other cluster's alone)."""
    conflict = credentials_conflict(cfg, name)
    if conflict:
        raise FormatError(f"config: {conflict}; not overwritten")
    out = copy.deepcopy(dict(cfg))
    out["cluster"] = {"name": name, "secret": secret, "token": token}
    clusters = [entry for entry in (out.get("clusters") or []) if entry.get("name") != name]
    clusters.append({"name": name, "token": token})
    out["clusters"] = clusters
    return out
