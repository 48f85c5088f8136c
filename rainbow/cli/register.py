"""`rainbow register`: register this cluster's graph and node templates (and `register subsystem` to attach a
subsystem graph, `register templates` to give a registered cluster node templates)."""
from __future__ import annotations

import json
from pathlib import Path

import click

from rainbow import config as rconfig
from rainbow.cli.common import (client_command, cluster_options, connection_options, emit, json_option,
                                read_text, resolve)
from rainbow.cli.settings import setting
from rainbow.graph.generate import make_graph
from compspec import documents
from compspec.schemas import FormatError


@click.group(invoke_without_command=True)
@setting("--cluster-name", config_key="cluster.name", help="Name to register under.")
@click.option("--nodes-json", type=click.Path(exists=True, dir_okay=False),
              help="The cluster graph (JGF), e.g. from `compspec create nodes`.")
@click.option("--templates", "templates_file", type=click.Path(exists=True, dir_okay=False),
              help="Node templates (JSON or YAML, e.g. from `compspec create template`): nodes the cluster starts on "
                   "demand; without --nodes-json the cluster has no fixed nodes.")
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
             templates_file: str | None = None, **params) -> None:
    """Register a cluster graph and/or node templates; prints the cluster's token (for users) and secret (for the
    cluster)."""
    if ctx.invoked_subcommand is not None:
        return
    settings = resolve(params)
    if update and templates_file:
        raise click.UsageError("--templates cannot go with --update; use `rainbow register templates --replace`")
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
    if not nodes_json and not templates_file:
        raise click.UsageError("--nodes-json or --templates is required to register a cluster")
    templates = read_templates(templates_file) if templates_file else None
    if save:
        # Ask before registering: a refused save after the fact would leave a secret written nowhere.
        on_file = rconfig.load_config(settings.config_path)
        conflict = rconfig.credentials_conflict(on_file, name)
        if conflict:
            raise click.ClickException(f"{settings.config_path}: {conflict}; use another --config-path to --save")
    if nodes_json:
        graph = read_text(nodes_json, "nodes file", empty=False)
    else:
        graph = json.dumps(make_graph(name, []))  # the cluster vertex alone: every node comes from a template
    with settings.client() as client:
        result = client.register(name, secret, graph)
        if result.status == "REGISTER_EXISTS":
            raise click.ClickException(f"cluster {name} is already registered")
        if result.status != "REGISTER_SUCCESS":
            raise click.ClickException(f"cluster {name} was not registered: {result.status}")
        if templates is not None:
            status = client.register_templates(name, result.secret, templates)
            if status != "REGISTER_SUCCESS":
                raise click.ClickException(f"cluster {name} was registered, but its templates were not: {status}; "
                                           f"its secret is {result.secret}")
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
    if templates is not None:
        data["templates"] = [t["name"] for t in templates["templates"]]
    lines = [f"registered cluster {name}" + (f" with templates {', '.join(data['templates'])}" if templates else ""),
             f"token: {result.token}"]
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


def read_templates(path: str) -> dict:
    """A node templates file, checked here so that a bad one is refused before anything is registered."""
    from compspec.documents import read_bytes
    from rainbow.graph.templates import parse_templates

    try:
        data = read_bytes(path, path)
        parse_templates(data, path)
        return documents.load(data, path, kind=dict)
    except FormatError as exc:
        raise click.ClickException(str(exc)) from None


@register.command("templates")
@click.option("--templates", "templates_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Node templates (JSON or YAML), e.g. from `compspec create template`.")
@click.option("--replace", is_flag=True, help="Replace the templates the cluster has already.")
@cluster_options
@connection_options
@json_option
@client_command
def templates(templates_file: str, replace: bool, as_json: bool, **params) -> None:
    """Give this registered cluster node templates (needs the cluster's secret)."""
    settings = resolve(params)
    name, secret = settings.cluster_credentials()
    doc = read_templates(templates_file)
    with settings.client() as client:
        if replace:
            client.delete_subsystem(name, secret, "templates")
        status = client.register_templates(name, secret, doc)
    if status == "REGISTER_EXISTS":
        raise click.ClickException(f"cluster {name} has templates already; add --replace to replace them")
    if status != "REGISTER_SUCCESS":
        raise click.ClickException(f"templates of cluster {name} were not registered: {status}")
    names = [t["name"] for t in doc["templates"]]
    emit(as_json, {"status": status, "cluster": name, "templates": names},
         f"registered templates {', '.join(names)} for cluster {name}")
