"""The `rainbow` command."""
from __future__ import annotations

import click

from compspec.lazycli import LazyGroup
from rainbow import __version__

COMMANDS = {
    "serve": "rainbow.cli.serve:serve",
    "config": "rainbow.cli.config:config",
    "register": "rainbow.cli.register:register",
    "update-state": "rainbow.cli.state:update_state",
    "submit": "rainbow.cli.submit:submit",
    "receive": "rainbow.cli.jobs:receive",
    "accept": "rainbow.cli.jobs:accept",
    "jobs": "rainbow.cli.jobs:jobs",
    "bids": "rainbow.cli.bids:bids",
    "job": "rainbow.cli.jobs:job",
    "cancel": "rainbow.cli.jobs:cancel",
    "agent": "rainbow.cli.agent:agent",
    "delete": "rainbow.cli.delete:delete",
    "demo": "rainbow.cli.demo:demo",
    "db": "rainbow.cli.db:db",
    "status": "rainbow.cli.status:status",
    "health": "rainbow.cli.status:health",
    "admin": "rainbow.cli.admin:admin",
    "rotate": "rainbow.cli.rotate:rotate",
}


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rainbow")
def main() -> None:
    """Register clusters, submit jobs to the clusters that can run them, receive and accept them."""


if __name__ == "__main__":
    main()
