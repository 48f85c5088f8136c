"""`rainbow bids`: level-2 selection from the command line. A cluster lists the bid requests open to it and answers
them; the submitter of a job put out for bids sees every bid and the winner."""
from __future__ import annotations

import click

from rainbow.cli.common import client_command, cluster_options, connection_options, emit, json_option, resolve

_JOB_ID = click.IntRange(min=1, max=2**31 - 1)


@click.group()
def bids() -> None:
    """Bid for jobs (as a cluster) or see the bids for a job (as its submitter)."""


@bids.command("list")
@click.option("--limit", type=click.IntRange(min=0), default=0, help="At most this many (0: the server's page).")
@cluster_options
@connection_options
@json_option
@client_command
def list_requests(limit: int, as_json: bool, **params) -> None:
    """The bid requests open to this cluster that it has not answered, oldest first."""
    settings = resolve(params)
    name, secret = settings.cluster_credentials()
    with settings.client() as client:
        asked = client.open_bids(name, secret, limit=limit)
    lines = [f"{a.job_id}\t{a.name}\tcloses {a.closes.isoformat() if a.closes else '-'}" for a in asked]
    emit(as_json, {"cluster": name, "requests": [a.to_dict() for a in asked]},
         lines or [f"no bid requests open to cluster {name}"])


@bids.command("answer")
@click.argument("job_id", type=_JOB_ID)
@click.option("--eta", "eta", type=click.FloatRange(min=0), default=None,
              help="Seconds until the job could start here.")
@click.option("--cost", type=click.FloatRange(min=0), default=None, help="What running the job here would cost.")
@click.option("--valid-for", "valid_for", type=click.FloatRange(min=0), default=None,
              help="Seconds the bid holds (default: until the job is decided).")
@click.option("--decline", is_flag=True, help="Say this cluster will not run the job.")
@cluster_options
@connection_options
@json_option
@client_command
def answer(job_id: int, eta: float | None, cost: float | None, valid_for: float | None, decline: bool,
           as_json: bool, **params) -> None:
    """Answer one bid request for this cluster (once: the first answer stands)."""
    settings = resolve(params)
    name, secret = settings.cluster_credentials()
    with settings.client() as client:
        result = client.answer_bid(name, secret, job_id, will_run=not decline, eta_seconds=eta, cost=cost,
                                   valid_for_seconds=valid_for)
    said = {"ANSWER_RECORDED": f"cluster {name}: bid for job {job_id} recorded",
            "ANSWER_ALREADY": f"cluster {name} has already answered for job {job_id}; the first answer stands",
            "ANSWER_CLOSED": f"job {job_id}: its bid window has closed",
            "ANSWER_UNKNOWN": f"job {job_id}: no bid request for cluster {name}"}[result]
    emit(as_json, {"cluster": name, "job_id": job_id, "result": result}, said if result == "ANSWER_RECORDED" else None)
    if result != "ANSWER_RECORDED":
        raise click.ClickException(said)


@bids.command("show")
@click.argument("job_id", type=_JOB_ID)
@click.option("--cluster", "pick", default=None, metavar="NAME[=TOKEN]",
              help="A candidate cluster whose token to show it with (default: the config's clusters, in turn).")
@connection_options
@json_option
@client_command
def show(job_id: int, pick: str | None, as_json: bool, **params) -> None:
    """The bids for a job put out for bids, and its winner once decided, with each candidate's reason."""
    from rainbow.cli.submit import _clusters
    from rainbow.client import RainbowError

    settings = resolve(params)
    pairs = _clusters(settings, (pick,) if pick else ())
    found = None
    with settings.client() as client:
        for cluster, token in pairs:  # the job's candidates are some of them: any one's token will do
            try:
                found = client.job_bids(job_id, cluster, token)
                break
            except RainbowError as exc:
                if exc.code not in ("PERMISSION_DENIED",) or cluster == pairs[-1][0]:
                    raise
    lines = [f"job {found.job_id}: {found.state}" + (f" on cluster {found.cluster}" if found.cluster else "")]
    for bid in found.bids:
        lines.append(f"  {bid.cluster}: {found.reasons.get(bid.cluster) or ('answered' if bid.answered else 'waiting')}")
    emit(as_json, found.to_dict(), lines)
