"""`.ci/run` tests the committed tree in a fresh folder with nothing beside it.

The script is copied into a small repository whose `make test` reports where it ran, so the real suite is not run
again from inside itself.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CI_RUN = Path(__file__).resolve().parents[2] / ".ci" / "run"

MAKEFILE = """\
test:
\tpwd > "$(REPORT)/where"
\tls -A .. > "$(REPORT)/siblings"
\tgit rev-parse HEAD > "$(REPORT)/commit"
\tls -A > "$(REPORT)/files"
"""


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "ci", "GIT_AUTHOR_EMAIL": "ci@localhost", "GIT_COMMITTER_NAME": "ci",
           "GIT_COMMITTER_EMAIL": "ci@localhost"}
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True)
    return done.stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None or shutil.which("make") is None, reason="needs git and make")
def test_ci_run_tests_a_fresh_clone_of_the_commit(tmp_path: Path):
    repo = tmp_path / "project"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy2(CI_RUN, repo / ".ci" / "run")
    (repo / "Makefile").write_text(MAKEFILE)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "first")
    head = _git(repo, "rev-parse", "HEAD")
    (repo / "uncommitted.txt").write_text("not part of the commit\n")
    (tmp_path / "sibling").mkdir()
    report = tmp_path / "report"
    report.mkdir()
    temp = tmp_path / "temp"
    temp.mkdir()

    done = subprocess.run([str(repo / ".ci" / "run")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "REPORT": str(report), "TMPDIR": str(temp)})

    assert done.returncode == 0, done.stdout + done.stderr
    where = Path((report / "where").read_text().strip())
    assert where != repo and temp in where.parents
    assert (report / "siblings").read_text().split() == [where.name]
    assert (report / "commit").read_text().strip() == head
    assert "uncommitted.txt" not in (report / "files").read_text().split()
    assert list(temp.iterdir()) == [], "the temporary folder is removed afterwards"


@pytest.mark.skipif(shutil.which("git") is None or shutil.which("make") is None, reason="needs git and make")
def test_ci_run_fails_when_make_test_fails(tmp_path: Path):
    repo = tmp_path / "project"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy2(CI_RUN, repo / ".ci" / "run")
    (repo / "Makefile").write_text("test:\n\tfalse\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "first")
    done = subprocess.run([str(repo / ".ci" / "run")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TMPDIR": str(tmp_path)})
    assert done.returncode != 0
