"""`rainbow demo` from an installed package: the demo's data ships as package data, nothing is read from a clone.

The package is installed (not in editable mode) from a copy of the tree into a fresh virtual environment, the copy
is removed, and `rainbow demo` runs from an empty folder. The dependencies come from the environment running the
tests (a .pth file), so the install needs no package index.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _site_packages(python: Path) -> Path:
    done = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True)
    return Path(done.stdout.strip())


def test_rainbow_demo_runs_from_an_installed_package(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis", "tests",
        "bench", "docs"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    ours = sysconfig.get_paths()["purelib"]
    (_site_packages(python) / "test-dependencies.pth").write_text(ours + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "RAINBOW_", "PIP_"))}
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--ignore-installed", "--disable-pip-version-check", str(source)],
        capture_output=True, text=True, env=env, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    shutil.rmtree(source)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([str(python), "-c", "import rainbow, compspec; print(rainbow.__file__, compspec.__file__)"],
                           capture_output=True, text=True, env=env, cwd=elsewhere, check=True)
    assert all(Path(path).is_relative_to(env_dir) for path in where.stdout.split()), where.stdout

    done = subprocess.run([str(env_dir / "bin" / "rainbow"), "demo"], capture_output=True, text=True, env=env,
                          cwd=elsewhere, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "   it went to rocky-cpu, as job 1" in lines
    assert lines[-1].startswith("Done in ")
    assert list(elsewhere.iterdir()) == []
