"""Shared pytest fixtures: a live `rainbow serve` subprocess (see serverutil.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

_TESTS = Path(__file__).resolve().parent
if str(_TESTS) not in sys.path:
    # `from serverutil import start_server` works from every test folder, whatever pytest's import mode.
    sys.path.insert(0, str(_TESTS))

from serverutil import DEFAULT_SECRET, ServerProcess, start_server  # noqa: E402



@pytest.fixture
def rainbow_server(tmp_path: Path):
    """A running server with registration secret DEFAULT_SECRET and a fresh database; stopped afterwards."""
    server = start_server(tmp_path / "server", secret=DEFAULT_SECRET)
    try:
        yield server
    finally:
        if server.running and not _stop_quietly(server):
            server.kill()


@pytest.fixture
def server_factory(tmp_path: Path):
    """Start servers with custom options: `server_factory(secret=..., extra_args=[...])`; all stopped afterwards."""
    started: list[ServerProcess] = []

    def make(**kwargs) -> ServerProcess:
        sub = tmp_path / f"server{len(started)}"
        server = start_server(sub, **kwargs)
        started.append(server)
        return server

    yield make
    for server in started:
        if server.running and not _stop_quietly(server):
            server.kill()


def _stop_quietly(server: ServerProcess) -> bool:
    try:
        server.stop()
        return True
    except Exception:
        return False


NO_POSTGRES = "PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run installs it)"


@pytest.fixture(scope="session")
def postgres_server():
    """One throw-away PostgreSQL for the whole run (see pgutil.py); skips when PostgreSQL is absent."""
    from pgutil import start_postgres

    server = start_postgres()
    if server is None:
        pytest.skip(NO_POSTGRES)
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def pg_url(postgres_server) -> str:
    """The URL of a fresh, empty database on the session's PostgreSQL."""
    return postgres_server.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """Where a store lives, once for each backend: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "rainbow.db")
    return request.getfixturevalue("pg_url")
