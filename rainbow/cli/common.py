"""What every client command shares: connection and credential options, settings resolution, output, errors.

A setting comes from the command line if given, else from a `RAINBOW_*` variable, else from the config file, else
from the defaults; click resolves each option that way (rainbow/cli/settings.py). Every failure leaves as one line
and a non-zero exit.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from compspec import documents
from compspec.schemas import FormatError
from rainbow import config as rconfig
from rainbow.cli.settings import config_path_option, loaded_config, setting

# The key of click's context object under which a caller supplies the commands' client factory (Settings.client).
CLIENT_FACTORY = "client_factory"

# Flag name -> the dotted config key it overrides.
_FLAG_KEYS = {
    "host": "host",
    "tls_ca": "tls.ca",
    "tls_cert": "tls.cert",
    "tls_key": "tls.key",
    "server_name": "tls.server_name",
    "cluster_name": "cluster.name",
    "cluster_secret": "cluster.secret",
    "secret": "scheduler.secret",
    "admin_token": "admin.token",
    "user_token": "user.token",
}


def connection_options(func: Callable) -> Callable:
    """--host and the TLS options, each also from its RAINBOW_* variable and the config file (see settings.py)."""
    options = [
        setting("--host", "--address", "host", metavar="HOST:PORT", default=rconfig.DEFAULT_ADDRESS,
                show_default=True, config_key=rconfig.ADDRESS_KEYS,
                help=f"Server address (port {rconfig.DEFAULT_PORT} when none is given)."),
        setting("--tls-ca", type=click.Path(dir_okay=False), config_key="tls.ca",
                help="CA certificate that signed the server's certificate; turns TLS on."),
        setting("--tls-cert", type=click.Path(dir_okay=False), config_key="tls.cert",
                help="Client certificate for mutual TLS."),
        setting("--tls-key", type=click.Path(dir_okay=False), config_key="tls.key",
                help="Key of the client certificate."),
        setting("--server-name", config_key="tls.server_name",
                help="Name to expect in the server's certificate when it differs from the address dialled."),
        click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
                     help="Seconds to wait for each call."),
        config_path_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def cluster_options(func: Callable) -> Callable:
    """The cluster's own name and secret (config `cluster:`), for the commands a cluster runs."""
    func = setting("--cluster-secret", config_key="cluster.secret", help="The cluster's secret.")(func)
    return setting("--cluster-name", config_key="cluster.name", help="The cluster's name.")(func)


def json_option(func: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(func)


@dataclass
class Settings:
    """The resolved settings of one command run."""

    cfg: dict[str, Any]
    config_path: Path
    timeout: float = 30.0

    def get(self, dotted: str, default: Any = None) -> Any:
        return rconfig.get_dotted(self.cfg, dotted, default)

    @property
    def address(self) -> str:
        return rconfig.server_address(self.cfg)

    def require(self, dotted: str, flag: str) -> str:
        value = self.get(dotted)
        if not isinstance(value, str) or not value:
            env = {v: k for k, v in rconfig.env_keys().items()}.get(dotted)
            where = f"{flag}, {env} or {dotted} in {self.config_path}" if env else f"{flag} or {dotted}"
            raise click.UsageError(f"no {dotted.replace('.', ' ')} given: use {where}")
        return value

    def cluster_credentials(self) -> tuple[str, str]:
        """This cluster's name and secret, which every cluster-side command needs."""
        return (self.require("cluster.name", "--cluster-name"),
                self.require("cluster.secret", "--cluster-secret"))

    def client(self):
        """A RainbowClient for the resolved address and TLS settings (close it, or use it in a with block).

        A program that runs the commands itself can supply the client: `main(obj={CLIENT_FACTORY: factory})`
        (click's context object) makes every command call `factory(settings)` first, and use the client it returns (None: the usual one), e.g. to return a client
        over rainbow.server.inprocess.InProcessTransport."""
        from rainbow.client import RainbowClient
        from rainbow.tlsfiles import TLSFileError

        ctx = click.get_current_context(silent=True)
        obj = ctx.find_root().obj if ctx is not None else None
        factory = obj.get(CLIENT_FACTORY) if isinstance(obj, Mapping) else None
        try:
            client = factory(self) if factory is not None else None
            if client is not None:
                return client
            return RainbowClient(
                self.address,
                tls_ca=self.get("tls.ca") or None,
                tls_cert=self.get("tls.cert") or None,
                tls_key=self.get("tls.key") or None,
                server_name=self.get("tls.server_name") or None,
                timeout=self.timeout,
            )
        except TLSFileError as exc:
            raise click.ClickException(str(exc)) from None
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"cannot set up the connection: {exc}") from None


def resolve(params: Mapping[str, Any]) -> Settings:
    """The settings of this command run: the config file (with RAINBOW_* variables laid over the keys no flag
    sets), and over it the values click resolved for the command's settings (flag, variable, file, default)."""
    loaded = loaded_config()
    if loaded is None:
        path = Path(params.get("config_path") or rconfig.DEFAULT_PATH)
        with cli_errors():
            cfg = rconfig.load_config(path)
    else:
        path, cfg = loaded.path, copy.deepcopy(loaded.cfg)
    cfg = rconfig.apply_env(cfg)
    for flag, dotted in _FLAG_KEYS.items():
        value = params.get(flag)
        if value:
            rconfig.set_dotted(cfg, dotted, value)
    return Settings(cfg=cfg, config_path=path, timeout=float(params.get("timeout") or 30.0))


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """Turn the errors a command expects (server answers, bad files) into one-line click errors."""
    from compspec.outfile import OutputError
    from rainbow.client import RainbowError

    try:
        yield
    except (RainbowError, OutputError) as exc:
        raise click.ClickException(str(exc)) from None
    except FormatError as exc:
        raise click.ClickException(one_line(str(exc))) from None
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        raise click.ClickException(f"{where}{exc.strerror or exc}") from None


def client_command(func: Callable) -> Callable:
    """Run the command body inside cli_errors, so every expected failure ends as one line."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with cli_errors():
            return func(*args, **kwargs)

    return wrapper


def one_line(text: str, width: int = 0) -> str:
    """`text` with its whitespace runs (newlines included) made single spaces, cut to `width` when one is given."""
    flat = " ".join(text.split())
    return flat if not width or len(flat) <= width else flat[: width - 3] + "..."


def read_text(path: str, what: str, *, empty: bool = True) -> str:
    """A file the user named, as text; errors name the file and what it was for (`empty=False`: an empty file is
    refused here, by name, rather than sent on)."""
    try:
        return documents.read_text(path, f"{what} {path}", empty=empty)
    except FormatError as exc:
        raise click.ClickException(str(exc)) from None


def read_json_object(path: str, what: str) -> dict[str, Any]:
    """A JSON object file (graph, state, artifact); errors name the file."""
    try:
        data = documents.read(path, f"{what} {path}", syntax="json")
    except FormatError as exc:
        raise click.ClickException(str(exc)) from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{what} {path}: must hold a JSON object, not {type(data).__name__}")
    return data


def emit(as_json: bool, data: Any, text: str | list[str] | None = None) -> None:
    """Print `data` as JSON, or the text lines given for people."""
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=False))
        return
    if text is None:
        return
    lines = [text] if isinstance(text, str) else text
    for line in lines:
        click.echo(line)

