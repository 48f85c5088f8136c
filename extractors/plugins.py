"""Named plugins registered with a decorator: extractor sections, graph dialects, comparisons, requirement operators,
selection algorithms.

It lives at the bottom of the import order (extractors → compspec → rainbow) so that every layer can use it. A name
registered twice is refused at import time: silently replacing a plugin would change behaviour depending on which
module happened to be imported last.
"""
from __future__ import annotations

from typing import Callable, TypeVar

T = TypeVar("T")


class Registry(dict[str, T]):
    """A mapping of name → plugin that refuses a second plugin under a name already taken."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def add(self, name: str, plugin: T) -> T:
        if name in self:
            raise ValueError(f"{self.kind} {name!r} registered twice")
        self[name] = plugin
        return plugin

    def register(self, name: str) -> Callable[[T], T]:
        """A decorator that registers the decorated function under `name`."""

        def decorate(plugin: T) -> T:
            return self.add(name, plugin)

        return decorate
