"""`compspec create nodes` (a cluster graph from node extraction files), `compspec create template` (node templates
of an elastic cluster) and `compspec create artifact`."""
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
    """Create a cluster graph, node templates or a compatibility artifact."""


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


def _pairs(items: tuple[str, ...], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"{flag} {item!r}: expected KEY=VALUE")
        out[key.strip()] = value
    return out


@create.command("template")
@click.option("--name", required=True, help="The template's name (a node group or node pool), e.g. c5-4xlarge.")
@click.option("--instance-type", help="The instance type its nodes are, e.g. c5.4xlarge (default: --name).")
@click.option("--from-node", type=click.Path(exists=True, dir_okay=False),
              help="A node extraction file (compspec extract --out) of one such node: its sockets, cores, memory, "
                   "GPUs and properties; the flags below override them.")
@click.option("--cores", type=int, help="Cores per node.")
@click.option("--sockets", type=int, help="Sockets per node (cores are spread over them; default 1).")
@click.option("--memory-gib", type=int, help="Memory per node in GiB.")
@click.option("--gpus", type=int, help="GPUs per node.")
@click.option("--gpu-model", help="The GPUs' model, e.g. A100.")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="A node label; repeatable.")
@click.option("--property", "properties", multiple=True, metavar="KEY=VALUE", help="A node property; repeatable.")
@click.option("--cost-per-hour", type=float, help="What one node costs an hour.")
@click.option("--min-nodes", type=int, help="Nodes that always run (default 0).")
@click.option("--max-nodes", required=True, type=int, help="The most nodes of this template the cluster may run.")
@click.option("--startup-seconds", type=float, help="How long a new node takes to start.")
@click.option("--limit", "limits", multiple=True, metavar="KEY=N",
              help="A cluster-wide limit over all templates: cores=N, memory_gib=N or gpus=N; repeatable.")
@click.option("--requirement", "requirements", multiple=True, metavar="'KEY OP [V,...]'",
              help="A cluster requirement templates must meet, e.g. 'instance_type In c5.4xlarge,c5.9xlarge' "
                   "(OP: In, NotIn, Exists, DoesNotExist, Gt, Lt); repeatable.")
@click.option("--add-to", type=click.Path(exists=True, dir_okay=False),
              help="Add the template to this templates file (one of the same name is replaced).")
@click.option("--output", "-o", "output", default=None, help="Write the templates here (default: stdout).")
def template(name: str, instance_type: str | None, from_node: str | None, labels: tuple[str, ...],
             properties: tuple[str, ...], limits: tuple[str, ...], requirements: tuple[str, ...],
             add_to: str | None, output: str | None, **sizes) -> None:
    """Write node templates (JSON) for `rainbow register --templates`, from flags or a node extraction file."""
    from compspec import templates
    from compspec.nodes import describe_node

    entry: dict = {"name": name, "instance_type": instance_type or name}
    if from_node:
        entry.update(templates.from_node(describe_node(load_node(from_node), from_node)))
    for key, value in sizes.items():
        if value is not None:
            entry[key] = value
    if labels:
        entry["labels"] = _pairs(labels, "--label")
    if properties:
        entry["properties"] = {**entry.get("properties", {}), **_pairs(properties, "--property")}
    if "cores" not in entry:
        raise click.UsageError("--cores (or --from-node) is required")
    limit_values = {}
    for key, value in _pairs(limits, "--limit").items():
        try:
            limit_values[key] = int(value)
        except ValueError:
            raise click.UsageError(f"--limit {key}={value}: not a whole number") from None
    try:
        base = templates.read(add_to) if add_to else None
        doc = templates.document(entry, base=base, limits=limit_values,
                                 requirements=[templates.parse_requirement(r) for r in requirements])
    except FormatError as exc:
        raise click.ClickException(str(exc)) from None
    with _output(output) as out:
        out.write(json.dumps(doc, indent=2) + "\n")
    if output not in (None, "-"):
        count = len(doc["templates"])
        click.echo(f"compspec: wrote {count} {'template' if count == 1 else 'templates'} to {output}", err=True)


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
