"""The status page: one server-rendered HTML document, no scripts, no external assets, every value escaped.

It shows the Overview (rainbow.server.overview) and, when asked for one, a job found by id. Nothing on it comes
from a credential: the overview never reads them.
"""
from __future__ import annotations

import time
from html import escape
from typing import Iterable

from rainbow.server.overview import AssignmentView, JobView, Overview

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.n{text-align:right}.muted{color:#777}ul{margin:0;padding-left:1.1em}
.found{border:1px solid #8a8;background:#f4fbf4;padding:.5em 1em}.missing{border:1px solid #c88;
background:#fdf4f4;padding:.5em 1em}form{margin:.5em 0}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def when(stamp: float | None, now: float) -> str:
    """A time as UTC and how long ago, for people ("2026-12-02 20:15:03 UTC, 12 s ago")."""
    if stamp is None:
        return "never"
    ago = max(0.0, now - stamp)
    if ago < 120:
        rel = f"{ago:.0f} s ago"
    elif ago < 7200:
        rel = f"{ago / 60:.0f} min ago"
    elif ago < 172800:
        rel = f"{ago / 3600:.0f} h ago"
    else:
        rel = f"{ago / 86400:.0f} days ago"
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(stamp))} UTC, {rel}"


def _table(headers: Iterable[str], rows: Iterable[Iterable[str]], table_id: str) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(rows_cell for rows_cell in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _td(value: object, numeric: bool = False, cls: str = "") -> str:
    classes = " ".join(c for c in ("n" if numeric else "", cls) if c)
    attr = f' class="{classes}"' if classes else ""
    return f"<td{attr}>{_e(value)}</td>"


def _list(items: dict[str, str]) -> str:
    if not items:
        return '<td class="muted">none</td>'
    return "<td><ul>" + "".join(f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in items.items()) + "</ul></td>"


def _assignment_rows(assignments: list[AssignmentView]) -> list[list[str]]:
    return [[_td(a.job, True), _td(a.name), _td(a.cluster), _td(a.state), _td(a.reason), _list(a.others)]
            for a in assignments]


def _job_section(job_id: str, job: JobView | None, now: float) -> str:
    if job is None:
        return f'<div id="lookup-result" class="missing">No job {_e(job_id)} on record.</div>'
    parts = [f"<b>Job {_e(job.id)}</b> ({_e(job.name)}): {_e(job.state)} on cluster <b>{_e(job.cluster)}</b>, "
             f"submitted {_e(when(job.submitted, now))}"]
    if job.accepted is not None:
        parts.append(f", accepted {_e(when(job.accepted, now))}")
    parts.append(".")
    if job.assignment is not None:
        parts.append(f"<br>Why {_e(job.cluster)}: {_e(job.assignment.reason)}")
        if job.assignment.others:
            parts.append("<br>The others:<ul>" + "".join(
                f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in job.assignment.others.items()) + "</ul>")
    return f'<div id="lookup-result" class="found">{"".join(parts)}</div>'


def render(overview: Overview, *, lookup: str | None = None, job: JobView | None = None,
           error: str | None = None) -> str:
    """The whole page. `lookup` is the job id asked for (as typed), `job` what was found for it."""
    now = overview.generated
    clusters = _table(
        ["Cluster", "Nodes", "Cores", "GPUs", "Subsystems", "Registered", "Last report", "Reported state"],
        ([_td(c.name, cls="cluster-name"), _td(c.nodes, True), _td(c.cores, True), _td(c.gpus, True),
          _td(", ".join(c.subsystems) or "none"), _td(when(c.registered, now)), _td(when(c.last_report, now)),
          _list(c.state)] for c in overview.clusters),
        "clusters") if overview.clusters else '<p id="clusters" class="muted">No cluster is registered.</p>'
    jobs = _table(["State", "Jobs"], ([_td(state), _td(count, True)]
                                      for state, count in overview.jobs_by_state.items()), "jobs")
    oldest = (f"<p>Oldest pending job submitted {_e(when(overview.oldest_pending, now))}.</p>"
              if overview.oldest_pending is not None else "")
    latest = _table(["Job", "Name", "Cluster", "State", "Why this cluster", "Why not the others"],
                    _assignment_rows(overview.assignments), "assignments") if overview.assignments \
        else '<p id="assignments" class="muted">No job assigned yet.</p>'
    found = ""
    if error is not None:
        found = f'<div id="lookup-result" class="missing">{_e(error)}</div>'
    elif lookup is not None:
        found = _job_section(lookup, job, now)
    value = f' value="{_e(lookup)}"' if lookup is not None else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>rainbow status</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>
<body>
<h1>rainbow status</h1>
<p class="muted" id="generated">As of {_e(when(now, now).split(',')[0])}; {len(overview.clusters)} clusters.</p>
<form method="get" action="/" id="lookup"><label for="job-id">Find a job by id</label>
<input id="job-id" name="job" inputmode="numeric" pattern="[0-9]+" size="10"{value}>
<button type="submit" id="find">Find</button></form>
{found}
<h2>Clusters</h2>
{clusters}
<h2>Jobs by state</h2>
{jobs}
{oldest}
<h2>Latest assignments</h2>
{latest}
<p class="muted">Metrics for Prometheus: <a href="/metrics">/metrics</a></p>
</body></html>
"""
