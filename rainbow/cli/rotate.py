"""`rainbow rotate KIND`: replace a credential, optionally keeping the old one working for a while."""
from __future__ import annotations

from datetime import datetime, timezone

import click

from rainbow.cli.common import client_command, cluster_options, connection_options, emit, json_option, resolve
from rainbow.cli.settings import setting

KINDS = ("cluster-token", "cluster-secret", "user-token", "registration-secret", "admin-token")


@click.command()
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("name", required=False, default="")
@click.option("--overlap", type=click.FloatRange(0, 30 * 86400), default=0.0, show_default=True,
              help="Seconds the old credential keeps working (0: refused at once).")
@click.option("--new-value", default="", help="The new registration secret or admin token (default: a random one).")
@setting("--admin-token", config_key="admin.token", help="The admin token (may rotate anything).")
@setting("--secret", config_key="scheduler.secret", help="The registration secret (rotates itself).")
@setting("--user-token", config_key="user.token", help="A user's token (rotates itself).")
@cluster_options
@connection_options
@json_option
@client_command
def rotate(kind: str, name: str, overlap: float, new_value: str, as_json: bool, **params) -> None:
    """Replace a credential: KIND is cluster-token or cluster-secret (NAME: the cluster, default --cluster-name),
    user-token (NAME: the user), registration-secret or admin-token.

    Asked with the admin token when one is given, else with the current credential of what is rotated: the
    cluster's secret, the user's token, the registration secret. Prints the new credential once."""
    settings = resolve(params)
    admin = settings.get("admin.token") or ""
    if kind.startswith("cluster-"):
        name = name or settings.require("cluster.name", "--cluster-name")
        credential = admin or settings.require("cluster.secret", "--cluster-secret")
    elif kind == "user-token":
        credential = admin or settings.require("user.token", "--user-token")
    elif kind == "registration-secret":
        credential = admin or settings.require("scheduler.secret", "--secret")
    else:
        credential = settings.require("admin.token", "--admin-token")
    if kind == "user-token" and admin and not name:
        raise click.UsageError("with --admin-token, name the user whose token to rotate")
    with settings.client() as client:
        done = client.rotate(kind, credential, name=name, overlap_seconds=overlap, new_value=new_value)
    what = f"{kind} of {name}" if name else kind
    lines = [f"rotated the {what}", f"new: {done.credential}"]
    if done.old_until:
        until = datetime.fromtimestamp(done.old_until, tz=timezone.utc).isoformat(timespec="seconds")
        lines.append(f"the old one works until {until.replace('+00:00', 'Z')}")
    else:
        lines.append("the old one is refused from now on")
    emit(as_json, {"kind": kind, "name": name, "credential": done.credential, "old_until": done.old_until or None},
         lines)
