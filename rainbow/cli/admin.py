"""`rainbow admin`: users, groups of clusters, grants and the audit trail, with the admin token."""
from __future__ import annotations

from datetime import datetime, timezone

import click

from rainbow.cli.common import client_command, connection_options, emit, json_option, resolve
from rainbow.cli.settings import setting


def admin_token_option(func):
    return setting("--admin-token", config_key="admin.token",
                   help="The admin token the server was started with.")(func)


def _admin(params) -> tuple:
    settings = resolve(params)
    return settings, settings.require("admin.token", "--admin-token")


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def admin_command(group: click.Group, name: str):
    """A subcommand with the admin token, the connection options and --json."""
    def decorate(func):
        return group.command(name)(admin_token_option(connection_options(json_option(client_command(func)))))

    return decorate


@click.group()
def admin() -> None:
    """Manage users, groups of clusters and grants (needs the admin token)."""


@admin.group()
def user() -> None:
    """Add, list, remove users, and rotate their tokens."""


@admin.group()
def group() -> None:
    """Groups of clusters, granted to users as one."""


@click.argument("name")
@admin_command(user, "add")
def user_add(name: str, as_json: bool, **params) -> None:
    """Make a user; prints its token once (the server keeps only a hash)."""
    settings, token = _admin(params)
    with settings.client() as client:
        made = client.add_user(token, name)
    emit(as_json, {"user": name, "token": made}, [f"added user {name}", f"token: {made}"])


@admin_command(user, "list")
def user_list(as_json: bool, **params) -> None:
    """Every user with its grants and the clusters they reach."""
    settings, token = _admin(params)
    with settings.client() as client:
        users = client.list_users(token)
    lines = ["USER\tCREATED\tGRANTS\tCLUSTERS"] + [
        f"{u.name}\t{_when(u.created)}\t{' '.join(f'{k}:{t}' for k, t in u.grants) or '-'}\t"
        f"{' '.join(u.clusters) or '-'}" for u in users]
    emit(as_json, {"users": [u.to_dict() for u in users]}, lines if users else ["no users"])


@click.argument("name")
@admin_command(user, "remove")
def user_remove(name: str, as_json: bool, **params) -> None:
    """Remove a user: its token stops working; its jobs stay on record."""
    settings, token = _admin(params)
    with settings.client() as client:
        client.remove_user(token, name)
    emit(as_json, {"user": name, "removed": True}, f"removed user {name}")


@click.argument("name")
@click.option("--overlap", type=click.FloatRange(0, 30 * 86400), default=0.0, show_default=True,
              help="Seconds the old token keeps working.")
@admin_command(user, "rotate")
def user_rotate(name: str, overlap: float, as_json: bool, **params) -> None:
    """Give a user a new token; the old one is refused at once, or after --overlap seconds."""
    settings, token = _admin(params)
    with settings.client() as client:
        done = client.rotate("user-token", token, name=name, overlap_seconds=overlap)
    lines = [f"rotated the token of user {name}", f"token: {done.credential}"]
    if done.old_until:
        lines.append(f"the old token works until {_when(done.old_until)}")
    emit(as_json, {"user": name, "token": done.credential, "old_until": done.old_until or None}, lines)


@click.argument("name")
@click.option("--cluster", "clusters", multiple=True, metavar="CLUSTER", help="A cluster of the group (repeatable).")
@admin_command(group, "add")
def group_add(name: str, clusters: tuple[str, ...], as_json: bool, **params) -> None:
    """Make a group of clusters, or add clusters to an existing one."""
    settings, token = _admin(params)
    with settings.client() as client:
        created = client.add_group(token, name, list(clusters))
    what = "added group" if created else "extended group"
    emit(as_json, {"group": name, "clusters": list(clusters), "created": created},
         f"{what} {name}: {' '.join(clusters) or '(no clusters)'}")


@admin_command(group, "list")
def group_list(as_json: bool, **params) -> None:
    """Every group with its clusters."""
    settings, token = _admin(params)
    with settings.client() as client:
        groups = client.list_groups(token)
    emit(as_json, {"groups": [{"name": n, "clusters": c} for n, c in groups.items()]},
         [f"{n}\t{' '.join(c) or '-'}" for n, c in groups.items()] or ["no groups"])


@click.argument("name")
@admin_command(group, "remove")
def group_remove(name: str, as_json: bool, **params) -> None:
    """Remove a group and every grant of it."""
    settings, token = _admin(params)
    with settings.client() as client:
        client.remove_group(token, name)
    emit(as_json, {"group": name, "removed": True}, f"removed group {name}")


def _kind(as_group: bool, as_cluster: bool) -> str:
    if as_group and as_cluster:
        raise click.UsageError("give --group or --cluster, not both")
    return "group" if as_group else "cluster" if as_cluster else ""


@click.argument("target")
@click.argument("user_name", metavar="USER")
@click.option("--group", "as_group", is_flag=True, help="TARGET is a group (when a cluster has the same name).")
@click.option("--cluster", "as_cluster", is_flag=True, help="TARGET is a cluster (when a group has the same name).")
@admin_command(admin, "grant")
def grant(user_name: str, target: str, as_group: bool, as_cluster: bool, as_json: bool, **params) -> None:
    """Let USER submit to TARGET, a group of clusters or one cluster."""
    settings, token = _admin(params)
    with settings.client() as client:
        kind = client.grant(token, user_name, target, _kind(as_group, as_cluster))
    emit(as_json, {"user": user_name, "kind": kind, "target": target}, f"granted {kind} {target} to user {user_name}")


@click.argument("target")
@click.argument("user_name", metavar="USER")
@click.option("--group", "as_group", is_flag=True, help="TARGET is a group.")
@click.option("--cluster", "as_cluster", is_flag=True, help="TARGET is a cluster.")
@admin_command(admin, "revoke")
def revoke(user_name: str, target: str, as_group: bool, as_cluster: bool, as_json: bool, **params) -> None:
    """Take back a grant."""
    settings, token = _admin(params)
    with settings.client() as client:
        kind = client.revoke(token, user_name, target, _kind(as_group, as_cluster))
    emit(as_json, {"user": user_name, "kind": kind, "target": target},
         f"revoked {kind} {target} from user {user_name}")


@click.option("--after", "after_id", type=click.IntRange(min=0), default=0, help="Rows after this id.")
@click.option("--limit", type=click.IntRange(min=0), default=0, help="At most this many rows (0: the server's page).")
@admin_command(admin, "audit")
def audit(after_id: int, limit: int, as_json: bool, **params) -> None:
    """The admin actions, oldest first."""
    settings, token = _admin(params)
    with settings.client() as client:
        rows = client.audit(token, after_id, limit)
    emit(as_json, {"rows": [r.to_dict() for r in rows]},
         [f"{r.id}\t{_when(r.at)}\t{r.action}\t{r.subject or '-'}\t{r.detail}" for r in rows] or ["no admin actions"])
