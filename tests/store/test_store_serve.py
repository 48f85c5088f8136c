"""The store seen through `rainbow serve`: the registration secret it keeps, `rainbow db copy` from SQLite to
PostgreSQL, and backup and restore of each store, each compared by the answers the server gives."""
from __future__ import annotations

import sqlite3
import subprocess

import pytest

from rainbow.client import RainbowClient, RainbowError

from reliability.rel_graphs import cluster_graph
from .sitedata import answers, build_site
from .storeutil import rainbow

from serverutil import ServerError, start_server  # noqa: E402


def _register(address: str, secret: str, name: str) -> str:
    with RainbowClient(address) as client:
        try:
            return client.register(name, secret, cluster_graph(name, nodes=1, cores=2)).status
        except RainbowError as exc:
            return exc.code


def test_restart_without_secret_uses_the_stored_one(store_url, tmp_path):
    server = start_server(tmp_path / "a", secret=None, db=store_url)
    made = server.secret
    assert made and "registration secret" in server.stdout()
    server.stop()
    again = start_server(tmp_path / "b", secret=None, db=store_url)
    try:
        assert "registration secret" not in again.stdout(), "a second secret was made"
        assert _register(again.address, made, "one") == "REGISTER_SUCCESS"
        assert _register(again.address, "some-other-secret", "two") == "PERMISSION_DENIED"
    finally:
        again.stop()


def test_a_different_secret_is_refused_unless_rotated(store_url, tmp_path):
    start_server(tmp_path / "a", secret="first-secret", db=store_url).stop()
    with pytest.raises(ServerError) as err:
        start_server(tmp_path / "b", secret="second-secret", db=store_url)
    assert "different registration secret" in str(err.value) and "--rotate-registration-secret" in str(err.value)
    server = start_server(tmp_path / "c", secret="second-secret", db=store_url,
                          extra_args=["--rotate-registration-secret"])
    try:
        assert "registration secret rotated" in server.stderr()
        assert _register(server.address, "first-secret", "one") == "PERMISSION_DENIED"
        assert _register(server.address, "second-secret", "two") == "REGISTER_SUCCESS"
    finally:
        server.stop()
    start_server(tmp_path / "d", secret="second-secret", db=store_url).stop()  # the same secret carries on


def test_copy_from_sqlite_to_postgresql_keeps_every_answer(tmp_path, pg_url):
    sqlite_db = tmp_path / "old.db"
    server = start_server(tmp_path / "old", db=sqlite_db, secret="site-secret")
    creds = build_site(server.address, "site-secret")
    before = answers(server.address, creds)
    server.stop()

    done = rainbow("db", "copy", "--from", f"sqlite:///{sqlite_db}", "--to", pg_url, "--json")
    assert done.returncode == 0, done.stderr
    assert '"clusters": 2' in done.stdout and '"jobs": 10' in done.stdout  # `gone`: 2 pending went, 2 stay retired
    refused = rainbow("db", "copy", "--from", f"sqlite:///{sqlite_db}", "--to", pg_url)
    assert refused.returncode == 1 and "not empty" in refused.stderr

    moved = start_server(tmp_path / "new", db=pg_url, secret=None)  # the secret came along with the store
    try:
        assert answers(moved.address, creds) == before
        assert _register(moved.address, "site-secret", "fresh") == "REGISTER_SUCCESS"
        with RainbowClient(moved.address) as client:
            token = creds["red"][0]
            from reliability.rel_graphs import nextgen_jobspec
            newest = client.submit(nextgen_jobspec(nodes=1, cores=1), [("red", token)]).jobid
        assert newest > max(job[0] for key, jobs in before.items() if key.endswith(".jobs") for job in jobs)
    finally:
        moved.stop()


def test_backup_and_restore(store_url, tmp_path, postgres_server):
    server = start_server(tmp_path / "live", db=store_url, secret="site-secret")
    try:
        creds = build_site(server.address, "site-secret")
        before = answers(server.address, creds)
        # Online backups, while the server runs, as docs/operating.md says.
        if store_url.startswith("postgresql://"):
            dump = tmp_path / "rainbow.dump"
            subprocess.run([str(postgres_server.bindir / "pg_dump"), "-Fc", "-f", str(dump), "-d", store_url],
                           check=True, stdin=subprocess.DEVNULL)
            restored = postgres_server.new_database("restored")
            subprocess.run([str(postgres_server.bindir / "pg_restore"), "--no-owner", "-d", restored, str(dump)],
                           check=True, stdin=subprocess.DEVNULL)
        else:
            restored = str(tmp_path / "restored.db")
            source, target = sqlite3.connect(store_url), sqlite3.connect(restored)
            source.backup(target)
            source.close()
            target.close()
    finally:
        server.stop()
    back = start_server(tmp_path / "back", db=restored, secret=None)
    try:
        assert answers(back.address, creds) == before
    finally:
        back.stop()
