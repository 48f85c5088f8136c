"""`compspec version` and `compspec list`: what this tool is and which extractors it has."""
from __future__ import annotations

import json

import click


@click.command("version")
def version() -> None:
    """Print the compspec version."""
    from compspec import __version__

    click.echo(__version__)


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_extractors(as_json: bool) -> None:
    """List every extractor, its sections and what each one reports."""
    from compspec.extract import parse_selection
    from compspec.extractors.registry import load_builtin

    registry = load_builtin()
    defaults = dict(parse_selection(None))
    if as_json:
        doc = {
            name: {
                "description": plugin.description,
                "sections": {s.name: s.description for s in plugin.sections.values()},
                "default_sections": defaults.get(name, []),
            }
            for name, plugin in registry.items()
        }
        click.echo(json.dumps(doc, indent=2))
        return
    for name, plugin in registry.items():
        click.echo(f"{name}: {plugin.description}")
        for section in plugin.sections.values():
            mark = "*" if section.name in defaults.get(name, ()) else " "
            click.echo(f"  {mark} {section.name:<10} {section.description}")
    click.echo("(* = run by `compspec extract` without --name)")
