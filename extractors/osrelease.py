"""The distribution of the node: /etc/os-release (or /usr/lib/os-release) and the full release number.

os-release's VERSION_ID is often only the series ("22.04", "12", "9.3"); the full release ("22.04.3", "12.11",
"7.9.2009") lives in VERSION, in PRETTY_NAME or in a distribution file (/etc/debian_version, /etc/<id>-release,
/etc/system-release). We take the longest number found there that starts with VERSION_ID, which works for any
distribution without knowing it by name.
"""
from __future__ import annotations

import re

from compspec.extractors.host import Host

_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)*)")
_RELEASE_FILES = ("/etc/debian_version", "/etc/system-release", "/etc/redhat-release", "/etc/alpine-release",
                  "/etc/SuSE-release")


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines; values may be quoted (single or double) with backslash escapes."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
            raw = raw[1:-1]
            if line.partition("=")[2].strip()[0] == '"':
                raw = re.sub(r"\\(.)", r"\1", raw)
        values[key.strip()] = raw
    return values


def os_release(host: Host) -> dict[str, str]:
    def load() -> dict[str, str]:
        for path in ("/etc/os-release", "/usr/lib/os-release"):
            text = host.read(path)
            if text is not None:
                return parse_os_release(text)
        return {}

    return host.cached("os-release", load)


def full_release(host: Host, fields: dict[str, str]) -> str:
    version_id = fields.get("VERSION_ID", "")
    sources = [fields.get("VERSION", ""), fields.get("PRETTY_NAME", "")]
    distro = fields.get("ID", "")
    if distro:
        sources.append(host.read(f"/etc/{distro}-release") or "")
    sources.extend(host.read(path) or "" for path in _RELEASE_FILES)
    best = version_id
    if not version_id:
        return best
    for text in sources:
        for number in _NUMBER.findall(text):
            if (number == version_id or number.startswith(version_id + ".")) and len(number) > len(best):
                best = number
    return best
