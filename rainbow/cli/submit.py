"""`rainbow submit`: send a job to the clusters the user may use; the server matches, selects and queues it."""
from __future__ import annotations

import json
from typing import Any

import click

from rainbow.cli.common import (Settings, client_command, connection_options, emit, json_option, read_json_object,
                                read_text, resolve)
from rainbow.cli.settings import setting


def _clusters(settings: Settings, picks: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, token) pairs: --cluster NAME=TOKEN as given, --cluster NAME from the config, else all the config's."""
    known = {e.get("name"): e.get("token") for e in settings.get("clusters") or [] if e.get("name")}
    if not picks:
        pairs = [(name, token) for name, token in known.items() if token]
        if not pairs:
            raise click.UsageError(f"no clusters to submit to: list them under clusters: in {settings.config_path} "
                                   "(rainbow register --save does) or pass --cluster NAME=TOKEN")
        return pairs
    pairs = []
    for pick in picks:
        name, sep, token = pick.partition("=")
        if not sep:
            token = known.get(name) or ""
            if not token:
                raise click.UsageError(f"--cluster {name}: no token for it in {settings.config_path}; "
                                       "pass --cluster NAME=TOKEN")
        if not name or not token:
            raise click.UsageError(f"--cluster {pick!r}: expected NAME or NAME=TOKEN")
        pairs.append((name, token))
    return pairs


