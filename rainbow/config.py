"""The rainbow config file (rainbow-config.yaml): read, validate, fill defaults, override from the environment, write.

The file is shared with the upstream Go tools, so it keeps their keys (formats.md §5); ours adds a top-level `host`
(the server address a client connects to) and `tls`, outside `scheduler`, whose unknown keys upstream's Python
client refuses. Precedence is flags over `RAINBOW_*` environment over the
file over the defaults: `load_config` gives file + defaults, `apply_env` lays the environment on top, and the CLI
lays its flags on top of that. The file holds secrets, so `save_config` writes it owner-only and atomically.
"""
from __future__ import annotations

import copy
import functools
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from compspec.outfile import write_output
from compspec.schemas import FormatError, validate

DEFAULT_PATH = "rainbow-config.yaml"
"""Where the CLI looks when neither --config-path nor RAINBOW_CONFIG names a file (upstream's default)."""

CONFIG_ENV = "RAINBOW_CONFIG"

DEFAULT_ADDRESS = "127.0.0.1:50051"


@functools.lru_cache(maxsize=None)
def _data(name: str) -> Any:
    text = resources.files("rainbow").joinpath("data", name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def validate_config(cfg: Any, what: str = "config") -> None:
    """Raise FormatError naming the first bad field of a config document."""
    validate("config", cfg, what, package="rainbow")


def default_config() -> dict[str, Any]:
    """A fresh copy of the defaults (the caller may change it freely)."""
    return copy.deepcopy(_data("default-config.yaml"))


def env_keys() -> dict[str, str]:
    """The RAINBOW_* variables `apply_env` reads, each with the dotted config key it overrides."""
    return dict(_data("config-env.yaml"))


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


def load_config(path: str | Path | None) -> dict[str, Any]:
    """Read and validate a config file, filled out with the defaults; a missing file (or None) gives the defaults."""
    cfg = default_config()
    if path is None:
        return cfg
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return cfg
    except OSError as exc:
        raise FormatError(f"config {path}: cannot read: {exc.strerror or exc}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise FormatError(f"config {path}: not valid YAML{where}") from None
    if doc is None:
        return cfg
    validate_config(doc, f"config {path}")
    return _merge(cfg, doc)


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
    client dials), else graphdatabase.host, else the default."""
    for key in ("host", "graphdatabase.options.host", "graphdatabase.host"):
        value = get_dotted(cfg, key)
        if isinstance(value, str) and value:
            return value
    return DEFAULT_ADDRESS


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
