"""`-h` works wherever `--help` does: every command of rainbow and compspec, and the example scripts."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from compspec.cli import main as compspec_main
from rainbow.cli import main as rainbow_main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _commands(group, prefix=()):
    ctx = click.Context(group, info_name=group.name)  # no parsing: click caches the help option a parse makes
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield (*prefix, name)
        if hasattr(command, "list_commands"):
            yield from _commands(command, (*prefix, name))


@pytest.mark.parametrize("main", [rainbow_main, compspec_main], ids=["rainbow", "compspec"])
def test_every_command_takes_dash_h(main):
    commands = [()] + list(_commands(main))
    assert len(commands) > 3
    for command in commands:
        short = CliRunner().invoke(main, [*command, "-h"])
        long = CliRunner().invoke(main, [*command, "--help"])
        assert short.exit_code == 0, (command, short.output)
        assert short.output == long.output, command


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py") if p.name != "poller.py"))
def test_every_example_script_takes_dash_h(script):
    done = subprocess.run([sys.executable, str(EXAMPLES / script), "-h"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Usage:")
