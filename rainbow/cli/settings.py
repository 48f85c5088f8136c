"""Where a command's settings come from: the flag, else its RAINBOW_* variable, else the config file, else the default.

Click does the layering itself: each setting is a `SettingOption` with its `envvar`, and `--config-path` (an eager
option, so it is read first) loads the file into `ctx.default_map`, which click consults after the command line and
the environment. `--help` shows each setting's config key and variable. Every command that reads the config file,
`rainbow serve` and the example pollers included, uses this module, so they all resolve the same way.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from compspec.schemas import FormatError
from rainbow import config as rconfig

_META = "rainbow.config"


@dataclass(frozen=True)
class LoadedConfig:
    """The config file a command read: where, whether it was named (flag or environment), and its settings with the
    defaults filled in."""

    path: Path
    named: bool
    cfg: dict[str, Any]


def env_var(dotted: str) -> str | None:
    """The RAINBOW_* variable that sets config key `dotted`, if there is one."""
    for var, key in rconfig.env_keys().items():
        if key == dotted:
            return var
    return None


class SettingOption(click.Option):
    """An option that may also come from a RAINBOW_* variable and from the config file.

    `config_key` is the dotted key (or keys, first found wins) read from the file; the variable is the one
    `rainbow/data/config-env.yaml` names for the first key, unless `envvar` is given.
    """

    def __init__(self, param_decls: Any = None, *, config_key: str | tuple[str, ...] = (), **attrs: Any) -> None:
        keys = (config_key,) if isinstance(config_key, str) else tuple(config_key)
        if keys and "envvar" not in attrs:
            attrs["envvar"] = env_var(keys[0])
        attrs.setdefault("show_envvar", True)
        super().__init__(param_decls, **attrs)
        self.config_keys = keys

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        record = super().get_help_record(ctx)
        if record is None or not self.config_keys:
            return record
        names, text = record
        where = f"config: {self.config_keys[0]}"
        if text.endswith("]") and "[env var:" in text:
            text = text.replace("[env var:", f"[{where}; env var:", 1)
        else:
            text = f"{text}  [{where}]" if text else f"[{where}]"
        return names, text


def setting(*param_decls: str, config_key: str | tuple[str, ...] = (), **attrs: Any) -> Callable:
    """`click.option` for a setting (see SettingOption)."""
    return click.option(*param_decls, cls=SettingOption, config_key=config_key, **attrs)


def _load_into_defaults(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    """Read the config file and hand its values to click as the defaults of this command's settings."""
    path = Path(value or rconfig.DEFAULT_PATH)
    source = ctx.get_parameter_source(param.name or "config_path")
    named = source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    try:
        on_file = rconfig.read_config_file(path)
    except FormatError as exc:
        raise click.ClickException(" ".join(str(exc).split())) from None
    defaults = dict(ctx.default_map or {})
    for option in ctx.command.params:
        if not isinstance(option, SettingOption) or not option.name:
            continue
        for key in option.config_keys:
            found = rconfig.get_dotted(on_file, key)
            if found not in (None, "", [], {}):
                defaults[option.name] = found
                break
    ctx.default_map = defaults
    ctx.meta[_META] = LoadedConfig(path=path, named=named, cfg=rconfig.with_defaults(on_file))
    return str(path)


def config_path_option(func: Callable | None = None, *, load: bool = True) -> Callable:
    """--config-path / RAINBOW_CONFIG; with `load`, the file's values become the defaults of the command's settings.

    `load=False` is for commands that write the file rather than read it (`rainbow config init`).
    """
    def decorate(f: Callable) -> Callable:
        extra: dict[str, Any] = {"is_eager": True, "callback": _load_into_defaults} if load else {}
        return click.option(
            "--config-path", "config_path", type=click.Path(dir_okay=False), envvar=rconfig.CONFIG_ENV,
            default=rconfig.DEFAULT_PATH, show_default=True, show_envvar=True,
            help="Config file (rainbow-config.yaml); a missing file means the defaults.", **extra)(f)

    return decorate(func) if func is not None else decorate


def loaded_config(ctx: click.Context | None = None) -> LoadedConfig | None:
    """The config file this command's --config-path loaded (None outside such a command)."""
    ctx = ctx or click.get_current_context(silent=True)
    return None if ctx is None else ctx.meta.get(_META)  # click shares `meta` along the chain of contexts
