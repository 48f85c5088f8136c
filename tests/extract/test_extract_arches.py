"""Machines of every architecture Linux ships, against what lscpu and archspec say about the same recorded tree.

`lscpu --sysroot DIR` reads a recorded /proc and /sys the way it reads the live ones, so each figure of
system.cpu is asked of lscpu directly. archspec's own detection is run on each tree's /proc/cpuinfo the way
archspec's test suite runs it (its machine and its cpuinfo file swapped in), and must name our target.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from compspec.extract import run_extractors
from compspec.extractors import cpuinfo
from compspec.extractors.host import Host

HOSTS = Path(__file__).resolve().parents[1] / "data" / "hosts"

EXPECTED = {
    "s390x-z15-lpar": {
        "system.cpu": {"cores": "16", "physical_cores": "8", "sockets": "4", "threads_per_core": "2",
                       "vendor": "IBM/S390", "model": "8561", "target": "s390x"},
        "system.arch": {"name": "s390x", "arch": "s390x"},
        "processors": "0-15",
    },
    "ppc64-power7-lpar": {
        "system.cpu": {"cores": "16", "physical_cores": "4", "threads_per_core": "4", "vendor": "IBM",
                       "model": "POWER7 (architected), altivec supported", "target": "power7",
                       "target_generic": "ppc64"},
        "system.arch": {"name": "ppc64", "arch": "ppc64"},
        "no": ["system.cpu.sockets", "nfd.cpu.topology.socket_count"],
        "warnings": ["system.cpu: sockets unknown: the kernel gives physical_package_id -1"],
        "processors": "0-15",
    },
    "ppc64le-power9-powernv": {
        "system.cpu": {"cores": "64", "physical_cores": "16", "sockets": "2", "threads_per_core": "4",
                       "vendor": "IBM", "model": "POWER9, altivec supported", "target": "power9le",
                       "target_generic": "ppc64le"},
        "system.arch": {"name": "ppc64le", "arch": "ppc64le"},
        "processors": "0-63",
    },
    "riscv64-sg2042-pioneer": {
        "system.cpu": {"cores": "64", "physical_cores": "64", "sockets": "1", "threads_per_core": "1",
                       "vendor": "0x5b7", "model": "thead,c920", "target": "riscv64", "target_generic": "riscv64"},
        "system.arch": {"name": "riscv64", "arch": "riscv64"},
        "processors": "0-63",
    },
    "loongarch64-3c5000-2s": {
        "system.cpu": {"cores": "32", "physical_cores": "32", "sockets": "2", "threads_per_core": "1",
                       "vendor": "Loongson", "model": "Loongson-3C5000", "target": "loongarch64"},
        "system.arch": {"name": "loong64", "arch": "loongarch64"},
        "processors": "0-31",
    },
    "armv7-imx6q-old": {
        "system.cpu": {"cores": "4", "physical_cores": "4", "sockets": "1", "threads_per_core": "1",
                       "vendor": "ARM", "model": "Cortex-A9", "target": "armv7l"},
        "system.arch": {"name": "arm", "arch": "armv7l"},
        "processors": "0-3",
    },
    "x86-hybrid-i9-12900k": {
        "system.cpu": {"cores": "24", "physical_cores": "16", "sockets": "1", "threads_per_core": "2",
                       "performance_cores": "8", "efficiency_cores": "8", "vendor": "GenuineIntel",
                       "model": "12th Gen Intel(R) Core(TM) i9-12900K",
                       "target": "alderlake", "target_generic": "x86_64_v3"},
        "system.arch": {"name": "amd64", "arch": "x86_64"},
        "processors": "0-23",
    },
    "x86-bdw-2s-offline": {
        "system.cpu": {"cores": "48", "physical_cores": "26", "sockets": "2", "threads_per_core": "2",
                       "offline_cpus": "8", "offline_cpu_list": "13,27,41,48-51,55", "target": "broadwell",
                       "target_generic": "x86_64_v3"},
        "system.arch": {"name": "amd64", "arch": "x86_64"},
        "processors": "0-12,14-26,28-40,42-47,52-54",
    },
}

#: Every recorded tree and its uname machine, for the archspec comparison.
MACHINES = {name: doc["system.arch"]["arch"] for name, doc in EXPECTED.items()} | {
    "x86-intel-2s-rocky9-impi": "x86_64", "x86-amd-zen3-ubuntu-openmpi": "x86_64", "x86-gpu-4xh100-ubuntu": "x86_64",
    "x86-amd-4xmi210-sles": "x86_64", "container-alpine-bare": "x86_64", "arm64-neoverse-v1-al2023": "aarch64",
}


@pytest.fixture(scope="module")
def extracted() -> dict[str, tuple[dict, list[str]]]:
    out = {}
    for name in EXPECTED:
        result = run_extractors(["system[cpu,processor,arch]", "nfd[cpu]"], host_root=str(HOSTS / name))
        out[name] = (result.document, result.warnings)
    return out


def section(document: dict, dotted: str) -> dict[str, str]:
    extractor, name = dotted.split(".")
    return document["results"][extractor]["sections"][name]


@pytest.mark.parametrize("host", sorted(EXPECTED))
def test_expected_values(extracted, host):
    document, warnings = extracted[host]
    expected = EXPECTED[host]
    for dotted in ("system.cpu", "system.arch"):
        got = section(document, dotted)
        for key, value in expected[dotted].items():
            assert got.get(key) == value, f"{host} {dotted}.{key}: {got.get(key)!r} != {value!r}"
    if not host.startswith("x86-hybrid"):
        assert "performance_cores" not in section(document, "system.cpu")
    for dotted in expected.get("no", []):
        extractor, name, key = dotted.split(".", 2)
        assert key not in section(document, f"{extractor}.{name}"), f"{host} {dotted}"
    assert warnings == expected.get("warnings", [])
    processors = section(document, "system.processor")
    numbers = sorted({int(key.split(".")[0]) for key in processors})
    assert numbers == cpuinfo.parse_cpu_list(expected["processors"])  # the online ones, the last one too


# ---- lscpu ----

def lscpu(root: Path, *args: str) -> str:
    done = subprocess.run(["lscpu", "--sysroot", str(root), *args], capture_output=True, text=True, timeout=60,
                          check=True, env={**os.environ, "LC_ALL": "C"})
    return done.stdout


def lscpu_summary(root: Path) -> dict[str, str]:
    out = {}
    for line in lscpu(root).splitlines():
        key, sep, value = line.partition(":")
        if sep and value.strip():
            out[key.strip()] = value.strip()
    return out


def lscpu_ids(root: Path) -> list[dict[str, str]]:
    """lscpu's parsable table: one row per CPU, each core and socket numbered once across the machine."""
    names = ["cpu", "core", "socket", "online"]
    rows = [line.split(",") for line in lscpu(root, "-p=CPU,CORE,SOCKET,ONLINE").splitlines()
            if line and not line.startswith("#")]
    return [dict(zip(names, row)) for row in rows]


