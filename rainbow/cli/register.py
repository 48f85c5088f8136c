"""`rainbow register`: register this cluster's graph (and `register subsystem` to attach a subsystem graph)."""
from __future__ import annotations

from pathlib import Path

import click

from rainbow import config as rconfig
from rainbow.cli.common import (client_command, cluster_options, connection_options, emit, json_option,
                                read_text, resolve)
from rainbow.cli.settings import setting


@click.group(invoke_without_command=True)
@setting("--cluster-name", config_key="cluster.name", help="Name to register under.")
@click.option("--nodes-json", type=click.Path(exists=True, dir_okay=False),
              help="The cluster graph (JGF), e.g. from `compspec create nodes`.")
@setting("--secret", config_key="scheduler.secret", help="The server's registration secret.")
@click.option("--save", is_flag=True,
              help="Write the returned token and secret into the config file (cluster: and clusters:).")
@click.option("--update", is_flag=True,
              help="Replace the registered cluster's graph in place, with its secret (--cluster-secret); its tokens, "
                   "subsystems, state and jobs stay.")
@setting("--cluster-secret", config_key="cluster.secret", help="With --update: the cluster's secret.")
@connection_options
@json_option
@click.pass_context
@client_command
def register(ctx: click.Context, nodes_json: str | None, save: bool, as_json: bool, update: bool = False,
             **params) -> None:
    """Register a cluster graph; prints the cluster's token (for users) and secret (for the cluster)."""
    if ctx.invoked_subcommand is not None:
        return
    settings = resolve(params)
    if update:
        name, cluster_secret = settings.cluster_credentials()
        if not nodes_json:
            raise click.UsageError("--nodes-json is required to update a cluster's graph")
        graph = read_text(nodes_json, "nodes file", empty=False)
        with settings.client() as client:
            nodes = client.update_graph(name, cluster_secret, graph)
        emit(as_json, {"status": "UPDATED", "cluster": name, "nodes": nodes},
             f"updated the graph of cluster {name} ({nodes} nodes); its tokens and secret are unchanged")
        return
    name = settings.require("cluster.name", "--cluster-name")
    secret = settings.require("scheduler.secret", "--secret")
    if not nodes_json:
        raise click.UsageError("--nodes-json is required to register a cluster")
    if save:
        # Ask before registering: a refused save after the fact would leave a secret written nowhere.
        on_file = rconfig.load_config(settings.config_path)
        conflict = rconfig.credentials_conflict(on_file, name)
        if conflict:
            raise click.ClickException(f"{settings.config_path}: {conflict}; use another --config-path to --save")
    graph = read_text(nodes_json, "nodes file", empty=False)
    with settings.client() as client:
        result = client.register(name, secret, graph)
    if result.status == "REGISTER_EXISTS":
        raise click.ClickException(f"cluster {name} is already registered")
    if result.status != "REGISTER_SUCCESS":
        raise click.ClickException(f"cluster {name} was not registered: {result.status}")
    if save:
        on_file = rconfig.add_cluster_credentials(rconfig.load_config(settings.config_path), name, result.token,
                                                  result.secret)
        # What this call used, so a poller or `submit` reading the file reaches the same server the same way.
        rconfig.set_address(on_file, settings.address)
        for dotted in ("tls.ca", "tls.cert", "tls.key"):
            if settings.get(dotted):
                rconfig.set_dotted(on_file, dotted, str(Path(settings.get(dotted)).resolve()))
        if settings.get("tls.server_name"):
            rconfig.set_dotted(on_file, "tls.server_name", settings.get("tls.server_name"))
        rconfig.save_config(settings.config_path, on_file)
    data = {"status": result.status, "cluster": name, "token": result.token, "secret": result.secret,
            "saved": str(settings.config_path) if save else None}
    lines = [f"registered cluster {name}", f"token: {result.token}"]
    lines.append(f"secret and token saved to {settings.config_path}" if save else f"secret: {result.secret}")
    emit(as_json, data, lines)


@register.command("subsystem")
@click.option("--subsystem", required=True, help="Subsystem name, e.g. io or spack.")
@click.option("--nodes-json", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The subsystem graph (JGF) whose edges start at the cluster graph's labels.")
@cluster_options
@connection_options
@json_option
@client_command
def subsystem(subsystem: str, nodes_json: str, as_json: bool, **params) -> None:
    """Attach a subsystem graph to this cluster (needs the cluster's secret)."""
    settings = resolve(params)
    name, secret = settings.cluster_credentials()
    graph = read_text(nodes_json, "subsystem file", empty=False)
    with settings.client() as client:
        status = client.register_subsystem(name, secret, subsystem, graph)
    if status != "REGISTER_SUCCESS":
        raise click.ClickException(f"subsystem {subsystem} of cluster {name} was not registered: {status}")
    emit(as_json, {"status": status, "cluster": name, "subsystem": subsystem},
         f"registered subsystem {subsystem} for cluster {name}")
