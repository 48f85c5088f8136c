#!/usr/bin/env python3
"""Register a cluster graph, optionally attach a subsystem and report state, and print the cluster's credentials.

    python examples/register.py --address 127.0.0.1:50051 --secret REGISTRATION_SECRET \
        --name keebler data/cluster-nodes.json --subsystem io=data/cluster-io-subsystem.json --state data/cluster-state.json

The token goes to the users who may submit to this cluster; the secret stays with the cluster (its agent needs it).
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from rainbow.client import RainbowClient, RainbowError


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--address", default="127.0.0.1:50051", show_default=True)
@click.option("--secret", required=True, help="the server's registration secret")
@click.option("--name", required=True, help="the cluster's name")
@click.option("--subsystem", "subsystems", multiple=True, metavar="NAME=FILE", help="a subsystem graph to attach")
@click.option("--state", type=click.Path(exists=True, dir_okay=False), help="a JSON object of state to report")
@click.argument("graph", type=click.Path(exists=True, dir_okay=False))
def main(address: str, secret: str, name: str, subsystems: tuple[str, ...], state: str | None, graph: str) -> None:
    with RainbowClient(address) as client:
        try:
            result = client.register(name, secret, Path(graph).read_text())
            if result.status != "REGISTER_SUCCESS":
                raise click.ClickException(f"cluster {name}: {result.status}")
            for item in subsystems:
                sub_name, _, path = item.partition("=")
                status = client.register_subsystem(name, result.secret, sub_name, Path(path).read_text())
                click.echo(f"subsystem {sub_name}: {status}")
            if state:
                click.echo(f"state: {client.update_state(name, result.secret, Path(state).read_text())}")
        except RainbowError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(json.dumps({"cluster": name, "token": result.token, "secret": result.secret}))


if __name__ == "__main__":
    main()