needs_lscpu = pytest.mark.skipif(shutil.which("lscpu") is None, reason="lscpu (util-linux) is not installed")


@needs_lscpu
@pytest.mark.parametrize("host", sorted(EXPECTED))
def test_figures_agree_with_lscpu(extracted, host):
    document, _ = extracted[host]
    cpu = section(document, "system.cpu")
    root = HOSTS / host
    summary = lscpu_summary(root)
    online = cpuinfo.parse_cpu_list(summary["On-line CPU(s) list"])
    assert cpu["cores"] == str(len(online))
    offline = summary.get("Off-line CPU(s) list")
    assert cpu.get("offline_cpu_list") == offline
    assert int(summary["CPU(s)"]) == len(online) + int(cpu.get("offline_cpus", "0"))
    compared = 0
    if "Thread(s) per core" in summary:  # lscpu before 2.39 has no topology for cpuinfo it cannot type (RISC-V)
        assert cpu["threads_per_core"] == summary["Thread(s) per core"]
        compared += 1
    rows = [row for row in lscpu_ids(root) if row["online"] == "Y" and row["core"]]
    if rows:
        assert cpu["physical_cores"] == str(len({row["core"] for row in rows}))
        compared += 1
        if "sockets" in cpu:
            assert cpu["sockets"] == str(len({row["socket"] for row in rows}))
        else:  # lscpu counts one package; the kernel said it does not know
            assert (root / "sys/devices/system/cpu/cpu0/topology/physical_package_id").read_text().strip() == "-1"
    if "Socket(s)" in summary and "sockets" in cpu:
        per_socket = int(summary["Core(s) per socket"])
        assert int(cpu["physical_cores"]) >= per_socket * int(summary["Socket(s)"])
        assert cpu["sockets"] == summary["Socket(s)"]
    if "Drawer(s)" in summary:  # s390x: sockets per book, books per drawer, drawers
        sockets = int(summary["Socket(s) per book"]) * int(summary["Book(s) per drawer"]) * int(summary["Drawer(s)"])
        assert cpu["sockets"] == str(sockets)
    for ours, theirs in (("vendor", "Vendor ID"), ("model", "Model name")):
        if summary.get(theirs, "-") != "-":
            assert cpu.get(ours) == summary[theirs]
    assert compared or host.startswith("riscv64"), f"lscpu reported no topology for {host}"


