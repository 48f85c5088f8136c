"""Fixtures of the reliability suite: the long/short switch and the figures each test reports.

Every test here prints what it reached (jobs, kill points, inputs, rates, memory). The lines go to stderr at once
(visible with -s), into the JUnit properties, and into one block at the end of the run, so that `make soak` shows
them even under -q.
"""
from __future__ import annotations

import sys

import pytest

_FIGURES: list[str] = []


class Figures:
    """Collects `name=value` figures for one test and prints them as one summary line."""

    def __init__(self, test: str, record_property) -> None:
        self.test = test
        self.record_property = record_property
        self.values: dict[str, object] = {}

    def add(self, **values: object) -> None:
        for key, value in values.items():
            self.values[key] = value
            self.record_property(key, value)

    def line(self, text: str) -> None:
        """A free-form figure line (e.g. one row of a throughput-over-time table)."""
        entry = f"[{self.test}] {text}"
        _FIGURES.append(entry)
        print(entry, file=sys.stderr, flush=True)

    def flush(self) -> None:
        if self.values:
            text = " ".join(f"{k}={_fmt(v)}" for k, v in self.values.items())
            self.line(text)
            self.values = {}


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


@pytest.fixture
def figures(request, record_property):
    """Report figures: `figures.add(jobs=1000, rate=412.5)`; printed when the test ends, pass or fail."""
    fig = Figures(request.node.name, record_property)
    yield fig
    fig.flush()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_db(request, tmp_path):
    """Where the server under test keeps its store, once per backend: None (the default SQLite file in the
    server's folder) or the URL of a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("pg_url")


def pytest_terminal_summary(terminalreporter) -> None:
    if _FIGURES:
        terminalreporter.section("reliability figures")
        for entry in _FIGURES:
            terminalreporter.write_line(entry)
