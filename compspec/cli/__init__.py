"""The `compspec` command."""
from __future__ import annotations

import click

from compspec import __version__
from compspec.lazycli import LazyGroup

COMMANDS = {
    "version": "compspec.cli.info:version",
    "list": "compspec.cli.info:list_extractors",
    "extract": "compspec.cli.extract:extract",
    "create": "compspec.cli.create:create",
    "match": "compspec.cli.match:match",
    "artifact": "compspec.cli.artifact:artifact",
}


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="compspec")
def main() -> None:
    """Extract node facts, build cluster graphs, create and check compatibility artifacts."""


if __name__ == "__main__":
    main()
