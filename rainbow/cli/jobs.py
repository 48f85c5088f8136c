"""The cluster side of the queue: `rainbow receive`, `rainbow accept` and `rainbow jobs`."""
from __future__ import annotations

from typing import Any

import click

from rainbow.cli.settings import setting
from rainbow.cli.common import (client_command, cluster_options, connection_options, emit, json_option, one_line,
                                resolve)

_ACCEPTED = "RESULT_TYPE_SUCCESS"


def job_json(record: dict[str, Any]) -> dict[str, Any]:
    """A job for --json output: its jobspec as the document it is (an object), not as text inside a string.

    The server checked the jobspec when it was submitted, so it parses; should it not, the text is kept.
    """
    from compspec.schemas import FormatError
    from rainbow.jobspec import load_document

    try:
        return {**record, "jobspec": load_document(record["jobspec"])}
    except FormatError:
        return record


def accepted_line(cluster: str, ids: list[int]) -> str:
    """What `accept` and `receive --accept` both print once jobs are accepted (one wording for one event)."""
    return f"accepted {len(ids)} job(s) for cluster {cluster}: {' '.join(map(str, ids))}"


@click.command()
@click.option("--max-jobs", type=int, default=0, show_default=True, help="At most this many jobs (<= 0: all).")
@click.option("--accept", "accept_count", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also accept the first N jobs received.")
@cluster_options
@connection_options
@json_option
@client_command
def receive(max_jobs: int, accept_count: int, as_json: bool, **params) -> None:
    """List the jobs queued for this cluster, oldest first (and accept some with --accept N)."""
    settings = resolve(params)
    name, secret = settings.cluster_credentials()
    with settings.client() as client:
        jobs = client.receive(name, secret, max_jobs=max_jobs)
        taken = [job.id for job in jobs[:accept_count]]
        status = client.accept(name, secret, taken) if taken else ""
    data = {"cluster": name, "jobs": [job_json(job.to_dict()) for job in jobs], "accepted": taken,
            "accept_status": status}
    lines = [f"{job.id}\t{job.name}\t{one_line(job.command or job.jobspec, 60)}" for job in jobs]
    if not jobs:
        lines = [f"no jobs queued for cluster {name}"]
    if taken:
        lines.append(accepted_line(name, taken))
    emit(as_json, data, lines)
    if taken and status != _ACCEPTED:
        raise click.ClickException(f"not every job was accepted ({status}): another poller may have taken some")


@click.command()
@click.argument("ids", nargs=-1, required=True, type=click.IntRange(min=1, max=2**31 - 1))
@cluster_options
@connection_options
@json_option
@client_command
def accept(ids: tuple[int, ...], as_json: bool, **params) -> None:
    """Accept jobs by id: each job is accepted once, and no longer offered."""
    settings = resolve(params)
    name, secret = settings.cluster_credentials()
    with settings.client() as client:
        status = client.accept(name, secret, list(ids))
    emit(as_json, {"cluster": name, "ids": list(ids), "status": status},
         accepted_line(name, list(ids)) if status == _ACCEPTED else None)
    if status != _ACCEPTED:
        raise click.ClickException(f"not every job was accepted ({status}): unknown, another cluster's, "
                                   "or already accepted")


def _user_jobs(settings, token: str, state: str, page_size: int, as_json: bool) -> None:
    with settings.client() as client:
        user, _ = client.whoami(token)
        records = [job.to_dict() for job in client.iter_user_jobs(token, limit=page_size)
                   if state == "all" or job.state == state]
    if as_json:
        emit(True, {"user": user, "jobs": [job_json(record) for record in records]})
        return
    if not records:
        click.echo(f"no {'' if state == 'all' else state + ' '}jobs for user {user}")
        return
    for line in _job_lines(records):
        click.echo(line)


def _viewer(settings, user: bool, tokens: tuple[str, ...]) -> dict[str, Any]:
    """Whose jobs to show: the cluster's (its name and secret), or a user's (the tokens given, else every token in
    the config's clusters: list and cluster.token). A user sees only the jobs submitted with their tokens."""
    secret = settings.get("cluster.secret")
    name = settings.get("cluster.name")
    if not user and not tokens and secret and name:
        return {"cluster": name, "secret": secret}
    given = list(tokens) or [e.get("token") for e in settings.get("clusters") or [] if e.get("token")]
    if not tokens and settings.get("cluster.token"):
        given.append(settings.get("cluster.token"))
    given = sorted(set(given))
    if not given:
        raise click.UsageError(f"no credentials: a cluster's name and secret, or your tokens (--token, or clusters: "
                               f"in {settings.config_path})")
    return {"tokens": given}


def _when(value: str | None) -> str:
    return value.replace("T", " ").split(".")[0].removesuffix("Z") if value else "-"


def _job_lines(records: list[dict[str, Any]]) -> list[str]:
    lines = ["ID\tSTATE\tSTATUS\tCLUSTER\tLOCAL\tEXIT\tSUBMITTED\tACCEPTED\tENDED\tNAME"]
    for job in records:
        code = "-" if job.get("exit_code") is None else str(job["exit_code"])
        status = job.get("status") or "-"
        if job.get("cancel_requested") and status not in ("cancelled", "completed", "failed"):
            status += " (cancel requested)"
        lines.append(f"{job['id']}\t{job['state']}\t{status}\t{job['cluster']}\t{job.get('local_id') or '-'}\t"
                     f"{code}\t{_when(job['submitted'])}\t{_when(job['accepted'])}\t{_when(job.get('ended'))}\t"
                     f"{job['name']}")
    return lines


_VIEW_OPTIONS = [
    click.option("--user", "as_user", is_flag=True,
                 help="Show the jobs submitted with your tokens even when the config also holds a cluster secret."),
    click.option("--token", "tokens", multiple=True,
                 help="A token your jobs were submitted with (repeatable; default: the config's clusters: tokens)."),
]


def _view_options(func):
    for option in reversed(_VIEW_OPTIONS):
        func = option(func)
    return func


@click.command()
@click.option("--state", type=click.Choice(["all", "pending", "accepted", "closed"]), default="all",
              show_default=True)
@click.option("--page-size", type=click.IntRange(min=0), default=0,
              help="Jobs per request (0: the server's page size); every page is fetched.")
@_view_options
@cluster_options
@setting("--user-token", config_key="user.token", help="A user token: list the user's jobs on every cluster.")
@connection_options
@json_option
@client_command
def jobs(state: str, page_size: int, as_user: bool, tokens: tuple[str, ...], as_json: bool, **params) -> None:
    """List jobs with their status and times: this cluster's (cluster secret), the ones you submitted (tokens), or
    with a user token the user's jobs on every cluster.

    STATE is where the job is in rainbow's queue (pending, accepted, closed: withdrawn or refused everywhere);
    STATUS is what the cluster's agent last reported (submitted, running, completed, failed, cancelled)."""
    settings = resolve(params)
    token = settings.get("user.token") or ""
    if token and not tokens and not params.get("cluster_secret"):
        _user_jobs(settings, token, state, page_size, as_json)
        return
    viewer = _viewer(settings, as_user, tokens)
    with settings.client() as client:
        records = [job.to_dict() for job in client.iter_jobs(viewer.get("cluster", ""), viewer.get("secret", ""),
                                                             state=state, limit=page_size,
                                                             tokens=viewer.get("tokens", ()))]
    whose = f"cluster {viewer['cluster']}" if "cluster" in viewer else "your tokens"
    if as_json:
        emit(True, {**({"cluster": viewer["cluster"]} if "cluster" in viewer else {}),
                    "jobs": [job_json(record) for record in records]})
        return
    if not records:
        click.echo(f"no {'' if state == 'all' else state + ' '}jobs for {whose}")
        return
    for line in _job_lines(records):
        click.echo(line)


@click.command()
@click.argument("job_id", type=click.IntRange(min=1, max=2**31 - 1))
@_view_options
@cluster_options
@connection_options
@json_option
@client_command
def job(job_id: int, as_user: bool, tokens: tuple[str, ...], as_json: bool, **params) -> None:
    """Show one job: where it is, what its cluster's agent reported (local id, exit code, reason) and when."""
    settings = resolve(params)
    viewer = _viewer(settings, as_user, tokens)
    with settings.client() as client:
        record = client.get_job(job_id, cluster=viewer.get("cluster", ""), secret=viewer.get("secret", ""),
                                tokens=viewer.get("tokens", ())).to_dict()
    if as_json:
        emit(True, job_json(record))
        return
    for key in ("id", "name", "cluster", "state", "status", "local_id", "exit_code", "reason", "tried",
                "cancel_requested", "submitted", "accepted", "started", "ended"):
        value = record.get(key)
        if key == "tried":
            value = ", ".join(value)
        elif key in ("submitted", "accepted", "started", "ended"):
            value = _when(value)
        elif key == "cancel_requested":
            value = "yes" if value else "no"
        click.echo(f"{key}: {'-' if value in (None, '') else value}")


@click.command()
@click.argument("job_id", type=click.IntRange(min=1, max=2**31 - 1))
@_view_options
@cluster_options
@connection_options
@json_option
@client_command
def cancel(job_id: int, as_user: bool, tokens: tuple[str, ...], as_json: bool, **params) -> None:
    """Cancel a job: still queued, it is withdrawn at once; accepted, its cluster's agent cancels it locally and
    reports it cancelled."""
    settings = resolve(params)
    viewer = _viewer(settings, as_user, tokens)
    with settings.client() as client:
        result = client.cancel_job(job_id, cluster=viewer.get("cluster", ""), secret=viewer.get("secret", ""),
                                   tokens=viewer.get("tokens", ()))
    words = {"withdrawn": f"job {job_id} withdrawn: it was still queued for cluster {result.job.cluster}",
             "requested": f"job {job_id}: cancel requested; the agent of cluster {result.job.cluster} cancels it",
             "final": f"job {job_id} had already ended ({result.job.status or result.job.state}); nothing to cancel"}
    emit(as_json, {"id": job_id, "outcome": result.outcome, "job": result.job.to_dict()}, words[result.outcome])
