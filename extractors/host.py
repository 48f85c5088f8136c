"""Every file an extractor reads, and every program it runs, goes through a `Host`.

A host is a root folder (default `/`). In a container with the node's /proc, /sys and /etc mounted under
`/host`, `Host("/host")` reads the node rather than the container; tests point it at recorded fixture trees.

Programs (mpirun, nvidia-smi, rocm-smi, ldd) run only when the root is `/` or when asked to
(`run_commands=True`). Otherwise their output is read from a recording in the tree:

    <root>/.commands/<name>.txt     stdout and stderr of the program, as it printed them

where `<name>` is the recording's name given by the extractor that wants it:

    ==================  ===============================================================================
    name                program
    ==================  ===============================================================================
    mpirun-version      mpirun --version
    mpichversion        mpichversion
    ompi_info           ompi_info --parsable --version  (Open MPI only)
    ldd-version         ldd --version
    nvidia-smi-query    nvidia-smi --query-gpu=index,name,memory.total,driver_version,pci.bus_id,uuid
                        --format=csv,noheader,nounits
    nvidia-smi          nvidia-smi  (the header line gives the CUDA version)
    rocm-smi            rocm-smi --showproductname --showmeminfo vram --showdriverversion --json
    uname-m             uname -m  (when /proc/sys/kernel/arch is missing and /proc/cpuinfo is ambiguous)
    ==================  ===============================================================================

A missing recording means the program is not installed on that node.
"""
from __future__ import annotations

import os
from typing import Any, Callable


COMMANDS_DIR = ".commands"


class Host:
    """Read-only view of one node's files, rooted at `root`."""

    def __init__(self, root: str = "/", run_commands: bool | None = None) -> None:
        self.root = os.path.abspath(root or "/")
        self.live = self.root == "/"
        self.run_commands = self.live if run_commands is None else bool(run_commands)
        #: Parsed files several sections share (/proc/cpuinfo, os-release), computed once per run.
        self.cache: dict[str, Any] = {}
        #: Warnings about facts left out of a section that still reports the rest; the runner names the section.
        self.notes: list[str] = []

    def warn(self, message: str) -> None:
        """Say why a fact is missing while the section goes on (SectionUnavailable is for a section with nothing)."""
        self.notes.append(message)

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    def path(self, path: str) -> str:
        """The real location of an absolute node path under the root."""
        if self.live:
            return path
        return self._inside(path)

    def _inside(self, path: str) -> str:
        """Follow symlinks component by component so an absolute link (/etc/x -> /usr/lib/x) stays in the root."""
        parts = [p for p in path.split("/") if p and p != "."]
        current = self.root
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == "..":
                current = os.path.dirname(current) if current != self.root else current
                continue
            candidate = os.path.join(current, part)
            if os.path.islink(candidate) and hops < 40:
                hops += 1
                target = os.readlink(candidate)
                if target.startswith("/"):
                    current = self.root
                parts[:0] = [p for p in target.split("/") if p and p != "."]
                continue
            current = candidate
        return current

    def read(self, path: str) -> str | None:
        """The text of a file, or None when it is missing or unreadable (sysfs files may refuse a read)."""
        data = self.read_bytes(path)
        return None if data is None else data.decode("utf-8", errors="replace")

    def read_bytes(self, path: str, limit: int = -1) -> bytes | None:
        try:
            with open(self.path(path), "rb") as handle:
                return handle.read(limit)
        except (OSError, ValueError):
            return None

    def value(self, path: str) -> str | None:
        """A one-value file (the usual sysfs shape), stripped; None when missing, unreadable or empty."""
        text = self.read(path)
        if text is None:
            return None
        text = text.strip()
        return text or None

    def listdir(self, path: str) -> list[str]:
        """Entries of a folder, sorted; empty when it does not exist."""
        try:
            return sorted(os.listdir(self.path(path)))
        except OSError:
            return []

    def exists(self, path: str) -> bool:
        return os.path.exists(self.path(path))

    def isdir(self, path: str) -> bool:
        return os.path.isdir(self.path(path))

    def command(self, name: str, argv: list[str], timeout: float = 20.0) -> str | None:
        """Output of a program, or None when it is not there (not installed, not recorded, failed to start).

        The exit status is not checked: several tools (`ldd --version` on musl) print what we need and exit
        non-zero. A program that prints nothing counts as absent.
        """
        if not self.run_commands:
            if self.live:
                return None
            return self.read(os.path.join("/", COMMANDS_DIR, f"{name}.txt"))
        exe = _which(argv[0])
        if exe is None:
            return None
        import subprocess  # only paid for when a program is actually there to run

        try:
            done = subprocess.run(
                [exe, *argv[1:]],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        text = done.stdout.decode("utf-8", errors="replace")
        return text if text.strip() else None


def _which(program: str) -> str | None:
    """The program's path on PATH (shutil.which without its import cost, which the fast path avoids)."""
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(folder or ".", program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None
