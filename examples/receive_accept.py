#!/usr/bin/env python3
"""As a cluster: list the jobs queued for it and accept them (what `rainbow agent` does each round).

    python examples/receive_accept.py --address 127.0.0.1:50051 --cluster keebler --secret CLUSTER_SECRET
"""
from __future__ import annotations

import click

from rainbow.client import RainbowClient, RainbowError


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--address", default="127.0.0.1:50051", show_default=True)
@click.option("--cluster", required=True)
@click.option("--secret", required=True, help="the cluster's secret, from its registration")
@click.option("--max-jobs", default=0, show_default=True, help="at most this many (0: all)")
@click.option("--no-accept", is_flag=True, help="only list them")
def main(address: str, cluster: str, secret: str, max_jobs: int, no_accept: bool) -> None:
    with RainbowClient(address) as client:
        try:
            jobs = client.receive(cluster, secret, max_jobs)
            for job in jobs:
                click.echo(f"job {job.id} {job.name or '-'}")
            if jobs and not no_accept:
                click.echo(f"accept: {client.accept(cluster, secret, [job.id for job in jobs])}")
            elif not jobs:
                click.echo("no jobs")
        except RainbowError as exc:
            raise click.ClickException(str(exc)) from None


if __name__ == "__main__":
    main()
