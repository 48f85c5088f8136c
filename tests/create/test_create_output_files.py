"""Every command that writes a file: a regular file is replaced whole, a device or FIFO is written in place, a
directory is refused (compspec/outfile.py)."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from compspec.outfile import OutputError, open_output, write_output
from .helpers import NODES, UPSTREAM, run
from rainbow.cli import main as rainbow_main

COMPSPEC = [sys.executable, "-c", "from compspec.cli import main; main()"]


def _null_device(tmp_path: Path) -> Path:
    """A character device like /dev/null, made in tmp_path (needs root), so the real one is never at stake."""
    device = tmp_path / "null"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root")
    return device


def _read_fifo(fifo: Path) -> tuple[threading.Thread, list[str]]:
    got: list[str] = []

    def reader() -> None:
        with open(fifo, encoding="utf-8") as handle:
            got.append(handle.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    return thread, got


def test_regular_file_is_replaced_in_one_step(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old\n")
    before = target.stat().st_ino
    write_output(target, "new\n")
    assert target.read_text() == "new\n"
    assert target.stat().st_ino != before, "written beside and renamed, not rewritten in place"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_a_failed_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with open_output(target) as handle:
            handle.write("half")
            raise RuntimeError("stop")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_character_device_stays_a_device(tmp_path):
    device = _null_device(tmp_path)
    write_output(device, "{}\n")
    assert stat.S_ISCHR(device.stat().st_mode)


def test_fifo_is_written_in_place(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    thread, got = _read_fifo(fifo)
    write_output(fifo, "through the pipe\n")
    thread.join(10)
    assert got == ["through the pipe\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_directory_is_refused(tmp_path):
    with pytest.raises(OutputError, match=r"cannot write .*: Is a directory"):
        write_output(tmp_path, "x")


def test_symbolic_link_to_a_file_stays_a_link(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old\n")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_output(link, "new\n")
    assert link.is_symlink() and real.read_text() == "new\n"


def test_mode_of_a_new_file(tmp_path):
    write_output(tmp_path / "secret.yaml", "x: 1\n", mode=0o600)
    assert stat.S_IMODE((tmp_path / "secret.yaml").stat().st_mode) == 0o600
    old = os.umask(0o022)
    try:
        write_output(tmp_path / "plain.json", "{}\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "plain.json").stat().st_mode) == 0o644


# ---- the commands ----

def test_extract_to_a_device_keeps_the_device(tmp_path):
    device = _null_device(tmp_path)
    done = subprocess.run([*COMPSPEC, "extract", "-q", "-n", "system[os]", "-o",
                           str(device)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISCHR(device.stat().st_mode)


def test_extract_to_a_directory_is_refused(tmp_path):
    result = run("extract", "-q", "-n", "system[os]", "-o", tmp_path)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: cannot write {tmp_path}: Is a directory"


def test_create_nodes_to_a_device_and_a_fifo(tmp_path):
    device = _null_device(tmp_path)
    result = run("create", "nodes", "--cluster-name", "c", "--node-dir", NODES / "basic", "-o", device)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(device.stat().st_mode)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    thread, got = _read_fifo(fifo)
    result = run("create", "nodes", "--cluster-name", "c", "--node-dir", NODES / "basic", "-o", fifo)
    thread.join(10)
    assert result.exit_code == 0, result.stderr
    assert json.loads(got[0])["graph"]


def test_create_artifact_to_stdout_device():
    done = subprocess.run([*COMPSPEC, "create", "artifact", "-i",
                           str(UPSTREAM / "artifact-request-lammps.yaml"), "--from",
                           str(next((NODES / "basic").glob("*.json"))), "--allow-missing", "-o", "/dev/stdout"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["kind"] == "CompatibilitySpec"
    assert os.path.islink("/dev/stdout")


def test_create_artifact_to_a_directory_is_refused(tmp_path):
    result = run("create", "artifact", "-i", UPSTREAM / "artifact-request-lammps.yaml", "--from",
                 next((NODES / "basic").glob("*.json")), "--allow-missing", "-o", tmp_path)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == f"Error: cannot write {tmp_path}: Is a directory"


def test_config_init_to_a_directory_is_refused_and_to_a_file_owner_only(tmp_path):
    runner = CliRunner()
    result = runner.invoke(rainbow_main, ["config", "init", "--force", "--config-path", str(tmp_path)])
    assert result.exit_code == 2
    assert "is a directory" in result.output
    path = tmp_path / "rainbow-config.yaml"
    result = runner.invoke(rainbow_main, ["config", "init", "--config-path", str(path), "--secret", "s"])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_config_init_to_a_device(tmp_path):
    device = _null_device(tmp_path)
    result = CliRunner().invoke(rainbow_main, ["config", "init", "--force", "--config-path", str(device)])
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(device.stat().st_mode)
