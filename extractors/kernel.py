"""The kernel extractor: boot parameters, build configuration, loaded modules with versions and parameters."""
from __future__ import annotations

import shlex

from compspec.extractors.host import Host
from compspec.extractors.registry import SectionUnavailable, extractor

KERNEL = extractor(
    "kernel",
    "kernel release and version, boot parameters, build configuration and modules",
    default_sections=("release",),
)


def release(host: Host) -> str:
    """The running kernel's release (uname -r) of the node at the host root."""
    if host.live:
        import os

        return os.uname().release
    return host.value("/proc/sys/kernel/osrelease") or ""


def version(host: Host) -> str:
    """The running kernel's build string (uname -v: "#1 SMP PREEMPT_DYNAMIC ..."), which tells apart two builds
    of one release."""
    if host.live:
        import os

        return os.uname().version
    return host.value("/proc/sys/kernel/version") or ""


@KERNEL.section("release", "kernel release (uname -r) and version (uname -v)")
def release_section(host: Host) -> dict[str, str]:
    out = {"release": release(host), "version": version(host)}
    out = {key: value for key, value in out.items() if value}
    if not out:
        raise SectionUnavailable("cannot read the kernel release (/proc/sys/kernel/osrelease)")
    return out


def parse_cmdline(text: str) -> dict[str, str]:
    """Boot parameters; a parameter without `=` gets "". Values are kept whole (`root=UUID=...`)."""
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    out: dict[str, str] = {}
    for word in words:
        key, _, value = word.partition("=")
        out[key] = value
    return out


@KERNEL.section("boot", "parameters the kernel was booted with (/proc/cmdline)")
def boot(host: Host) -> dict[str, str]:
    text = host.read("/proc/cmdline")
    if text is None:
        raise SectionUnavailable("cannot read /proc/cmdline")
    return parse_cmdline(text.strip())


def parse_config(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("CONFIG_"):
            continue
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value
    return out


def config_text(host: Host) -> str | None:
    """The kernel build configuration: /proc/config.gz, /boot/config-<release>, /lib/modules/<release>/config."""
    data = host.read_bytes("/proc/config.gz")
    if data:
        import gzip

        try:
            return gzip.decompress(data).decode("utf-8", errors="replace")
        except (OSError, EOFError):
            pass
    rel = release(host)
    if rel:
        for path in (f"/boot/config-{rel}", f"/lib/modules/{rel}/config", f"/usr/lib/modules/{rel}/config"):
            text = host.read(path)
            if text is not None:
                return text
    return None


@KERNEL.section("config", "CONFIG_* options the kernel was built with")
def config(host: Host) -> dict[str, str]:
    text = config_text(host)
    if text is None:
        raise SectionUnavailable("no kernel config (/proc/config.gz, /boot/config-<release>, /lib/modules/<release>/config)")
    return parse_config(text)


@KERNEL.section("modules", "modules in /sys/module: version and parameters")
def modules(host: Host) -> dict[str, str]:
    names = host.listdir("/sys/module")
    if not names:
        raise SectionUnavailable("no /sys/module")
    default_version = release(host)
    out: dict[str, str] = {}
    for name in names:
        base = f"/sys/module/{name}"
        if not host.isdir(base):
            continue
        out[f"module.{name}"] = host.value(f"{base}/version") or default_version
        for param in host.listdir(f"{base}/parameters"):
            value = host.read(f"{base}/parameters/{param}")
            if value is not None:  # write-only and privileged parameters are skipped
                out[f"module.{name}.parameter.{param}"] = value.strip()
    return out
