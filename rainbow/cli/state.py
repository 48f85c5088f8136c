"""`rainbow update-state`: report this cluster's state (free nodes, cost...) that constraint selection reads."""
from __future__ import annotations

import json

import click

from rainbow.cli.common import (client_command, cluster_options, connection_options, emit, json_option,
                                read_json_object, resolve)


def _value(text: str) -> object:
    """A --set value: a JSON number, boolean or string; anything else stays the text given."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (int, float, bool, str)) else text


@click.command("update-state")
@click.option("--state-file", type=click.Path(exists=True, dir_okay=False),
              help="A JSON object of flat key/values, e.g. {\"nodes_free\": 2, \"cost_per_node_hour\": 3}.")
@click.option("--set", "pairs", multiple=True, metavar="KEY=VALUE",
              help="A state value (repeatable); laid over --state-file.")
@cluster_options
@connection_options
@json_option
@client_command
def update_state(state_file: str | None, pairs: tuple[str, ...], as_json: bool, **params) -> None:
    """Replace the cluster's state on the server (needs the cluster's secret)."""
    if not state_file and not pairs:
        raise click.UsageError("give --state-file FILE or --set KEY=VALUE")
    state = read_json_object(state_file, "state file") if state_file else {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise click.UsageError(f"--set {pair!r}: expected KEY=VALUE")
        state[key] = _value(text)
    settings = resolve(params)
    name, secret = settings.cluster_credentials()
    with settings.client() as client:
        status = client.update_state(name, secret, state)
    if status != "UPDATE_STATE_SUCCESS":
        raise click.ClickException(f"state of cluster {name} was not updated: {status}")
    emit(as_json, {"status": status, "cluster": name, "state": state},
         f"updated state of cluster {name} ({len(state)} values)")
