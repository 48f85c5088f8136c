"""The options every compspec command that reaches a registry shares, and the resolver they configure."""
from __future__ import annotations

from typing import Callable

import click

from compspec.oci import CACHE_ENV


def registry_options(func: Callable) -> Callable:
    """--insecure-registry, --cache-dir, --no-cache."""
    func = click.option("--no-cache", is_flag=True,
                        help="Neither read nor write the artifact cache.")(func)
    func = click.option("--cache-dir", type=click.Path(file_okay=False), envvar=CACHE_ENV, show_envvar=True,
                        help="Artifact cache (default: $XDG_CACHE_HOME/compspec/oci, else ~/.cache/compspec/oci).")(func)
    func = click.option("--insecure-registry", "insecure_registries", multiple=True, metavar="HOST[:PORT]",
                        envvar="COMPSPEC_INSECURE_REGISTRY", show_envvar=True,
                        help="Allow plain HTTP to this registry (repeatable; loopback registries always may).")(func)
    return func


def make_resolver(insecure_registries: tuple[str, ...] = (), cache_dir: str | None = None, no_cache: bool = False):
    from compspec.oci.artifacts import Resolver
    from compspec.oci.cache import default_dir

    return Resolver(insecure_registries, None if no_cache else (cache_dir or default_dir()))


def warn_offline(found) -> None:
    """One line when an answer came from the cache because the registry could not be reached."""
    if found.offline:
        click.echo(f"compspec: warning: image {found.reference}: registry unreachable; using the artifact cached "
                   f"for it ({found.artifact})", err=True)
