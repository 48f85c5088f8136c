"""Long-running commands show progress on a terminal and nothing when their stderr is not one: `rainbow db copy`
and `compspec create nodes`, run as a user runs them, with stderr on a pseudo-terminal and on a pipe."""
from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

from rainbow.store import open_store

_LAUNCH = "import sys; from {module} import main; sys.exit(main())"


def _run(module: str, args: list[str], *, terminal: bool) -> tuple[int, str, str]:
    """Run a command; with `terminal`, its stderr is a pseudo-terminal (what it writes there is returned)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAINBOW_")}
    command = [sys.executable, "-c", _LAUNCH.format(module=module), *args]
    if not terminal:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
        return done.returncode, done.stdout, done.stderr
    import tempfile

    parent, child = pty.openpty()
    # stdout goes to a file: a pipe nobody reads while the terminal is read could fill and block the command.
    with tempfile.TemporaryFile() as stdout:
        with subprocess.Popen(command, stdout=stdout, stderr=child, stdin=subprocess.DEVNULL, env=env) as proc:
            os.close(child)
            seen = b""
            while True:
                try:
                    chunk = os.read(parent, 65536)
                except OSError:  # the command closed its end (EIO)
                    break
                if not chunk:
                    break
                seen += chunk
            proc.wait(60)
        stdout.seek(0)
        out = stdout.read().decode()
    os.close(parent)
    return proc.returncode, out, seen.decode(errors="replace")


def _store_with_jobs(path, jobs: int) -> None:
    store = open_store(path)
    store.register_cluster("red", "t", "s", "{}")
    for i in range(jobs):
        store.add_job("red", f"j{i}", "spec")
    store.close()


def test_db_copy_progress(tmp_path):
    _store_with_jobs(tmp_path / "a.db", 2500)
    code, out, err = _run("rainbow.cli", ["db", "copy", "--from", str(tmp_path / "a.db"), "--to",
                                          str(tmp_path / "b.db")], terminal=True)
    assert code == 0 and "copied 1 clusters" in out and "2500 jobs" in out
    assert "copying jobs (2500 rows)" in err and "100%" in err
    code, out, err = _run("rainbow.cli", ["db", "copy", "--from", str(tmp_path / "a.db"), "--to",
                                          str(tmp_path / "c.db"), "--json"], terminal=False)
    assert code == 0 and json.loads(out)["jobs"] == 2500 and err == ""
    assert open_store(tmp_path / "c.db").count_jobs() == 2500


def test_create_nodes_progress(tmp_path):
    from create.helpers import extraction, write_nodes

    folder = write_nodes(tmp_path / "nodes", {f"n{i:04d}.json": extraction(f"n{i:04d}") for i in range(600)})
    args = ["create", "nodes", "--cluster-name", "c", "--node-dir", str(folder)]
    code, out, err = _run("compspec.cli", args, terminal=True)
    assert code == 0 and "reading nodes" in err and "100%" in err
    code, quiet_out, err = _run("compspec.cli", args, terminal=False)
    assert code == 0 and err == "" and quiet_out == out
