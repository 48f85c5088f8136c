"""Programs the extractors run: only on the live host or with --run-commands, else their recordings."""
from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from compspec.cli import main
from compspec.extract import run_extractors
from compspec.extractors import gpu
from compspec.extractors.host import Host

HOSTS = Path(__file__).resolve().parents[1] / "data" / "hosts"
INTEL = str(HOSTS / "x86-intel-2s-rocky9-impi")


@pytest.fixture
def fake_mpirun(tmp_path, monkeypatch):
    """An `mpirun` on PATH that reports Open MPI 4.1.6 and records that it ran."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marker = tmp_path / "ran"
    script = bin_dir / "mpirun"
    script.write_text(f"#!/bin/sh\ntouch {marker}\necho 'mpirun (Open MPI) 4.1.6'\necho\n"
                      "echo 'Report bugs to http://www.open-mpi.org/community/help/'\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return marker


def test_live_host_runs_programs_on_path(fake_mpirun):
    result = run_extractors(["library[mpi]"])
    assert result.document["results"]["library"]["sections"]["mpi"] == {"variant": "OpenMPI", "version": "4.1.6"}
    assert fake_mpirun.exists()


def test_recorded_host_reads_recordings_and_runs_nothing(fake_mpirun):
    result = run_extractors(["library[mpi]"], host_root=INTEL)
    assert result.document["results"]["library"]["sections"]["mpi"] == {"variant": "intel-mpi", "version": "2021.8"}
    assert not fake_mpirun.exists()


def test_run_commands_flag_runs_programs_under_another_root(fake_mpirun):
    result = CliRunner().invoke(main, ["extract", "--host-root", INTEL, "--run-commands", "-n", "library[mpi]"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"]["library"]["sections"]["mpi"]["version"] == "4.1.6"
    assert fake_mpirun.exists()


def test_missing_program_is_none_and_silent_program_counts_as_absent(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    quiet = bin_dir / "quiet-tool"
    quiet.write_text("#!/bin/sh\nexit 3\n")
    quiet.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    host = Host("/")
    assert host.command("none", ["no-such-program-here"]) is None
    assert host.command("quiet", ["quiet-tool"]) is None
    assert Host("/", run_commands=False).command("quiet", ["quiet-tool"]) is None


class _FakeNvml(types.ModuleType):
    """Just enough of nvidia-ml-py's pynvml for two GPUs."""

    def __init__(self):
        super().__init__("pynvml")
        self.shut = False

    def nvmlInit(self):
        return None

    def nvmlShutdown(self):
        self.shut = True

    def nvmlSystemGetDriverVersion(self):
        return b"550.54.15"

    def nvmlSystemGetCudaDriverVersion_v2(self):
        return 12040

    def nvmlDeviceGetCount(self):
        return 2

    def nvmlDeviceGetHandleByIndex(self, index):
        return index

    def nvmlDeviceGetName(self, handle):
        return "NVIDIA A100-SXM4-80GB"

    def nvmlDeviceGetMemoryInfo(self, handle):
        return types.SimpleNamespace(total=85899345920)

    def nvmlDeviceGetPciInfo(self, handle):
        return types.SimpleNamespace(busId=f"00000000:0{handle + 1}:00.0".encode())

    def nvmlDeviceGetUUID(self, handle):
        return f"GPU-{handle}"


def test_nvml_is_the_first_source_on_the_live_host(monkeypatch):
    fake = _FakeNvml()
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    found = gpu.nvidia(Host("/"))
    assert found["count"] == "2" and found["model"] == "NVIDIA A100-SXM4-80GB" and found["memory_mib"] == "81920"
    assert found["driver_version"] == "550.54.15" and found["cuda_version"] == "12.4" and found["source"] == "nvml"
    assert found["device.1.pci_bus_id"] == "00000000:02:00.0" and found["device.0.uuid"] == "GPU-0"
    assert fake.shut


def test_nvml_is_not_used_for_a_recorded_node(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", _FakeNvml())
    found = gpu.nvidia(Host(str(HOSTS / "x86-gpu-4xh100-ubuntu")))
    assert found["source"] == "nvidia-smi" and found["model"] == "NVIDIA H100 80GB HBM3"
