"""`rainbow delete`: remove this cluster (graphs, state, unaccepted jobs) or one of its subsystems."""
from __future__ import annotations

import click

from rainbow.cli.common import client_command, cluster_options, connection_options, emit, json_option, resolve


@click.command()
@click.option("--subsystem", default="", help="Delete only this subsystem and its attachments.")
@cluster_options
@connection_options
@json_option
@client_command
def delete(subsystem: str, as_json: bool, **params) -> None:
    """Delete this cluster from the server, or only one subsystem of it (needs the cluster's secret)."""
    settings = resolve(params)
    name, secret = settings.cluster_credentials()
    with settings.client() as client:
        if subsystem:
            status = client.delete_subsystem(name, secret, subsystem)
        else:
            status = client.delete(name, secret)
    what = f"subsystem {subsystem} of cluster {name}" if subsystem else f"cluster {name}"
    if status == "DELETE_NO_EXISTS":
        raise click.ClickException(f"{what} does not exist")
    if status != "DELETE_SUCCESS":
        raise click.ClickException(f"{what} was not deleted: {status}")
    emit(as_json, {"status": status, "cluster": name, "subsystem": subsystem}, f"deleted {what}")
