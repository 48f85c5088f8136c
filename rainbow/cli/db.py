"""`rainbow db`: look after the store itself: its schema version, upgrades, and moving a site to another store."""
from __future__ import annotations

import json

import click

# Rows written per transaction by `rainbow db copy` (and per step of its progress bar on a terminal).
COPY_CHUNK = 2000

_DB_HELP = "The store: a SQLite file (or sqlite:///PATH), or postgresql://USER@HOST:PORT/DB."


@click.group()
def db() -> None:
    """Upgrade the store's schema, show its version, copy it to another store."""


def _open(location: str, **kwargs):
    from rainbow.store import StoreError, open_store

    try:
        return open_store(location, **kwargs)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None


@db.command()
@click.option("--db", "location", default="rainbow.db", show_default=True, envvar="RAINBOW_DB", show_envvar=True,
              help=_DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def upgrade(location: str, as_json: bool) -> None:
    """Migrate the store to this rainbow's schema (a new store is created at it). Stop the servers first."""
    from rainbow.store import SchemaVersionError, StoreError, open_store

    before = None
    try:
        probe = open_store(location)
        before = probe.schema_version()
        probe.close()
    except SchemaVersionError as exc:
        if "newer" in str(exc):
            raise click.ClickException(str(exc)) from None
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    store = _open(location, upgrade=True)
    try:
        after = store.schema_version()
        where = store.location
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"store": where, "schema_version": after, "upgraded": before is None}))
    elif before is None:
        click.echo(f"{where}: upgraded to schema version {after}")
    else:
        click.echo(f"{where}: already at schema version {after}")


@db.command()
@click.option("--db", "location", default="rainbow.db", show_default=True, envvar="RAINBOW_DB", show_envvar=True,
              help=_DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def version(location: str, as_json: bool) -> None:
    """Show the store's schema version and what it holds."""
    store = _open(location)
    try:
        info = {"store": store.location, "schema_version": store.schema_version(),
                "clusters": len(store.cluster_names()), "jobs": store.count_jobs()}
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(info))
    else:
        click.echo(" ".join(f"{k}={v}" for k, v in info.items()))


@db.command()
@click.option("--from", "source", required=True, help="The store to copy from (it is only read).")
@click.option("--to", "target", required=True, help="The store to copy into: new, or empty.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def copy(source: str, target: str, as_json: bool) -> None:
    """Copy every cluster, credential hash, graph, state and job (with its id) into an empty store.

    Stop the servers on the source first; start them on the target afterwards.
    """
    from compspec.progress import progress
    from rainbow.store import COPY_TABLES, StoreError

    src = _open(source)
    try:
        dst = _open(target)
        try:
            if dst.cluster_names() or dst.count_jobs() or any(True for _ in dst.rows("jobs")):
                raise click.ClickException(f"{dst.location}: not empty; copy only into a new or empty store")
            copied = {}
            for table in COPY_TABLES:
                rows = list(src.rows(table))
                chunks = [rows[i:i + COPY_CHUNK] for i in range(0, len(rows), COPY_CHUNK)]
                copied[table] = 0
                with progress(chunks, f"copying {table} ({len(rows)} rows)", minimum=1) as shown:
                    for chunk in shown:
                        copied[table] += dst.load_rows(table, chunk)
            for table in COPY_TABLES:
                if table != "meta" and len(list(dst.rows(table))) != copied[table]:
                    raise click.ClickException(f"{dst.location}: {table}: rows missing after the copy")
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            dst.close()
    finally:
        src.close()
    summary = {"from": src.location, "to": dst.location, **{t: n for t, n in copied.items() if t != "meta"}}
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(f"copied {summary['clusters']} clusters, {summary['graphs']} graphs, {summary['states']} states "
                   f"and {summary['jobs']} jobs from {src.location} to {dst.location}")
