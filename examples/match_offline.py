#!/usr/bin/env python3
"""Which of these clusters could run this job? The server's matching and selection, as a library, without a server.

    python examples/match_offline.py --jobspec data/jobspec-io.yaml red=data/cluster-nodes.json \
        blue=data/cluster-nodes.json:io=data/cluster-io-subsystem.json

Each cluster is NAME=GRAPH, optionally followed by :SUBSYSTEM=FILE for each subsystem to attach.
"""
from __future__ import annotations

import random

import click

from compspec import documents
from compspec.schemas import FormatError
from rainbow.graph import build_index, parse_graph, parse_subsystem
from rainbow.jobspec import fold_artifact, load_document, parse_jobspec, simple_jobspec
from rainbow.match import Matcher
from rainbow.select import select


def load_cluster(spec: str):
    """NAME=GRAPH[:SUB=FILE...] → (name, index)."""
    name, _, rest = spec.partition("=")
    graph_path, *subsystems = rest.split(":")
    graph = parse_graph(documents.read_bytes(graph_path), graph_path)
    attached = {}
    for item in subsystems:
        sub_name, _, sub_path = item.partition("=")
        attached[sub_name] = parse_subsystem(documents.read_bytes(sub_path), sub_name, graph)
    return name, build_index(graph, attached)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--jobspec", type=click.Path(exists=True, dir_okay=False), help="a jobspec file")
@click.option("--nodes", type=int, default=1, show_default=True, help="without --jobspec: a simple job's nodes")
@click.option("--tasks", type=int, default=1, show_default=True, help="without --jobspec: its tasks")
@click.option("--artifact", type=click.Path(exists=True, dir_okay=False), help="a compatibility artifact to require")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the random selection")
@click.argument("clusters", nargs=-1, required=True)
def main(jobspec, nodes, tasks, artifact, seed, clusters) -> None:
    try:
        document = load_document(documents.read_bytes(jobspec), jobspec) if jobspec else \
            simple_jobspec(nodes, tasks, ["app"])
        if artifact:
            document = fold_artifact(document, documents.read(artifact, syntax="json", kind=dict))
        request = parse_jobspec(document)
        matcher = Matcher()
        for spec in clusters:
            matcher.set(*load_cluster(spec))
    except (OSError, FormatError) as exc:
        raise click.ClickException(str(exc)) from None
    fits, reasons = matcher.match(request)
    for name in matcher.names():
        click.echo(f"{name}: {'fits' if name in fits else reasons[name]}")
    chosen = select("random", fits, rng=random.Random(seed)).chosen
    click.echo(f"selected: {chosen or 'none'}")


if __name__ == "__main__":
    main()
