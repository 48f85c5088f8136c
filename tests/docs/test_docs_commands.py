"""Every shell session shown in the user guide runs, against a real server, and prints what the guide shows."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import registryutil
from serverutil import start_server

from .docsrun import Command, commands_of, output_matches, run_session

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted(p for p in (REPO / "docs").glob("*.md") if commands_of(p))
SECRET = "chocolate-cookies"  # the registration secret the guide's server uses


def session_env(address: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAINBOW_")}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", HOME=str(home),
               RAINBOW_HOST=address, COLUMNS="120", PYTHONUNBUFFERED="1")
    return env


def test_the_guide_has_sessions_to_check():
    names = {p.name for p in DOCS}
    assert {"quickstart.md", "commands.md", "python.md"} <= names


@pytest.mark.parametrize("page", DOCS, ids=[p.name for p in DOCS])
def test_page_sessions(page: Path, tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "examples").symlink_to(REPO / "examples")
    (work / "tests").symlink_to(REPO / "tests")
    commands = commands_of(page)
    registry = None
    if any("$REGISTRY" in c.text for c in commands):  # the images guide pushes to a real registry
        if not registryutil.available():
            pytest.skip("docker-registry is not installed (.ci/run installs it)")
        registry = registryutil.start_registry(tmp_path / "registry")
    try:
        extra = {"REGISTRY": registry.address, "DOCKER_CONFIG": str(tmp_path / "docker")} if registry else {}
        if not any(c.text.startswith("rainbow ") for c in commands):  # a page without client commands: no server
            outcomes = run_session(commands, work, session_env("127.0.0.1:1", tmp_path) | extra)
        else:
            server = start_server(tmp_path / "server", secret=SECRET)
            try:
                outcomes = run_session(commands, work, session_env(server.address, tmp_path) | extra)
            finally:
                server.stop()
    finally:
        if registry is not None:
            registry.stop()
    problems = [p for p in (o.problem() for o in outcomes) if p]
    assert not problems, "\n\n".join(problems)


# -- the checker itself -----------------------------------------------------------------------------------------
def test_ellipsis_within_a_line_and_for_whole_lines():
    assert output_matches(["job ... queued for intel"], ["job 12 queued for intel"])
    assert not output_matches(["job ... queued for intel"], ["job 12 queued for amd"])
    assert output_matches(["first", "...", "last"], ["first", "a", "b", "last"])
    assert output_matches(["first", "...", "last"], ["first", "last"])
    assert not output_matches(["first", "last"], ["first", "extra", "last"])
    assert not output_matches(["only"], [])


def test_console_blocks_are_parsed_with_continuations_and_outputs(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text("text\n```console\n$ echo a \\\n  b\na b\n$ false\nError: no\n```\n```text\n$ not run\n```\n")
    found = commands_of(page)
    assert [c.text for c in found] == ["echo a \\\n  b", "false"]
    assert found[0].expected == ["a b"] and not found[0].must_fail and found[1].must_fail
    assert found[0].source == "page.md:3"


def test_a_session_keeps_state_and_reports_each_exit_status(tmp_path: Path):
    commands = [Command("x:1", "X=42"), Command("x:2", "printf %s $X"), Command("x:3", "echo Error: bad; exit_code=3;"
                                                                            " (exit $exit_code)")]
    outcomes = run_session(commands, tmp_path, {"PATH": os.environ["PATH"]})
    assert [(o.returncode, o.output) for o in outcomes] == [(0, []), (0, ["42"]), (3, ["Error: bad"])]
