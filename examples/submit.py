#!/usr/bin/env python3
"""Submit a jobspec to the best of the clusters you hold tokens for, and say where it went (or why nowhere).

    python examples/submit.py --address 127.0.0.1:50051 --cluster keebler=TOKEN data/jobspec-constraint.yaml
    python examples/submit.py --cluster keebler=TOKEN --satisfy-only data/jobspec-io.yaml
"""
from __future__ import annotations

from pathlib import Path

import click

from rainbow.client import FailedPrecondition, RainbowClient, RainbowError


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--address", default="127.0.0.1:50051", show_default=True)
@click.option("--cluster", "clusters", multiple=True, required=True, metavar="NAME=TOKEN")
@click.option("--select-algorithm", default="", help="random (default) or constraint")
@click.option("--satisfy-only", is_flag=True, help="list the clusters that fit; queue nothing")
@click.argument("jobspec", type=click.Path(exists=True, dir_okay=False))
def main(address: str, clusters: tuple[str, ...], select_algorithm: str, satisfy_only: bool, jobspec: str) -> None:
    pairs = [tuple(item.split("=", 1)) for item in clusters]
    with RainbowClient(address) as client:
        try:
            result = client.submit(Path(jobspec).read_text(), pairs, name=Path(jobspec).stem,
                                   select_algorithm=select_algorithm, satisfy_only=satisfy_only)
        except FailedPrecondition as exc:
            raise click.ClickException(f"no cluster fits: {exc.details}") from None
        except RainbowError as exc:
            raise click.ClickException(str(exc)) from None
    if satisfy_only:
        click.echo(f"fits: {', '.join(result.clusters) or 'none'}")
    else:
        click.echo(f"job {result.jobid} queued for {result.cluster}")
    for cluster, reason in sorted(result.reasons.items()):
        click.echo(f"{cluster}: {reason}")


if __name__ == "__main__":
    main()
