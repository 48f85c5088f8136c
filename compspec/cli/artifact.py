"""`compspec artifact show` (what an image declares) and `compspec artifact push` (publish an artifact file)."""
from __future__ import annotations

import json

import click

from compspec.cli.registry import make_resolver, registry_options, warn_offline


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def artifact() -> None:
    """Show or publish the compatibility artifacts of container images."""


def _raise(exc: Exception) -> None:
    raise click.ClickException(str(exc)) from None


@artifact.command("show")
@click.argument("reference")
@click.option("--json", "as_json", is_flag=True, help="Print where the artifact was found and the artifact as JSON.")
@registry_options
def show(reference: str, as_json: bool, insecure_registries: tuple[str, ...], cache_dir: str | None,
         no_cache: bool) -> None:
    """Print the compatibility artifact an image declares (a referrer of the image, or its TAG-compspec tag)."""
    from compspec.oci import RegistryError

    try:
        found = make_resolver(insecure_registries, cache_dir, no_cache).resolve(reference)
    except RegistryError as exc:
        _raise(exc)
    warn_offline(found)
    if as_json:
        click.echo(json.dumps(found.as_dict(), indent=2))
        return
    click.echo(f"image: {found.image}")
    if found.image_digest:
        click.echo(f"digest: {found.image_digest}")
    click.echo(f"artifact: {found.artifact} ({found.via}{', cached' if found.cached else ''})")
    for compat in found.spec.get("compatibilities", []):
        for key, value in sorted(compat.get("attributes", {}).items()):
            click.echo(f"{compat['name']}.{key}: {value if value else chr(34) * 2}")


@artifact.command("push")
@click.argument("path", type=click.Path(dir_okay=False))
@click.argument("reference", required=False)
@click.option("--subject", default=None, metavar="IMAGE",
              help="Attach the artifact to this image (an OCI referrer; REFERENCE, if given, must be in its repository).")
@registry_options
def push(path: str, reference: str | None, subject: str | None, insecure_registries: tuple[str, ...],
         cache_dir: str | None, no_cache: bool) -> None:
    """Push a CompatibilitySpec file to REFERENCE (a tag), and/or attach it to --subject IMAGE."""
    from compspec import documents
    from compspec.schemas import FormatError

    if not reference and not subject:
        raise click.UsageError("give a REFERENCE to push to, --subject IMAGE, or both")
    try:
        spec = documents.read(path, syntax="json", kind=dict, schema="artifact")
    except FormatError as exc:
        _raise(exc)
    publish(spec, reference, subject, insecure_registries, cache_dir, no_cache)


def publish(spec: dict, reference: str | None, subject: str | None, insecure_registries: tuple[str, ...],
            cache_dir: str | None, no_cache: bool) -> None:
    """Push and say where it went (shared with `compspec create artifact --push`)."""
    from compspec.oci import RegistryError

    try:
        pushed = make_resolver(insecure_registries, cache_dir, no_cache).push(spec, reference, subject)
    except RegistryError as exc:
        _raise(exc)
    line = f"pushed {pushed.artifact.split('@')[0]}:{pushed.tag} ({pushed.digest})" if pushed.tag \
        else f"pushed {pushed.artifact}"
    if pushed.subject:
        line += f", attached to {pushed.subject}"
        if pushed.fallback:
            line += " (referrers tag schema)"
    click.echo(line)
