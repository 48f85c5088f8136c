"""Local resource managers as plugins: each is a Manager subclass registered under its name with `@manager`.

    @manager("pbs")
    class PBS(Manager):
        ...

`rainbow agent --manager NAME` picks one; `names()` lists them for the option's choices.
"""
from __future__ import annotations

import importlib
from typing import Callable

from rainbow.agent.managers.base import LocalStatus, Manager, ManagerError, Refused

__all__ = ["LocalStatus", "Manager", "ManagerError", "Refused", "create", "manager", "names"]

_REGISTRY: dict[str, type[Manager]] = {}
# The plugins that ship with rainbow, imported on first use (each registers itself).
_BUILTIN = ("rainbow.agent.managers.slurm", "rainbow.agent.managers.flux", "rainbow.agent.managers.shell")


def manager(name: str) -> Callable[[type[Manager]], type[Manager]]:
    """Register a Manager subclass under `name`."""
    def register(cls: type[Manager]) -> type[Manager]:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"manager {name} is registered twice")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return register


def _load() -> None:
    for module in _BUILTIN:
        importlib.import_module(module)


def names() -> list[str]:
    _load()
    return sorted(_REGISTRY)


def create(name: str, **options) -> Manager:
    """A Manager of the registered kind `name`; KeyError names the known kinds."""
    _load()
    if name not in _REGISTRY:
        raise KeyError(f"no manager {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name](**options)
