"""`compspec version`, `compspec list` and `compspec extract` through click's runner and as a real process."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from compspec.cli import main
from compspec.extract import load_extraction
from compspec.schemas import FormatError

HOSTS = Path(__file__).resolve().parents[1] / "data" / "hosts"
COMPSPEC = [sys.executable, "-c", "from compspec.cli import main; main()"]
INTEL = str(HOSTS / "x86-intel-2s-rocky9-impi")
CONTAINER = str(HOSTS / "container-alpine-bare")


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_version():
    from compspec import __version__

    result = run("version")
    assert result.exit_code == 0 and result.output.strip() == __version__


def test_list_plain_and_json():
    result = run("list")
    assert result.exit_code == 0
    assert "nfd:" in result.output and "* cpu" in result.output and "    usb" in result.output
    doc = json.loads(run("list", "--json").output)
    assert sorted(doc) == ["gpu", "kernel", "library", "nfd", "system"]
    assert doc["nfd"]["default_sections"] == ["cpu", "memory", "network", "storage", "system"]
    assert doc["kernel"]["default_sections"] == ["release"]
    assert all(doc[name]["sections"][sec] for name in doc for sec in doc[name]["sections"])


def test_extract_to_stdout_with_selected_sections():
    result = run("extract", "--host-root", INTEL, "--name", "system[os]", "-n", "library[mpi]")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["results"] == {
        "system": {"sections": {"os": {"name": "Rocky Linux 9.3 (Blue Onyx)", "version": "9.3", "vendor": "rocky",
                                       "release": "9.3"}}},
        "library": {"sections": {"mpi": {"variant": "intel-mpi", "version": "2021.8"}}},
    }
    assert result.stderr == ""


def test_extract_to_file_and_read_back(tmp_path):
    out = tmp_path / "node.json"
    result = run("extract", "--host-root", INTEL, "--out", str(out))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "compspec: warning: gpu.nvidia: no NVIDIA GPU (no NVML, nvidia-smi or /proc/driver/nvidia)",
        "compspec: warning: gpu.amd: no AMD GPU (no rocm-smi output, no AMD card in /sys/class/drm)",
    ]
    doc = load_extraction(out)
    assert doc["metadata"]["hostname"] == "icx-node-001"
    assert sorted(doc["results"]) == ["gpu", "kernel", "library", "nfd", "system"]
    assert sorted(doc["results"]["nfd"]["sections"]) == ["cpu", "memory", "network", "storage", "system"]
    assert doc["results"]["kernel"]["sections"] == {"release": {
        "release": "5.14.0-362.8.1.el9_3.x86_64",
        "version": "#1 SMP PREEMPT_DYNAMIC Wed Nov 8 17:36:32 UTC 2023"}}


def test_quiet_hides_warnings_and_fail_fast_fails(tmp_path):
    quiet = run("extract", "--host-root", CONTAINER, "-q", "-n", "library")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    out = tmp_path / "node.json"
    failed = run("extract", "--host-root", CONTAINER, "-n", "library", "--fail-fast", "--out", str(out))
    assert failed.exit_code == 1
    assert failed.stderr.startswith("compspec: error: library.mpi: ")
    assert not out.exists()
    fine = run("extract", "--host-root", CONTAINER, "-n", "library[libc]", "--fail-fast")
    assert fine.exit_code == 0 and json.loads(fine.stdout)["results"]["library"]["sections"]["libc"]["name"] == "musl"


@pytest.mark.parametrize("args, words", [
    (["-n", "bogus"], ["unknown extractor 'bogus'", "valid: gpu, kernel, library, nfd, system"]),
    (["-n", "gpu[nvidia,intel]"], ["unknown section 'intel' of extractor 'gpu'", "valid: nvidia, amd, pci"]),
    (["--host-root", "/does/not/exist"], ["--host-root /does/not/exist: not a folder"]),
])
def test_usage_errors_exit_2_in_one_line(args, words):
    result = run("extract", *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1
    for word in words:
        assert word in error_lines[0]


def test_unwritable_out_is_one_line_exit_1(tmp_path):
    result = run("extract", "--host-root", INTEL, "-n", "system[os]", "--out", str(tmp_path / "no" / "such" / "x.json"))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [f"Error: cannot write {tmp_path / 'no' / 'such' / 'x.json'}: "
                                                  "No such file or directory"]


def test_out_that_is_a_folder_is_one_line_exit_1(tmp_path):
    result = run("extract", "--host-root", INTEL, "-n", "system[os]", "--out", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [f"Error: cannot write {tmp_path}: Is a directory"]
    assert list(tmp_path.iterdir()) == []


def test_out_replaces_an_existing_file_whole(tmp_path):
    out = tmp_path / "node.json"
    out.write_text("x" * 100000)
    assert run("extract", "--host-root", INTEL, "-n", "system[os]", "-o", str(out)).exit_code == 0
    assert load_extraction(out)["results"]["system"]["sections"]["os"]["vendor"] == "rocky"
    assert [p.name for p in tmp_path.iterdir()] == ["node.json"]


def test_subprocess_extract_of_a_recorded_gpu_node(tmp_path):
    out = tmp_path / "gpu.json"
    done = subprocess.run(
        [*COMPSPEC, "extract", "--host-root", str(HOSTS / "x86-gpu-4xh100-ubuntu"),
         "-n", "gpu", "-n", "system[cpu]", "-o", str(out)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "compspec: warning: gpu.amd: no AMD GPU (no rocm-smi output, no AMD card in /sys/class/drm)"]
    doc = load_extraction(out)
    assert doc["results"]["gpu"]["sections"]["nvidia"]["count"] == "4"
    assert doc["results"]["system"]["sections"]["cpu"]["target"] == "sapphirerapids"


def test_subprocess_errors_have_no_traceback():
    done = subprocess.run([*COMPSPEC, "extract", "-n", "system[gpu]"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "unknown section 'gpu' of extractor 'system'" in done.stderr


def test_extract_path_imports_no_heavy_libraries():
    """The extract command must start fast: jsonschema, py-cpuinfo, grpc and psutil stay out of it."""
    code = (
        "import sys\n"
        "from compspec.cli import main\n"
        "try:\n"
        "    main(['extract', '-q', '-o', '/dev/null'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "heavy = sorted(m for m in ('jsonschema', 'cpuinfo', 'grpc', 'psutil', 'networkx', 'yaml', 'shutil')"
        " if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


# ---- reading node files ----

def test_load_legacy_extractors_key_without_metadata(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"extractors": {"library": {"sections": {"mpi": {"variant": "mpich",
                                                                                  "version": "4.1.1"}}},
                                               "kernel": {}, "nfd": {"sections": {"usb": None}},
                                               "gpu": {"sections": None}}}))
    doc = load_extraction(path)
    assert doc == {"results": {"library": {"sections": {"mpi": {"variant": "mpich", "version": "4.1.1"}}},
                               "kernel": {"sections": {}}, "nfd": {"sections": {"usb": {}}},
                               "gpu": {"sections": {}}}}


@pytest.mark.parametrize("content, words", [
    ("{not json", ["not valid JSON"]),
    (json.dumps({"metadata": {"hostname": "x"}}), ["results"]),
    (json.dumps({"results": {"system": {"sections": {"cpu": {"cores": 4}}}}}), ["results.system.sections.cpu.cores"]),
    (json.dumps({"results": {}, "metadata": {"extracted_at": "yesterday"}}), ["metadata.extracted_at"]),
])
def test_load_rejects_bad_files_naming_the_field(tmp_path, content, words):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(FormatError) as info:
        load_extraction(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    for word in words:
        assert word in message


def test_load_missing_file_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match="cannot read"):
        load_extraction(tmp_path / "absent.json")
