"""The library extractor: the MPI a job launched here would get, and the C library."""
from __future__ import annotations

import os
import re

from compspec.extractors.host import Host
from compspec.extractors.registry import SectionUnavailable, extractor

LIBRARY = extractor("library", "MPI implementation and version, C library name and version")

_INTEL = re.compile(r"Intel\(R\) MPI Library.*?Version\s+(\S+)", re.I)
_OPEN_MPI = re.compile(r"\(Open MPI\)\s+(\S+)|Open MPI v?(\d\S*)|Open MPI:\s*(\S+)", re.I)
_MVAPICH = re.compile(r"MVAPICH2?\s+Version:\s*(\S+)|MVAPICH2?\s+(\d[\w.]*)", re.I)
_VERSION_FIELD = re.compile(r"^\s*(?:MPICH\s+)?Version:\s*(\S+)", re.I | re.M)
_GLIBC = re.compile(r"(?:GNU libc|GLIBC|GNU C Library)[^\n]*?(\d+\.\d+(?:\.\d+)?)", re.I)
_OMPI_INFO = re.compile(r"^ompi:version:full:(\S+)", re.M)


def parse_mpi(output: str) -> dict[str, str]:
    """Variant and version from `mpirun --version`, `mpichversion` or `ompi_info` output.

    Order matters: MVAPICH and Intel MPI print MPICH-style "Version:" lines too, so the specific names go first.
    """
    match = _INTEL.search(output)
    if match:
        return {"variant": "intel-mpi", "version": match.group(1).rstrip(",")}
    if "mvapich" in output.lower():
        match = _MVAPICH.search(output) or _VERSION_FIELD.search(output)
        return _with_version("mvapich", match)
    if "open mpi" in output.lower() or "open-mpi" in output.lower() or _OMPI_INFO.search(output):
        match = _OPEN_MPI.search(output) or _OMPI_INFO.search(output)
        version = next((g for g in match.groups() if g), "") if match else ""
        return {"variant": "OpenMPI", "version": version} if version else {"variant": "OpenMPI"}
    if "hydra" in output.lower() or "mpich" in output.lower():
        return _with_version("mpich", _VERSION_FIELD.search(output))
    return {}


def _with_version(variant: str, match: re.Match | None) -> dict[str, str]:
    version = next((g for g in match.groups() if g), "") if match else ""
    return {"variant": variant, "version": version} if version else {"variant": variant}


@LIBRARY.section("mpi", "MPI variant (OpenMPI, mpich, intel-mpi, mvapich) and version")
def mpi(host: Host) -> dict[str, str]:
    probes = (
        ("mpirun-version", ["mpirun", "--version"]),
        ("mpichversion", ["mpichversion"]),
        ("ompi_info", ["ompi_info", "--parsable", "--version"]),
    )
    seen = False
    for index, (name, argv) in enumerate(probes):
        output = host.command(name, argv)
        if output is None:
            continue
        seen = True
        found = parse_mpi(output)
        if found.get("variant") == "mpich" and index == 0:
            # MVAPICH ships MPICH's hydra launcher, which does not name MVAPICH; mpichversion does.
            detail = parse_mpi(host.command("mpichversion", ["mpichversion"]) or "")
            if detail.get("variant") == "mvapich":
                return detail
        if found:
            return found
    if seen:
        raise SectionUnavailable("mpirun is there but its output names no known MPI")
    if not host.run_commands and not host.live:
        raise SectionUnavailable("no recorded mpirun/mpichversion/ompi_info output (use --run-commands to run them)")
    raise SectionUnavailable("no MPI found (mpirun, mpichversion, ompi_info)")


def parse_ldd(output: str) -> dict[str, str]:
    """libc name and version from `ldd --version` (glibc prints it on the first line; musl on stderr)."""
    if "musl" in output.lower():
        match = re.search(r"Version\s+(\S+)", output)
        return {"name": "musl", "version": match.group(1)} if match else {"name": "musl"}
    match = _GLIBC.search(output)
    if match:
        return {"name": "glibc", "version": match.group(1)}
    return {}


@LIBRARY.section("libc", "C library name (glibc, musl) and version")
def libc(host: Host) -> dict[str, str]:
    if host.live:
        try:
            name, _, version = os.confstr("CS_GNU_LIBC_VERSION").partition(" ")
        except (ValueError, OSError, AttributeError):
            name = version = ""
        if name == "glibc" and version:
            return {"name": "glibc", "version": version}
    output = host.command("ldd-version", ["ldd", "--version"])
    if output:
        found = parse_ldd(output)
        if found:
            return found
    found = _libc_from_files(host)
    if found:
        return found
    raise SectionUnavailable("no C library found (ldd --version, libc.so.6, ld-musl)")


def _libc_from_files(host: Host) -> dict[str, str]:
    """Without running anything: glibc's libc.so.6 carries its release banner; musl has its loader name."""
    for folder in ("/lib", "/lib64", "/usr/lib", "/usr/lib64"):
        for entry in host.listdir(folder):
            if entry.startswith("ld-musl-"):
                return {"name": "musl"}
    for folder in ("/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/lib/powerpc64le-linux-gnu", "/lib64",
                   "/usr/lib64", "/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"):
        data = host.read_bytes(f"{folder}/libc.so.6", limit=8 << 20)
        if not data:
            continue
        match = re.search(rb"GNU C Library[^\n]*? version (\d+\.\d+(?:\.\d+)?)", data)
        if match:
            return {"name": "glibc", "version": match.group(1).decode()}
        return {"name": "glibc"}
    return {}
