"""`compspec create nodes` (a cluster graph from node extraction files) and `compspec create artifact`."""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import Iterator, TextIO

import click

from compspec.cli.registry import registry_options
from compspec.jgf import dialects, write_graph
from compspec.nodes import duplicate_hostnames, node_files, read_node_files, split_field
from compspec.outfile import OutputError, open_output
from compspec.progress import progress
from compspec.schemas import FormatError

PROGRESS_THRESHOLD = 500


def warn(message: str) -> None:
    click.echo(f"compspec: warning: {message}", err=True)


@contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    """stdout, or a file by the rule of `compspec.outfile` (a regular file appears whole or not at all)."""
    if path is None or path == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    try:
        with open_output(path) as handle:
            yield handle
    except OutputError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def create() -> None:
    """Create a cluster graph or a compatibility artifact."""


@create.command("nodes")
@click.option("--cluster-name", required=True, help="Name of the cluster (the graph's root).")
@click.option("--node-dir", required=True, type=click.Path(file_okay=False),
              help="Folder of node extraction files (compspec extract --out).")
@click.option("--nodes-output", "-o", "output", default=None, help="Write the graph here (default: stdout).")
@click.option("--format", "fmt", type=click.Choice(dialects()), default="rainbow", show_default=True,
              help="JGF dialect: rainbow (JGF v2, what rainbow reads) or fluxion (JGF v1, what Flux reads).")
@click.option("--attribute", "attributes", multiple=True, metavar="KEY",
              help="Also put this extracted field (extractor.section.key) in each node's properties; repeatable.")
def nodes(cluster_name: str, node_dir: str, output: str | None, fmt: str, attributes: tuple[str, ...]) -> None:
    """Merge a folder of node extraction files into the cluster's graph (JGF)."""
    if not cluster_name.strip() or "/" in cluster_name or any(c.isspace() for c in cluster_name):
        raise click.UsageError("--cluster-name: must be non-empty, without '/' or spaces")
    try:
        for attribute in attributes:
            split_field(attribute)
        files = node_files(node_dir)
    except FormatError as exc:
        raise click.UsageError(str(exc)) from None
    with progress(files, "reading nodes", minimum=PROGRESS_THRESHOLD) as shown:
        found = read_node_files(shown, attributes, warn=warn)
    if not found:
        raise click.ClickException(f"{node_dir}: no node extraction files (of {len(files)} files)")
    for hostname, sources in duplicate_hostnames(found).items():
        warn(f"hostname {hostname} is in {', '.join(sources)}: the nodes are named {hostname}, {hostname}-2, ...")
    for attribute in attributes:
        if not any(attribute in node.properties for node in found):
            warn(f"--attribute {attribute}: no node has this field")
    with _output(output) as out:
        stats = write_graph(found, cluster_name, out, fmt)
    if output not in (None, "-"):
        click.echo(f"compspec: wrote {fmt} graph of cluster {cluster_name} to {output}: {stats.nodes} nodes, "
                   f"{stats.vertices} vertices, {stats.edges} edges", err=True)


@create.command("artifact")
@click.option("-i", "--in", "request_path", required=True, type=click.Path(dir_okay=False),
              help="Artifact request YAML: maps each attribute to an extractor field.")
@click.option("-a", "--append", "overrides", multiple=True, metavar="FIELD=VALUE",
              help="Set a field (extractor.section.key=value) before mapping, e.g. custom.gpu.available=yes.")
@click.option("-o", "--out", "output", default=None, help="Write the CompatibilitySpec here (default: stdout).")
@click.option("--allow-missing", is_flag=True, help="Write \"\" for fields that cannot be found instead of failing.")
@click.option("--from", "from_path", default=None, type=click.Path(dir_okay=False),
              help="Map this node extraction file instead of extracting this node now.")
@click.option("--push", "push_ref", default=None, metavar="REF",
              help="Also push the artifact to this registry reference (e.g. registry/app:TAG-compspec).")
@click.option("--subject", default=None, metavar="IMAGE",
              help="Attach the pushed artifact to this image as an OCI referrer.")
@registry_options
def artifact(request_path: str, overrides: tuple[str, ...], output: str | None, allow_missing: bool,
             from_path: str | None, push_ref: str | None, subject: str | None,
             insecure_registries: tuple[str, ...], cache_dir: str | None, no_cache: bool) -> None:
    """Create a compatibility artifact (CompatibilitySpec) for this node, or for the node of --from.

    With --push and/or --subject the artifact goes to a registry; it is printed only when -o names a file.
    """
    from compspec.artifact import create_artifact, load_request, needed_extractors, parse_overrides

    try:
        request = load_request(request_path)
        extra = parse_overrides(overrides)
    except FormatError as exc:
        raise click.ClickException(str(exc)) from None
    if from_path:
        extraction = load_node(from_path)
    else:
        extraction = extract_node(needed_extractors(request, extra))
    try:
        spec, missing = create_artifact(request, extraction, extra, allow_missing=allow_missing)
    except FormatError as exc:
        raise click.ClickException(str(exc)) from None
    for name in missing:
        warn(f"field {name} not found; wrote \"\"")
    if push_ref or subject:
        from compspec.cli.artifact import publish

        if output not in (None, "-"):
            with _output(output) as out:
                out.write(json.dumps(spec, indent=2) + "\n")
        publish(spec, push_ref, subject, insecure_registries, cache_dir, no_cache)
        return
    with _output(output) as out:
        out.write(json.dumps(spec, indent=2) + "\n")


def load_node(path: str) -> dict:
    """A node extraction file, checked and in the `results` shape (shared with `compspec match --from`)."""
    from compspec.extract import load_extraction

    try:
        return load_extraction(path)
    except FormatError as exc:
        raise click.ClickException(str(exc)) from None


def extract_node(selection: list[str] | None) -> dict:
    """Run the extractors on this node now; their warnings go to stderr (shared with `compspec match --host`)."""
    from compspec.extract import run_extractors

    try:
        result = run_extractors(selection)
    except ValueError as exc:
        raise click.ClickException(f"cannot extract this node: {exc}") from None
    for message in result.warnings:
        warn(message)
    return result.document
