"""Progress for long-running commands: a bar on stderr when stderr is a terminal, nothing at all otherwise (a pipe,
a file, a log collector), so scripted runs and their logs stay clean."""
from __future__ import annotations

import contextlib
import sys
from typing import Iterable, Iterator, TypeVar

import click

T = TypeVar("T")


def on_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def progress(items: Iterable[T], label: str, *, length: int | None = None, minimum: int = 0) -> Iterator[Iterable[T]]:
    """`items`, shown as a bar labelled `label` while they are consumed, when stderr is a terminal and there are
    more than `minimum` of them (`length`, else len(items))."""
    size = length if length is not None else (len(items) if hasattr(items, "__len__") else None)  # type: ignore
    if not on_terminal() or (size is not None and size <= minimum):
        yield items
        return
    with click.progressbar(items, length=size, label=label, file=sys.stderr) as bar:
        yield bar
