"""`rainbow demo`: the whole flow on this machine, from the installed package (see rainbow/demo.py)."""
from __future__ import annotations

import click


@click.command(context_settings={"ignore_unknown_options": False})
@click.argument("scenario", required=False, type=click.Path(dir_okay=False))
def demo(scenario: str | None) -> None:
    """Play the demo: serve, extract, build two clusters, register, submit, receive and accept, each step checked.

    It runs in a temporary folder it removes afterwards, on a free loopback port; SCENARIO replaces the packaged
    scenario (rainbow/data/demo/demo.yaml) with another of the same form.
    """
    from rainbow.demo import main

    main([scenario] if scenario else [])
