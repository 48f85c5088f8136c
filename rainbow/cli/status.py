"""`rainbow status` (what the status page shows, in a terminal) and `rainbow health` (the gRPC health check, for
container health checks and service managers)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import click

from rainbow.cli.common import client_command, connection_options, emit, json_option, one_line, resolve
from rainbow.cli.settings import setting


def _ago(stamp: str | None, now: datetime) -> str:
    if not stamp:
        return "never"
    then = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    seconds = max(0.0, (now - then).total_seconds())
    if seconds < 120:
        return f"{seconds:.0f}s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m ago"
    if seconds < 172800:
        return f"{seconds / 3600:.0f}h ago"
    return f"{seconds / 86400:.0f}d ago"


def status_lines(report: dict[str, Any]) -> list[str]:
    """The report as text: one line per cluster, the job counts, one line per assignment (and its others)."""
    now = datetime.now(timezone.utc)
    lines = [f"clusters: {len(report['clusters'])}"]
    if report["clusters"]:
        lines.append("NAME\tNODES\tCORES\tGPUS\tSUBSYSTEMS\tLAST REPORT\tSTATE")
    for c in report["clusters"]:
        state = " ".join(f"{k}={v}" for k, v in c["state"].items()) or "-"
        lines.append(f"{c['name']}\t{c['nodes']}\t{c['cores']}\t{c['gpus']}\t{','.join(c['subsystems']) or '-'}\t"
                     f"{_ago(c['last_report'], now)}\t{one_line(state, 80)}")
    counts = ", ".join(f"{state} {n}" for state, n in report["jobs_by_state"].items())
    lines.append(f"jobs: {counts}")
    if report["oldest_pending"]:
        lines.append(f"oldest pending job: submitted {_ago(report['oldest_pending'], now)}")
    lines.append(f"latest assignments: {len(report['assignments'])}")
    for a in report["assignments"]:
        lines.extend(_assignment_lines(a))
    job = report.get("job")
    if job is not None:
        lines.append(f"job {job['id']} ({job['name']}): {job['state']} on {job['cluster']}, submitted "
                     f"{job['submitted']}" + (f", accepted {job['accepted']}" if job["accepted"] else ""))
        if job["assignment"] is not None:
            lines.extend(_assignment_lines(job["assignment"])[1:])
    return lines


def _assignment_lines(a: dict[str, Any]) -> list[str]:
    out = [f"{a['job']}\t{a['name']}\t-> {a['cluster']} ({a['state']}): {one_line(a['reason'], 200)}"]
    for other, why in a["others"].items():
        out.append(f"\t\t   {other}: {one_line(why, 200)}")
    return out


@click.command()
@click.option("--assignments", type=click.IntRange(0, 200), default=10, show_default=True,
              help="How many of the latest assignments to show.")
@click.option("--job", "job_id", type=click.IntRange(min=1, max=2**31 - 1), default=None,
              help="Also show this job: where it is and why it went there.")
@setting("--viewer-token", "viewer_token", config_key="http.viewer_token",
         help="The viewer token the server was started with (else the registration secret is used).")
@setting("--admin-token", "admin_token", config_key="admin.token", help="The admin token.")
@setting("--secret", config_key="scheduler.secret", help="The registration secret.")
@connection_options
@json_option
@client_command
def status(assignments: int, job_id: int | None, viewer_token: str | None, admin_token: str | None, as_json: bool,
           **params) -> None:
    """Summarise the server: clusters (size, last report, state), jobs by state, latest assignments and why."""
    settings = resolve(params)
    credential = viewer_token or admin_token or settings.get("scheduler.secret") or ""
    if not credential:
        raise click.UsageError("no credential given: use --viewer-token (RAINBOW_VIEWER_TOKEN), --admin-token "
                               "(RAINBOW_ADMIN_TOKEN) or --secret (RAINBOW_SECRET, scheduler.secret in the config "
                               "file)")
    with settings.client() as client:
        report = client.status(credential, assignments=max(assignments, 1), job_id=job_id or 0)
    if not assignments:
        report["assignments"] = []
    if job_id and report["job"] is None:
        emit(as_json, report, status_lines(report))
        raise click.ClickException(f"job {job_id}: not on record")
    emit(as_json, report, status_lines(report))


@click.command()
@click.option("--service", default="", help="The service to check (default: the server as a whole).")
@connection_options
@client_command
def health(service: str, **params) -> None:
    """Ask the server's gRPC health service; exit 0 when it is SERVING, 1 otherwise (for health checks)."""
    settings = resolve(params)
    with settings.client() as client:
        answer = client.health(service)
    click.echo(answer)
    if answer != "SERVING":
        raise SystemExit(1)
