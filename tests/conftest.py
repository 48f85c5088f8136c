"""Shared pytest set-up: the markers every test gets, the hypothesis profile, and a live `rainbow serve`
subprocess (see serverutil.py).

Markers are given here, by where a test lives and what it uses, so that no test file has to remember them:
`e2e` (starts the real server or a registry, or runs a command as a user does), `fuzz` (hypothesis or generated
inputs), `slow` (the reliability and interop suites, the demo, and every soak test). `make test-fast` leaves out `e2e`, `slow`
and `fuzz`.

Property tests run seeded (derandomized: the same examples every run) unless HYPOTHESIS_PROFILE=random, which
`make soak` sets to draw new examples each run.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

_TESTS = Path(__file__).resolve().parent
if str(_TESTS) not in sys.path:
    # `from serverutil import start_server` works from every test folder, whatever pytest's import mode.
    sys.path.insert(0, str(_TESTS))

from serverutil import DEFAULT_SECRET, ServerProcess, start_server  # noqa: E402

settings.register_profile("seeded", derandomize=True, database=None)
settings.register_profile("random", derandomize=False, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "seeded"))

_E2E_FOLDERS = {"e2e", "examples", "interop", "reliability"}
_E2E_FILES = {"test_cli_e2e.py", "test_docs_demo.py", "test_docs_commands.py", "test_store_replicas.py",
              "test_store_serve.py"}
_SLOW_FOLDERS = {"interop", "reliability"}
_SLOW_FILES = {"test_docs_demo.py", "test_store_replicas.py"}
# fixtures that start a server process: rainbow's, the OCI registry of tests/images, or a browser on the demo site
_SERVER_FIXTURES = {"rainbow_server", "server_factory", "examples_server", "fresh_cluster", "registry",
                    "auth_registry", "tls_registry", "demo_site", "browser"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.path)).resolve()
        try:
            parts = path.relative_to(_TESTS).parts
        except ValueError:
            continue
        folder = parts[0] if len(parts) > 1 else ""
        if folder in _E2E_FOLDERS or path.name in _E2E_FILES or _SERVER_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.e2e)
        if "fuzz" in path.name or getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.fuzz)
        if folder in _SLOW_FOLDERS or path.name in _SLOW_FILES or item.get_closest_marker("soak"):
            item.add_marker(pytest.mark.slow)



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
