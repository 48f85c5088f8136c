"""`compspec match`: which images of a manifest fit the wanted attributes and/or this node."""
from __future__ import annotations

import json
import random

import click

from compspec.cli.registry import make_resolver, registry_options, warn_offline
from compspec.schemas import FormatError


def _host_properties(from_path: str | None) -> dict[str, str]:
    """This node's properties (or those of the node whose extraction file is given), as create nodes writes them.

    Only the sections the properties come from are extracted: the rest of a node's facts would cost time here.
    """
    from compspec.cli.create import extract_node, load_node
    from compspec.nodes import GPU_EXTRACTOR, node_properties, property_sources

    if from_path:
        return node_properties(load_node(from_path))
    sections: dict[str, set[str]] = {GPU_EXTRACTOR: set()}
    for candidates in property_sources().values():
        extractor, section, _ = candidates[0].split(".", 2)
        sections.setdefault(extractor, set()).add(section)
    return node_properties(extract_node([f"{e}[{','.join(sorted(s))}]" if s else e
                                         for e, s in sorted(sections.items())]))


@click.command("match")
@click.option("-i", "--in", "manifest_path", default=None, type=click.Path(dir_okay=False),
              help="Manifest YAML: images, each with its compatibility artifact (a file or a registry reference; "
                   "left out: the one the image's registry holds).")
@click.option("--image", "image_refs", multiple=True, metavar="REF",
              help="An image whose artifact its registry holds (repeatable; beside or instead of -i).")
@click.option("--match", "wanted", multiple=True, metavar="KEY=VALUE",
              help="Keep images whose artifact has this value (org.supercontainers.mpi.implementation=OpenMPI).")
@click.option("--host", is_flag=True, help="Keep images whose artifact is compatible with this node.")
@click.option("--from", "from_path", default=None, type=click.Path(dir_okay=False),
              help="With --host: describe the node by this extraction file instead of extracting now.")
@click.option("--randomize", is_flag=True, help="Shuffle the matching images.")
@click.option("--seed", type=int, default=None, help="Seed for --randomize (repeatable results).")
@click.option("--single", is_flag=True, help="Print only the first matching image.")
@click.option("--json", "as_json", is_flag=True, help="Print matches and the reasons for the others as JSON.")
@registry_options
def match(manifest_path: str | None, image_refs: tuple[str, ...], wanted: tuple[str, ...], host: bool,
          from_path: str | None, randomize: bool, seed: int | None, single: bool, as_json: bool,
          insecure_registries: tuple[str, ...], cache_dir: str | None, no_cache: bool) -> None:
    """Match images (a manifest, or --image references) by their compatibility artifacts."""
    from compspec.manifest import Image, load_manifest, mismatches, parse_match

    if from_path and not host:
        raise click.UsageError("--from describes the host: use it with --host")
    if not manifest_path and not image_refs:
        raise click.UsageError("give a manifest with -i, or images with --image")
    resolver = None

    def fetch(reference: str) -> dict:
        """An artifact from a registry; its failure names the image, as a manifest's file errors do."""
        from compspec.oci import RegistryError

        nonlocal resolver
        resolver = resolver or make_resolver(insecure_registries, cache_dir, no_cache)
        try:
            found = resolver.resolve(reference)
        except RegistryError as exc:
            raise FormatError(str(exc)) from None
        warn_offline(found)
        return found.spec

    try:
        filters = parse_match(wanted)
        images = load_manifest(manifest_path, fetch) if manifest_path else []
        for ref in image_refs:
            images.append(Image(ref, None, fetch(ref)))
        for image in images:
            image.reasons = mismatches(image.spec, filters)
        if host:
            from compspec.compat import check, requirements_from_artifact

            properties = _host_properties(from_path)
            for image in images:
                image.reasons += check(requirements_from_artifact(image.spec), properties)
    except FormatError as exc:
        raise click.ClickException(str(exc)) from None
    matched = [image.name for image in images if not image.reasons]
    if randomize:
        random.Random(seed).shuffle(matched)
    if single:
        matched = matched[:1]
    if as_json:
        click.echo(json.dumps({"matches": matched,
                               "mismatches": {i.name: i.reasons for i in images if i.reasons}}, indent=2))
        return
    if not matched:
        for image in images:
            click.echo(f"compspec: {image.name}: {'; '.join(image.reasons)}", err=True)
        raise click.ClickException(f"no image in {manifest_path or 'the --image list'} matches")
    for name in matched:
        click.echo(name)