@needs_lscpu
def test_id_pairs_would_have_miscounted_the_cluster_machine():
    """Core ids restart in every cluster of the SG2042: (package, core) pairs see 4 cores of 16 threads."""
    root = HOSTS / "riscv64-sg2042-pioneer" / "sys/devices/system/cpu"
    pairs = {((root / f"cpu{n}/topology/physical_package_id").read_text(), (root / f"cpu{n}/topology/core_id")
              .read_text()) for n in range(64)}
    assert len(pairs) == 4
    cpu = section(run_extractors(["system[cpu]"], host_root=str(root.parents[3])).document, "system.cpu")
    assert cpu["physical_cores"] == "64" and cpu["threads_per_core"] == "1"


# ---- archspec ----

@contextlib.contextmanager
def archspec_on(monkeypatch, machine: str, cpuinfo_path: Path):
    """archspec's detection of a Linux `machine` whose /proc/cpuinfo is `cpuinfo_path`, as its own tests set it up."""
    import archspec.cpu
    from archspec.cpu import detect

    def fake_open(path, *args, **kwargs):
        assert path == "/proc/cpuinfo"
        return open(cpuinfo_path, encoding="utf-8")

    monkeypatch.setattr(detect.platform, "machine", lambda: machine)
    monkeypatch.setattr(detect.platform, "system", lambda: "Linux")
    monkeypatch.setattr(detect, "open", fake_open, raising=False)
    detect._machine.cache_clear()
    archspec.cpu.host.cache_clear()
    try:
        yield archspec.cpu.host()
    finally:
        monkeypatch.undo()
        detect._machine.cache_clear()
        archspec.cpu.host.cache_clear()


@pytest.mark.parametrize("host", sorted(MACHINES))
def test_target_is_what_archspec_detects_on_the_same_cpuinfo(monkeypatch, host):
    root = HOSTS / host
    with archspec_on(monkeypatch, MACHINES[host], root / "proc" / "cpuinfo") as detected:
        expected = detected.name
    cpu = section(run_extractors(["system[cpu]"], host_root=str(root)).document, "system.cpu")
    assert cpu["target"] == expected


# ---- architectures told apart, or not ----

POWER9_CPUINFO = (HOSTS / "ppc64le-power9-powernv" / "proc" / "cpuinfo").read_text()


def test_power8_and_later_without_a_recorded_machine_leave_the_architecture_out(tmp_path):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "cpuinfo").write_text(POWER9_CPUINFO)
    result = run_extractors(["system[cpu,arch]"], host_root=str(tmp_path))
    sections = result.document["results"]["system"]["sections"]
    assert sections["arch"] == {} and "target" not in sections["cpu"]
    assert sections["cpu"]["model"] == "POWER9, altivec supported"
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("system.arch: POWER9 runs big- or little-endian kernels")


@pytest.mark.parametrize("header, arch", [
    ((b"\x7fELF\x02\x02\x01\x00" + bytes(8) + b"\x00\x02\x00\x15").ljust(64, b"\0"), "ppc64"),
    ((b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x15\x00").ljust(64, b"\0"), "ppc64le"),
    ((b"\x7fELF\x01\x02\x01\x00" + bytes(8) + b"\x00\x02\x00\x14").ljust(64, b"\0"), "ppc"),
])
def test_power_endianness_from_a_system_binary(tmp_path, header, arch):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "cpuinfo").write_text(POWER9_CPUINFO)
    (tmp_path / "usr" / "bin").mkdir(parents=True)
    (tmp_path / "usr" / "bin" / "env").write_bytes(header)
    assert cpuinfo.machine(Host(str(tmp_path))) == arch


SPARC = ("cpu\t\t: UltraSparc T2 (Niagara2)\nfpu\t\t: UltraSparc T2 integrated FPU\npmu\t\t: niagara2\n"
         "prom\t\t: OBP 4.30.8.a 2010/05/13 14:24\ntype\t\t: sun4v\nncpus probed\t: 4\nncpus active\t: 3\n"
         "D$ parity tl1\t: 0\nI$ parity tl1\t: 0\ncpucaps\t\t: flush,stbar,swap,muldiv,v9,blkinit,n2,mul32,vis\n"
         "Cpu0ClkTck\t: 000000004a817c80\nCpu1ClkTck\t: 000000004a817c80\nCpu3ClkTck\t: 000000004a817c80\n"
         "MMU Type\t: Hypervisor (sun4v)\nMMU PGSZs\t: 8K,64K,4MB,256MB\nState:\nCPU0:\t\tonline\nCPU1:\t\tonline\n"
         "CPU2:\t\toffline\nCPU3:\t\tonline\n")


def test_sparc64_machine_wide_block(tmp_path):
    procs, common = cpuinfo.parse_cpuinfo(SPARC)
    assert [p["processor"] for p in procs] == ["0", "1", "3"]
    assert procs[2]["cpu"] == "UltraSparc T2 (Niagara2)" and common["ncpus_probed"] == "4"
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "cpuinfo").write_text(SPARC)
    result = run_extractors(["system[cpu,arch]"], host_root=str(tmp_path))
    sections = result.document["results"]["system"]["sections"]
    assert sections["arch"] == {"name": "sparc64", "arch": "sparc64"}
    assert sections["cpu"]["cores"] == "3" and sections["cpu"]["model"] == "UltraSparc T2 (Niagara2)"
    assert sections["cpu"]["target"] == "sparc64"


