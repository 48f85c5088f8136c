"""A live machine without /proc/cpuinfo (macOS): system facts from psutil and py-cpuinfo, replayed from recordings.

Each recording holds what py-cpuinfo, psutil and platform returned on that machine, and the sysctl keys archspec
reads there, so the target can be checked against archspec's own macOS detection.
"""
from __future__ import annotations

import json
import platform
from pathlib import Path

import psutil
import pytest

from compspec.extract import run_extractors
from compspec.extractors.host import Host

RECORDED = Path(__file__).resolve().parents[1] / "data" / "portable"
CASES = sorted(path.stem for path in RECORDED.glob("*.json"))


def load(name: str) -> dict:
    return json.loads((RECORDED / f"{name}.json").read_text())


def replay(monkeypatch, recording: dict) -> None:
    """This process sees the recorded machine: no /proc or os-release, the libraries answer as recorded."""
    import cpuinfo

    hidden = ("/proc/", "/etc/os-release", "/usr/lib/os-release")
    real_read, real_exists = Host.read_bytes, Host.exists

    def read_bytes(self, path, limit=-1):
        return None if self.live and path.startswith(hidden) else real_read(self, path, limit)

    def exists(self, path):
        return False if self.live and path.startswith(hidden) else real_exists(self, path)

    monkeypatch.setattr(Host, "read_bytes", read_bytes)
    monkeypatch.setattr(Host, "exists", exists)
    monkeypatch.setattr(cpuinfo, "get_cpu_info", lambda: dict(recording["py-cpuinfo"]))
    counts = recording["psutil"]
    monkeypatch.setattr(psutil, "cpu_count",
                        lambda logical=True: counts["cpu_count_logical" if logical else "cpu_count_physical"])
    memory = type("svmem", (), {"total": counts["virtual_memory_total"],
                                "available": counts["virtual_memory_available"]})
    monkeypatch.setattr(psutil, "virtual_memory", lambda: memory)
    monkeypatch.setattr(platform, "system", lambda: recording["platform"]["system"])
    monkeypatch.setattr(platform, "mac_ver", lambda: (recording["platform"]["mac_ver"], ("", "", ""), ""))


def archspec_on_macos(monkeypatch, recording: dict) -> str:
    """archspec's own detection on the recorded Mac (its sysctl answers swapped in, as archspec's tests do)."""
    import archspec.cpu
    from archspec.cpu import detect

    with monkeypatch.context() as patch:
        patch.setattr(detect.platform, "system", lambda: "Darwin")
        patch.setattr(detect.platform, "machine", lambda: recording["platform"]["machine"])
        patch.setattr(detect, "_darwin_sysctl_data", lambda: dict(recording["sysctl"]))
        detect._machine.cache_clear()
        archspec.cpu.host.cache_clear()
        try:
            return archspec.cpu.host().name
        finally:
            detect._machine.cache_clear()
            archspec.cpu.host.cache_clear()


@pytest.mark.parametrize("name", CASES)
def test_system_facts_from_psutil_and_py_cpuinfo(monkeypatch, name):
    recording = load(name)
    expected_target = archspec_on_macos(monkeypatch, recording)
    replay(monkeypatch, recording)
    result = run_extractors(["system"])
    sections = result.document["results"]["system"]["sections"]
    expected = recording["expected"]
    cpu = sections["cpu"]
    for key in ("cores", "physical_cores", "threads_per_core", "vendor", "model"):
        assert cpu[key] == expected[key], key
    assert "sockets" not in cpu
    assert cpu["target"] == expected_target == expected["target"]
    assert sections["memory"]["memtotal"] == expected["memtotal"]
    assert sections["os"]["name"] == expected["os"] and sections["os"]["vendor"] == "apple"
    assert sections["arch"]["arch"] == expected["arch"]
    assert sections["processor"] == {}
    assert result.warnings == ["system.cpu: sockets unknown: psutil does not count them",
                               "system.processor: no /proc/cpuinfo on this system (the cpu section has what "
                               "py-cpuinfo tells)"]

