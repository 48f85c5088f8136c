"""The extractor registry.

An extractor module declares itself once and registers each section with a decorator:

    SYSTEM = extractor("system", "CPU, processors, architecture, memory and OS")

    @SYSTEM.section("os", "distribution name, version, vendor and release")
    def os_section(host: Host) -> dict[str, str]:
        ...

A section is a function of a `Host` returning a flat `dict[str, str]`. When a section cannot run (no mpirun,
no /boot, no GPU) it raises `SectionUnavailable` with a short reason: the runner turns that into an empty section and
one warning line, so one missing fact never costs the others.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

from compspec.extractors.host import Host
from compspec.extractors.plugins import Registry

SectionFunc = Callable[[Host], "dict[str, str]"]

#: Extractor modules shipped with the package, in the order `compspec list` shows them.
BUILTIN_MODULES = ("system", "kernel", "library", "nfd", "gpu")

REGISTRY: Registry["Extractor"] = Registry("extractor")


class SectionUnavailable(Exception):
    """A section has nothing to report on this node; the message says why in a few words."""


@dataclass(frozen=True)
class Section:
    name: str
    description: str
    func: SectionFunc


@dataclass
class Extractor:
    name: str
    description: str
    #: Sections used when the extractor is part of the default set; None means all of them.
    default_sections: tuple[str, ...] | None = None
    sections: Registry[Section] = field(default_factory=lambda: Registry("section"))

    def __post_init__(self) -> None:
        self.sections.kind = f"section of extractor {self.name}:"

    def section(self, name: str, description: str) -> Callable[[SectionFunc], SectionFunc]:
        """Register the decorated function as section `name` of this extractor."""

        def register(func: SectionFunc) -> SectionFunc:
            self.sections.add(name, Section(name, description, func))
            return func

        return register

    def defaults(self) -> list[str]:
        return list(self.default_sections) if self.default_sections is not None else list(self.sections)


def extractor(name: str, description: str, default_sections: tuple[str, ...] | None = None) -> Extractor:
    """Declare an extractor; its module then registers sections on the returned object."""
    return REGISTRY.add(name, Extractor(name, description, default_sections))


def load_builtin() -> dict[str, Extractor]:
    """Import every shipped extractor module (cheap: heavy libraries are imported inside sections)."""
    for module in BUILTIN_MODULES:
        importlib.import_module(f"compspec.extractors.{module}")
    return REGISTRY
