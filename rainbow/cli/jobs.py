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
    click.echo("ID\tCLUSTER\tSTATE\tSUBMITTED\tACCEPTED\tNAME")
    for job in records:
        click.echo(f"{job['id']}\t{job['cluster']}\t{job['state']}\t{job['submitted'] or '-'}\t"
                   f"{job['accepted'] or '-'}\t{job['name']}")


@click.command()
@click.option("--state", type=click.Choice(["all", "pending", "accepted"]), default="all", show_default=True)
@click.option("--page-size", type=click.IntRange(min=0), default=0,
              help="Jobs per request (0: the server's page size); every page is fetched.")
@cluster_options
@setting("--user-token", config_key="user.token", help="A user token: list the user's jobs on every cluster.")
@connection_options
@json_option
@client_command
def jobs(state: str, page_size: int, as_json: bool, **params) -> None:
    """List this cluster's jobs, pending and accepted, with their times (with a user token: the user's jobs on
    every cluster)."""
    settings = resolve(params)
    token = settings.get("user.token") or ""
    if token and not params.get("cluster_secret"):
        _user_jobs(settings, token, state, page_size, as_json)
        return
    name, secret = settings.cluster_credentials()
    with settings.client() as client:
        records = [job.to_dict() for job in client.iter_jobs(name, secret, state=state, limit=page_size)]
    records = [job_json(record) for record in records] if as_json else records
    if as_json:
        emit(True, {"cluster": name, "jobs": records})
        return
    if not records:
        click.echo(f"no {'' if state == 'all' else state + ' '}jobs for cluster {name}")
        return
    click.echo("ID\tSTATE\tSUBMITTED\tACCEPTED\tNAME")
    for job in records:
        click.echo(f"{job['id']}\t{job['state']}\t{job['submitted'] or '-'}\t{job['accepted'] or '-'}\t{job['name']}")
