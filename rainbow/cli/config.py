"""`rainbow config`: write a starting config file, and show the settings a command would use."""
from __future__ import annotations

import copy
from pathlib import Path

import click

from rainbow import config as rconfig
from rainbow.cli.common import cli_errors, emit, json_option, resolve
from rainbow.cli.settings import config_path_option

_SECRET_KEYS = ("scheduler.secret", "cluster.secret", "cluster.token", "http.viewer_token")


@click.group()
def config() -> None:
    """Create and inspect the rainbow config file."""


@config.command("init")
@config_path_option(load=False)
@click.option("--force", is_flag=True, help="Replace an existing file.")
@click.option("--cluster-name", default="", help="This cluster's name (cluster.name).")
@click.option("--scheduler-name", default="", help="The scheduler's name (scheduler.name).")
@click.option("--secret", default="", help="The server's registration secret (scheduler.secret).")
@click.option("--host", "--address", "host", default="", metavar="HOST:PORT", help="Server address (host).")
def init(config_path: str, force: bool, cluster_name: str, scheduler_name: str, secret: str, host: str) -> None:
    """Write a config file with the default settings and the values given."""
    path = Path(config_path)
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; use --force to replace it")
    cfg = rconfig.default_config()
    for dotted, value in (("cluster.name", cluster_name), ("scheduler.name", scheduler_name),
                          ("scheduler.secret", secret)):
        if value:
            rconfig.set_dotted(cfg, dotted, value)
    if host:
        rconfig.set_address(cfg, host)
    with cli_errors():
        rconfig.save_config(path, cfg)
    click.echo(f"wrote {path}")


@config.command("show")
@config_path_option
@click.option("--show-secrets", is_flag=True, help="Print secrets and tokens instead of masking them.")
@json_option
def show(config_path: str, show_secrets: bool, as_json: bool) -> None:
    """Print the settings in effect: the file, with defaults filled in and RAINBOW_* variables applied."""
    settings = resolve({"config_path": config_path})
    cfg = copy.deepcopy(settings.cfg)
    if not show_secrets:
        for dotted in _SECRET_KEYS:
            if rconfig.get_dotted(cfg, dotted):
                rconfig.set_dotted(cfg, dotted, "***")
        for entry in cfg.get("clusters") or []:
            if entry.get("token"):
                entry["token"] = "***"
    if as_json:
        emit(True, cfg)
        return
    import yaml

    click.echo(f"# {settings.config_path} (server address {settings.address})")
    click.echo(yaml.safe_dump(cfg, sort_keys=False).rstrip())