def _selection(settings: Settings, flag: str | None, given: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """The algorithm (flag, else config) and its options: the config's when the algorithm is the config's own,
    with every --select-option k=v laid over them."""
    configured = settings.get("scheduler.algorithms.selection.name") or ""
    algorithm = flag or configured
    options: dict[str, str] = {}
    if algorithm == configured:
        for key, value in (settings.get("scheduler.algorithms.selection.options") or {}).items():
            if value is not None:
                options[str(key)] = value if isinstance(value, str) else json.dumps(value)
    for pair in given:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.UsageError(f"--select-option {pair!r}: expected KEY=VALUE")
        options[key] = value
    return algorithm, options


def _image(reference: str, insecure: tuple[str, ...], cache: str | None,
           artifact: str | None) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The image's artifact (from its registry, unless --artifact gives it) and the container attribute."""
    if artifact:
        return None, {"image": reference}
    from compspec.oci import RegistryError
    from compspec.oci.artifacts import Resolver
    from compspec.oci.cache import default_dir

    try:
        found = Resolver(insecure, cache or default_dir()).resolve(reference)
    except RegistryError as exc:
        raise click.ClickException(str(exc)) from None
    if found.offline:
        click.echo(f"rainbow: warning: image {reference}: registry unreachable; using the artifact cached for it "
                   f"({found.artifact})", err=True)
    container = {"image": reference, "pull": found.pinned, "artifact": found.artifact}
    if found.image_digest:
        container["digest"] = found.image_digest
    return found.spec, container


def _jobspec(jobspec_file: str | None, nodes: int | None, tasks: int | None, command: tuple[str, ...],
             artifact: str | None, strict: bool, name: str, image: tuple[dict[str, Any] | None, dict] | None = None
             ) -> tuple[str | dict[str, Any], str]:
    """The jobspec to send (a file's text as written, or a document built here) and the job's name."""
    from rainbow.jobspec import fold_artifact, load_document, parse_jobspec, set_container, simple_jobspec

    if jobspec_file and (nodes or tasks or command):
        raise click.UsageError("give either --jobspec FILE or --nodes N --tasks T -- COMMAND, not both")
    if jobspec_file:
        text = read_text(jobspec_file, "jobspec")
        document: str | dict[str, Any] = text
        if artifact or image:
            document = load_document(text, f"jobspec {jobspec_file}")
    elif command:
        document = simple_jobspec(nodes or 1, tasks or nodes or 1, list(command), name=name)
    else:
        raise click.UsageError("give --jobspec FILE, or --nodes N --tasks T -- COMMAND")
    if artifact:
        document = fold_artifact(document, read_json_object(artifact, "artifact"), strict=strict)
    if image is not None:
        spec, container = image
        if spec is not None:
            document = fold_artifact(document, spec, strict=strict)
        document = set_container(document, container)
    request = parse_jobspec(document)
    return document, name or request.name


def _explain_lines(result_clusters: list[str], chosen: str, reasons: dict[str, str],
                   candidates: list[tuple[str, str]]) -> list[str]:
    """One line per candidate; `chosen` is "" for --satisfy-only, where `result_clusters` are the ones that fit."""
    lines = []
    for cluster, _ in candidates:
        if cluster == chosen:
            lines.append(f"  {cluster}: selected" + (f": {reasons[cluster]}" if cluster in reasons else ""))
        elif cluster in reasons:
            lines.append(f"  {cluster}: {reasons[cluster]}")
        elif not chosen and cluster in result_clusters:
            lines.append(f"  {cluster}: fits")
        else:
            lines.append(f"  {cluster}: fits, not selected")
    return lines


def _submit_as_user(settings: Settings, token: str, document: str | dict[str, Any], job_name: str,
                    picks: tuple[str, ...], algorithm: str, options: dict[str, str], satisfy_only: bool, explain: bool,
                    as_json: bool) -> None:
    """The user-token path: the server picks the candidates from the user's grants (--cluster NAME narrows them)."""
    with settings.client() as client:
        result = client.submit_as_user(document, token, list(picks), name=job_name, select_algorithm=algorithm,
                                       select_options=options, satisfy_only=satisfy_only)
    data = {"status": result.status, "jobid": result.jobid, "cluster": result.cluster,
            "clusters": result.clusters, "reasons": result.reasons}
    if satisfy_only:
        lines = [f"clusters that fit: {', '.join(result.clusters) if result.clusters else 'none'}"]
    else:
        lines = [f"submitted job {result.jobid} to cluster {result.cluster}"]
    if explain:
        named = sorted({*result.clusters, *result.reasons, *([result.cluster] if result.cluster else [])})
        lines += _explain_lines(result.clusters, "" if satisfy_only else result.cluster, result.reasons,
                                [(c, "") for c in named])
    emit(as_json, data, lines)
    if satisfy_only and not result.clusters:
        raise click.exceptions.Exit(1)


@click.command()
@click.option("--jobspec", "jobspec_file", type=click.Path(exists=True, dir_okay=False),
              help="A jobspec file (nextgen v1 or Flux v1, YAML or JSON).")
@click.option("--nodes", type=click.IntRange(min=1), help="Simple job: number of nodes.")
@click.option("--tasks", type=click.IntRange(min=1), help="Simple job: number of tasks (cores per node: tasks/nodes).")
@click.option("--name", default="", help="Job name (default: the jobspec's name, or the command).")
@click.option("--artifact", type=click.Path(exists=True, dir_okay=False),
              help="A compatibility artifact (CompatibilitySpec JSON) whose requirements every node must meet.")
@click.option("--image", default=None, metavar="REF",
              help="Run in this container image: its compatibility artifact, found in its registry, gives the "
                   "requirements (--artifact FILE instead: that file's), and the jobspec names the image.")
@click.option("--strict", is_flag=True,
              help="With --artifact or --image: also require the build machine's CPU vendor/model.")
@setting("--insecure-registry", "insecure_registries", multiple=True, config_key="registry.insecure",
         envvar="RAINBOW_INSECURE_REGISTRY", metavar="HOST[:PORT]",
         help="With --image: allow plain HTTP to this registry (repeatable; loopback registries always may).")
@setting("--registry-cache", config_key="registry.cache", envvar="COMPSPEC_CACHE_DIR",
         help="With --image: the artifact cache (default: as compspec's, ~/.cache/compspec/oci).")
@click.option("--cluster", "picks", multiple=True, metavar="NAME[=TOKEN]",
              help="Submit only to these clusters (repeatable); default: every cluster in the config, or with a "
                   "user token every cluster its grants reach.")
@setting("--select-algorithm", config_key="scheduler.algorithms.selection.name",
         help="Selection: random, constraint, a scored preset (first-fit, least-loaded, spread, bin-pack, "
              "cheapest, earliest-start, or one the server's config defines), or bid (the clusters bid).")
@click.option("--select-option", "select_option", multiple=True, metavar="KEY=VALUE",
              help="Selection option (repeatable), e.g. priorities=\"$(cat priorities.yaml)\" for constraint, "
                   "weight.SCORER=N or filter=EXPRESSION for a preset.")
@click.option("--satisfy-only", is_flag=True, help="Only say which clusters fit; queue nothing.")
@click.option("--explain", is_flag=True,
              help="Print each cluster's outcome: why it does not fit, or its scores under a preset.")
@setting("--user-token", config_key="user.token",
         help="A user token: submit to the clusters the user's grants reach, with no per-cluster tokens.")
@connection_options
@json_option
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@client_command
def submit(jobspec_file: str | None, nodes: int | None, tasks: int | None, name: str, artifact: str | None,
           image: str | None, strict: bool, insecure_registries: tuple[str, ...], registry_cache: str | None,
           picks: tuple[str, ...], select_algorithm: str | None, select_option: tuple[str, ...],
           satisfy_only: bool, explain: bool, as_json: bool, command: tuple[str, ...], **params) -> None:
    """Submit a job: --jobspec FILE, or --nodes N --tasks T -- COMMAND..."""
    from rainbow.client import FailedPrecondition

    settings = resolve(params)
    algorithm, options = _selection(settings, select_algorithm, select_option)
    resolved = _image(image, insecure_registries, registry_cache, artifact) if image else None
    document, job_name = _jobspec(jobspec_file, nodes, tasks, command, artifact, strict, name, resolved)
    token = settings.get("user.token") or ""
    if token and not any("=" in pick for pick in picks):
        _submit_as_user(settings, token, document, job_name, picks, algorithm, options, satisfy_only, explain,
                        as_json)
        return
    candidates = _clusters(settings, picks)
    with settings.client() as client:
        def send(only: bool):
            return client.submit(document, candidates, name=job_name, select_algorithm=algorithm,
                                 select_options=options, satisfy_only=only)

        try:
            result = send(satisfy_only)
        except FailedPrecondition:
            if not (explain or as_json):
                raise
            # Nothing fits: ask again without queueing to get each cluster's reason as data.
            reasons = send(True).reasons
            emit(as_json, {"status": "SUBMIT_ERROR", "jobid": 0, "cluster": "", "clusters": [], "reasons": reasons},
                 ["no cluster fits:"] + [f"  {c}: {reasons.get(c, 'does not fit')}" for c, _ in candidates])
            raise click.ClickException("no cluster fits the job") from None
    data = {"status": result.status, "jobid": result.jobid, "cluster": result.cluster,
            "clusters": result.clusters, "reasons": result.reasons}
    if satisfy_only:
        fits = ", ".join(result.clusters) if result.clusters else "none"
        lines = [f"clusters that fit: {fits}"]
    elif not result.cluster:  # level 2: the clusters bid, and the winner is known later
        lines = [f"submitted job {result.jobid} for bids from {', '.join(result.clusters)}; "
                 f"`rainbow bids show {result.jobid}` shows the winner"]
    else:
        lines = [f"submitted job {result.jobid} to cluster {result.cluster}"]
    if explain:
        lines += _explain_lines(result.clusters, "" if satisfy_only else result.cluster, result.reasons, candidates)
    emit(as_json, data, lines)
    if satisfy_only and not result.clusters:
        raise click.exceptions.Exit(1)  # like grep: the answer is printed, and the status says "none"
