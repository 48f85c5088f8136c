"""`compspec extract`: describe this node (or the node mounted at --host-root) as one JSON document."""
from __future__ import annotations

import json
import sys

import click


@click.command("extract")
@click.option("--name", "-n", "names", multiple=True, metavar="PLUGIN[sec1,sec2]",
              help="Extractor to run, optionally with sections (repeatable). Default: system, library, "
                   "nfd[cpu,memory,network,storage,system], gpu.")
@click.option("--out", "-o", "out", default=None, metavar="FILE",
              help="Write the JSON here instead of standard output.")
@click.option("--host-root", default="/", show_default=True, metavar="DIR",
              help="Read the node's /proc, /sys, /etc... under this folder (a container's host mount).")
@click.option("--run-commands", is_flag=True,
              help="Run programs (mpirun, nvidia-smi...) even when --host-root is not /.")
@click.option("--fail-fast", is_flag=True, help="Exit 1, writing nothing, when any section cannot run.")
@click.option("--quiet", "-q", is_flag=True, help="Do not print warnings about sections that cannot run.")
def extract(names: tuple[str, ...], out: str | None, host_root: str, run_commands: bool, fail_fast: bool,
            quiet: bool) -> None:
    """Extract node facts (CPU, memory, OS, MPI, libc, GPUs, NFD features) as JSON."""
    import os

    from compspec.extract import ExtractorSelectionError, run_extractors
    from compspec.outfile import OutputError, write_output

    if not os.path.isdir(host_root):
        raise click.UsageError(f"--host-root {host_root}: not a folder")
    try:
        result = run_extractors(list(names) if names else None, host_root=host_root,
                                run_commands=True if run_commands else None)
    except ExtractorSelectionError as exc:
        raise click.UsageError(str(exc)) from None
    if fail_fast and result.warnings:
        for line in result.warnings:
            click.echo(f"compspec: error: {line}", err=True)
        sys.exit(1)
    if not quiet:
        for line in result.warnings:
            click.echo(f"compspec: warning: {line}", err=True)
    text = json.dumps(result.document, indent=2) + "\n"
    if out is None or out == "-":
        click.echo(text, nl=False)
        return
    try:
        write_output(out, text)
    except OutputError as exc:
        raise click.ClickException(str(exc)) from None
