"""Writing an output file: every command that writes a file goes through here.

A regular file (or a path that does not exist yet) is written beside the target and renamed onto it, so a reader
never sees half a node file, graph or config. Anything else is written in place: renaming onto `/dev/null` as root
would replace the device with a regular file, and renaming onto a FIFO or `/dev/stdout` would swap the name instead
of feeding the reader. A directory is refused.
"""
from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

# Paths whose names stand for something else (the process's own streams): never renamed onto, even when they lead
# to a regular file, since the rename would replace the link, not write the stream.
_STREAM_FOLDERS = ("/dev/", "/proc/")


class OutputError(Exception):
    """A file cannot be written; the message names it and says why, in one line."""


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _in_place(path: Path) -> bool:
    """Whether `path` is written in place (not a regular file, or a stream name) rather than replaced."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {_reason(exc)}") from None
    if stat.S_ISDIR(found.st_mode):
        raise OutputError(f"cannot write {path}: {os.strerror(errno.EISDIR)}")
    if not stat.S_ISREG(found.st_mode):
        return True
    spelled = os.path.abspath(path)
    return spelled.startswith(_STREAM_FOLDERS) or os.path.realpath(path).startswith(_STREAM_FOLDERS)


@contextmanager
def open_output(path: str | os.PathLike[str], *, mode: int | None = None,
                make_parents: bool = False) -> Iterator[TextIO]:
    """A text handle onto `path`, replaced whole when the block ends without an error.

    `mode` sets the permission bits of a file this creates or replaces (config files hold secrets: 0o600); None
    gives what `open` would (0o666 less the umask). `make_parents` creates missing folders first.
    """
    target = Path(path)
    if _in_place(target):
        try:
            handle = open(target, "w", encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"cannot write {target}: {_reason(exc)}") from None
        with handle:
            yield handle
        return
    # A symbolic link to a regular file keeps being a link: the file it names is the one replaced.
    real = Path(os.path.realpath(target)) if target.is_symlink() else target
    folder = real.parent if str(real.parent) else Path(".")
    try:
        if make_parents:
            folder.mkdir(parents=True, exist_ok=True)
        fd, temporary = _create_beside(folder, real.name)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {_reason(exc)}") from None
    try:
        os.fchmod(fd, _file_mode(mode))  # the umask may have narrowed what os.open made
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
        os.replace(temporary, real)
    except BaseException as exc:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {target}: {_reason(exc)}") from None
        raise


def write_output(path: str | os.PathLike[str], text: str, *, mode: int | None = None,
                 make_parents: bool = False) -> None:
    """Write `text` to `path` by the rule of `open_output`."""
    with open_output(path, mode=mode, make_parents=make_parents) as handle:
        handle.write(text)


def _file_mode(mode: int | None) -> int:
    if mode is not None:
        return mode
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _create_beside(folder: Path, name: str) -> tuple[int, str]:
    """A new, empty file in `folder` named after `name` (tempfile is not used: it is slow to import)."""
    for _ in range(100):
        temporary = str(folder / f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), temporary
        except FileExistsError:
            continue
    raise FileExistsError(17, "cannot create a temporary file", str(folder))