def test_s390x_without_per_cpu_blocks():
    text = ("vendor_id       : IBM/S390\n# processors    : 2\nbogomips per cpu: 3033.00\n"
            "features\t: esan3 zarch stfle msa\n"
            "processor 0: version = FF,  identification = 0133E8,  machine = 3906\n"
            "processor 1: version = FF,  identification = 0133E8,  machine = 3906\n")
    procs, common = cpuinfo.parse_cpuinfo(text)
    assert [p["processor"] for p in procs] == ["0", "1"]
    assert procs[1]["machine"] == "3906" and procs[1]["vendor_id"] == "IBM/S390"
    assert common["#_processors"] == "2"


def test_new_arm32_layout_names_the_part_and_loongarch_isa_is_not_riscv(tmp_path):
    arm = ("processor\t: 0\nmodel name\t: ARMv7 Processor rev 3 (v7l)\nBogoMIPS\t: 108.00\n"
           "Features\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm crc32\n"
           "CPU implementer\t: 0x41\nCPU architecture: 7\nCPU variant\t: 0x0\nCPU part\t: 0xd08\n"
           "CPU revision\t: 3\n\nHardware\t: BCM2711\nRevision\t: c03111\n")
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "cpuinfo").write_text(arm)
    host = Host(str(tmp_path))
    assert cpuinfo.machine(host) == "armv7l" and cpuinfo.identity(host).model == "Cortex-A72"
    loongarch = (HOSTS / "loongarch64-3c5000-2s" / "proc" / "cpuinfo").read_text()
    (tmp_path / "proc" / "cpuinfo").write_text(loongarch)
    assert cpuinfo.machine(Host(str(tmp_path))) == "loongarch64"


def test_riscv_part_archspec_knows_by_model_name(tmp_path):
    text = "".join(f"processor\t: {n}\nhart\t\t: {n}\nmodel name\t: Spacemit(R) X60\nisa\t\t: rv64imafdcv\n"
                   "mmu\t\t: sv39\nmvendorid\t: 0x710\nmarchid\t\t: 0x8000000058000001\n\n" for n in range(8))
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "cpuinfo").write_text(text)
    cpu = section(run_extractors(["system[cpu]"], host_root=str(tmp_path)).document, "system.cpu")
    assert cpu["target"] == "x60" and cpu["model"] == "Spacemit(R) X60"


def test_cpu_masks_and_lists():
    assert cpuinfo.parse_cpu_mask("ff,0000000f") == [0, 1, 2, 3] + list(range(32, 40))
    assert cpuinfo.parse_cpu_mask("0") == [] and cpuinfo.parse_cpu_mask("zz") == []
    assert cpuinfo.format_cpu_list([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8" and cpuinfo.format_cpu_list([]) == ""


@pytest.mark.parametrize("order, arch", [("little", "ppc64le"), ("big", "ppc64")])
def test_power_endianness_from_the_auxiliary_vector(tmp_path, order, arch):
    pairs = [(33, 0x7FFF0000), (16, 0xDC0065C2), (6, 65536), (17, 100), (3, 0x10000040), (0, 0)]
    auxv = b"".join(key.to_bytes(8, order) + value.to_bytes(8, order) for key, value in pairs)
    (tmp_path / "proc" / "self").mkdir(parents=True)
    (tmp_path / "proc" / "cpuinfo").write_text(POWER9_CPUINFO)
    (tmp_path / "proc" / "self" / "auxv").write_bytes(auxv)
    assert cpuinfo.machine(Host(str(tmp_path))) == arch
    assert cpuinfo.auxv_byte_order(b"\x01" * 48) == "" and cpuinfo.auxv_byte_order(b"") == ""
