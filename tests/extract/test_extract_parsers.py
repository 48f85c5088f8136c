"""The parsers behind each section, on outputs from the programs and files they read."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from compspec.extract import ExtractorSelectionError, parse_selection, run_extractors
from compspec.extractors import cpuinfo, gpu, kernel, library, osrelease
from compspec.extractors.host import Host

HOSTS = Path(__file__).resolve().parents[1] / "data" / "hosts"


# ---- library.mpi / library.libc ----

@pytest.mark.parametrize("output, expected", [
    ("mpirun (Open MPI) 4.1.2\n\nReport bugs to http://www.open-mpi.org/community/help/\n",
     {"variant": "OpenMPI", "version": "4.1.2"}),
    ("mpirun (Open MPI) 5.0.3\n", {"variant": "OpenMPI", "version": "5.0.3"}),
    ("ompi:version:full:4.1.6\nompi:version:repo:v4.1.6\n", {"variant": "OpenMPI", "version": "4.1.6"}),
    ("Intel(R) MPI Library for Linux* OS, Version 2021.8 Build 20221129 (id: 339ec755a1)\n"
     "Copyright 2003-2022, Intel Corporation.\n", {"variant": "intel-mpi", "version": "2021.8"}),
    ("Intel(R) MPI Library for Linux* OS, Version 2019 Update 9 Build 20200923 (id: abd58e492)\n",
     {"variant": "intel-mpi", "version": "2019"}),
    ("HYDRA build details:\n    Version:                                 4.2.0\n    Release Date:   Fri Feb  9 2024\n",
     {"variant": "mpich", "version": "4.2.0"}),
    ("MPICH Version:      3.4.3\nMPICH Release date: Thu Dec 16 11:20:57 CST 2021\n",
     {"variant": "mpich", "version": "3.4.3"}),
    ("MVAPICH2 Version:     \t2.3.7\nMVAPICH2 Release date:\tWed March 02 22:00:00 EST 2022\n",
     {"variant": "mvapich", "version": "2.3.7"}),
    ("mpirun: command line help\n", {}),
])
def test_parse_mpi(output, expected):
    assert library.parse_mpi(output) == expected


def test_mvapich_behind_hydra_is_named_by_mpichversion(tmp_path):
    commands = tmp_path / ".commands"
    commands.mkdir()
    (commands / "mpirun-version.txt").write_text("HYDRA build details:\n    Version:      3.2.1\n")
    (commands / "mpichversion.txt").write_text("MVAPICH2 Version:     \t2.3.7\n")
    assert library.mpi(Host(str(tmp_path))) == {"variant": "mvapich", "version": "2.3.7"}


@pytest.mark.parametrize("output, expected", [
    ("ldd (Ubuntu GLIBC 2.35-0ubuntu3.6) 2.35\nCopyright (C) 2022 Free Software Foundation, Inc.\n",
     {"name": "glibc", "version": "2.35"}),
    ("ldd (GNU libc) 2.17\n", {"name": "glibc", "version": "2.17"}),
    ("musl libc (aarch64)\nVersion 1.2.5\nDynamic Program Loader\n", {"name": "musl", "version": "1.2.5"}),
    ("something else\n", {}),
])
def test_parse_ldd(output, expected):
    assert library.parse_ldd(output) == expected


def test_libc_from_files_without_running_anything(tmp_path):
    lib = tmp_path / "lib" / "x86_64-linux-gnu"
    lib.mkdir(parents=True)
    (lib / "libc.so.6").write_bytes(b"\x7fELF\x00junk GNU C Library (Debian GLIBC 2.36-9+deb12u4) stable release "
                                    b"version 2.36.\x00more")
    assert library.libc(Host(str(tmp_path))) == {"name": "glibc", "version": "2.36"}
    musl = tmp_path / "musl"
    (musl / "lib").mkdir(parents=True)
    (musl / "lib" / "ld-musl-aarch64.so.1").write_bytes(b"\x7fELF")
    assert library.libc(Host(str(musl))) == {"name": "musl"}


# ---- system ----

def test_cpuinfo_keeps_the_last_processor_and_values_with_colons():
    text = ("processor\t: 0\nmodel name\t: X: Y\nflags\t\t: a b\n\nprocessor\t: 1\nmodel name\t: X: Y\n"
            "power management:\n")  # no trailing blank line
    procs, common = cpuinfo.parse_cpuinfo(text)
    assert [p["processor"] for p in procs] == ["0", "1"]
    assert procs[1]["model_name"] == "X: Y" and procs[1]["power_management"] == ""
    assert common == {}


def test_cpuinfo_machine_wide_block_is_not_a_processor():
    text = "processor\t: 0\nBogoMIPS\t: 108.00\n\nHardware\t: BCM2835\nRevision\t: c03111\n"
    procs, common = cpuinfo.parse_cpuinfo(text)
    assert len(procs) == 1 and common == {"hardware": "BCM2835", "revision": "c03111"}


@pytest.mark.parametrize("text, expected", [
    ("0-3,8-11\n", [0, 1, 2, 3, 8, 9, 10, 11]), ("0", [0]), ("", []), ("0-1,x,5", [0, 1, 5]),
])
def test_parse_cpu_list(text, expected):
    assert cpuinfo.parse_cpu_list(text) == expected


OS_CASES = {
    "debian": ({"/etc/os-release": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
                                   'VERSION_ID="12"\nVERSION="12 (bookworm)"\nID=debian\n',
                "/etc/debian_version": "12.11\n"},
               {"name": "Debian GNU/Linux 12 (bookworm)", "version": "12", "vendor": "debian", "release": "12.11"}),
    "centos": ({"/etc/os-release": 'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\nVERSION_ID="7"\n'
                                   'PRETTY_NAME="CentOS Linux 7 (Core)"\n',
                "/etc/centos-release": "CentOS Linux release 7.9.2009 (Core)\n"},
               {"name": "CentOS Linux 7 (Core)", "version": "7", "vendor": "centos", "release": "7.9.2009"}),
    "sles": ({"/usr/lib/os-release": 'NAME="SLES"\nVERSION="15-SP5"\nVERSION_ID="15.5"\n'
                                     'PRETTY_NAME="SUSE Linux Enterprise Server 15 SP5"\nID="sles"\n'},
             {"name": "SUSE Linux Enterprise Server 15 SP5", "version": "15.5", "vendor": "sles", "release": "15.5"}),
    "arch": ({"/etc/os-release": 'NAME="Arch Linux"\nPRETTY_NAME="Arch Linux"\nID=arch\nBUILD_ID=rolling\n'},
             {"name": "Arch Linux", "vendor": "arch"}),
    "escaped": ({"/etc/os-release": 'PRETTY_NAME="Say \\"hi\\" 1.0"\nID=\'quoted\'\nVERSION_ID=1.0\n'},
                {"name": 'Say "hi" 1.0', "version": "1.0", "vendor": "quoted", "release": "1.0"}),
}


@pytest.mark.parametrize("case", sorted(OS_CASES))
def test_os_section_on_any_distribution(tmp_path, case):
    files, expected = OS_CASES[case]
    for path, text in files.items():
        target = tmp_path / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    from compspec.extractors.system import os_section

    assert os_section(Host(str(tmp_path))) == expected


def test_absolute_symlinks_stay_inside_the_host_root(tmp_path):
    (tmp_path / "usr" / "lib").mkdir(parents=True)
    (tmp_path / "usr" / "lib" / "os-release").write_text("ID=inside\n")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "os-release").symlink_to("/usr/lib/os-release")
    assert osrelease.os_release(Host(str(tmp_path))) == {"ID": "inside"}


POWER9 = ("processor\t: 0\ncpu\t\t: POWER9 (architected), altivec supported\nclock\t\t: 2300.000000MHz\n"
          "revision\t: 2.2 (pvr 004e 1202)\n\nprocessor\t: 1\ncpu\t\t: POWER9 (architected), altivec supported\n"
          "clock\t\t: 2300.000000MHz\nrevision\t: 2.2 (pvr 004e 1202)\n\ntimebase\t: 512000000\n"
          "platform\t: pSeries\nmodel\t\t: IBM,9009-42A\n")
U74 = "processor\t: 0\nhart\t\t: 1\nisa\t\t: rv64imafdc\nmmu\t\t: sv39\nuarch\t\t: sifive,u74-mc\n\n"


@pytest.mark.parametrize("text, arch, expected", [
    (POWER9, "ppc64le", {"cores": "2", "vendor": "IBM", "target": "power9le", "target_generic": "ppc64le"}),
    (U74, None, {"cores": "1", "target": "u74mc", "target_generic": "riscv64"}),
])
def test_targets_of_other_architectures(tmp_path, text, arch, expected):
    (tmp_path / "proc" / "sys" / "kernel").mkdir(parents=True)
    (tmp_path / "proc" / "cpuinfo").write_text(text)
    if arch:
        (tmp_path / "proc" / "sys" / "kernel" / "arch").write_text(arch + "\n")
    from compspec.extractors.system import cpu

    found = cpu(Host(str(tmp_path)))
    assert {key: found.get(key) for key in expected} == expected


# ---- kernel ----

def test_parse_cmdline_keeps_whole_values_and_quotes():
    text = 'BOOT_IMAGE=/vmlinuz root=UUID=ab-cd ro quiet console=ttyS0,115200n8 dyndbg="file x.c +p"'
    assert kernel.parse_cmdline(text) == {"BOOT_IMAGE": "/vmlinuz", "root": "UUID=ab-cd", "ro": "", "quiet": "",
                                          "console": "ttyS0,115200n8", "dyndbg": "file x.c +p"}


def test_kernel_config_from_proc_config_gz(tmp_path):
    import gzip

    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "config.gz").write_bytes(gzip.compress(b"# comment\nCONFIG_A=y\n# CONFIG_B is not set\n"
                                                               b"CONFIG_C=\"x=y\"\n"))
    assert kernel.config(Host(str(tmp_path))) == {"CONFIG_A": "y", "CONFIG_C": '"x=y"'}


# ---- gpu ----

def test_nvidia_from_driver_files_when_nvidia_smi_is_not_recorded(tmp_path):
    root = tmp_path / "node"
    shutil.copytree(HOSTS / "x86-gpu-4xh100-ubuntu" / "proc", root / "proc")
    found = gpu.nvidia(Host(str(root)))
    assert found["count"] == "4" and found["model"] == "NVIDIA H100 80GB HBM3"
    assert found["driver_version"] == "535.161.08" and found["source"] == "procfs"
    assert found["device.3.pci_bus_id"] == "0000:bb:00.0"
    assert "memory_mib" not in found and "cuda_version" not in found


@pytest.mark.parametrize("address, expected", [
    ("00000000:19:00.0", "0000:19:00.0"), ("0000:3B:00.0", "0000:3b:00.0"), ("19:00.0", "0000:19:00.0"),
    ("00000001:c1:00.1", "0001:c1:00.1"),
])
def test_pci_addresses_are_normalised_to_sysfs_names(address, expected):
    from compspec.extractors.pci import normalise_address

    assert normalise_address(address) == expected


def test_nvidia_smi_query_rows_are_ordered_by_index_and_mixed_models_listed():
    text = ("1, NVIDIA A100-SXM4-40GB, 40960, 550.54.15, 00000000:07:00.0, GPU-b\n"
            "0, NVIDIA A100-SXM4-80GB, 81920, 550.54.15, 00000000:01:00.0, GPU-a\n")
    devices, driver = gpu.parse_nvidia_smi_query(text)
    assert [d["uuid"] for d in devices] == ["GPU-a", "GPU-b"] and driver == "550.54.15"
    summary = gpu.summarise("NVIDIA", devices, {})
    assert summary["model"] == "NVIDIA A100-SXM4-80GB, NVIDIA A100-SXM4-40GB"
    assert summary["memory_mib"] == "40960"


ROCM_SMI = {
    "card0": {"Card series": "AMD Instinct MI250X", "Card model": "0x740c", "Card vendor": "Advanced Micro Devices, Inc. [AMD/ATI]",
              "VRAM Total Memory (B)": "68702699520", "VRAM Total Used Memory (B)": "10960896"},
    "card1": {"Card series": "AMD Instinct MI250X", "Card model": "0x740c",
              "VRAM Total Memory (B)": "68702699520", "VRAM Total Used Memory (B)": "10960896"},
    "system": {"Driver version": "6.3.6"},
}


def test_amd_from_rocm_smi(tmp_path):
    (tmp_path / ".commands").mkdir()
    (tmp_path / ".commands" / "rocm-smi.txt").write_text(json.dumps(ROCM_SMI))
    (tmp_path / "opt" / "rocm" / ".info").mkdir(parents=True)
    (tmp_path / "opt" / "rocm" / ".info" / "version").write_text("6.0.2-115\n")
    found = gpu.amd(Host(str(tmp_path)))
    assert found["count"] == "2" and found["model"] == "AMD Instinct MI250X" and found["memory_mib"] == "65520"
    assert found["driver_version"] == "6.3.6" and found["rocm_version"] == "6.0.2" and found["vendor"] == "AMD"


def test_amd_from_sysfs(tmp_path):
    for index, slot in enumerate(["0000:c1:00.0", "0000:c6:00.0"]):
        device = tmp_path / "sys" / "class" / "drm" / f"card{index}" / "device"
        device.mkdir(parents=True)
        (device / "vendor").write_text("0x1002\n")
        (device / "device").write_text("0x74a1\n")
        (device / "product_name").write_text("AMD Instinct MI300X\n")
        (device / "mem_info_vram_total").write_text(str(192 * 1024 ** 3) + "\n")
        (device / "uevent").write_text(f"DRIVER=amdgpu\nPCI_SLOT_NAME={slot}\n")
    (tmp_path / "sys" / "class" / "drm" / "renderD128").mkdir()
    found = gpu.amd(Host(str(tmp_path)))
    assert found["count"] == "2" and found["model"] == "AMD Instinct MI300X" and found["memory_mib"] == "196608"
    assert found["device.1.pci_bus_id"] == "0000:c6:00.0" and found["source"] == "sysfs"


# ---- selection ----

def test_selection_merges_and_keeps_extractor_order():
    plan = parse_selection(["system[os, cpu]", "library", "system[arch]"])
    assert plan == [("system", ["cpu", "arch", "os"]), ("library", ["mpi", "libc"])]


def test_default_selection():
    plan = dict(parse_selection(None))
    assert list(plan) == ["system", "kernel", "library", "nfd", "gpu"]
    assert plan["kernel"] == ["release"]
    assert plan["nfd"] == ["cpu", "memory", "network", "storage", "system"]
    assert plan["system"] == ["cpu", "processor", "arch", "memory", "os"]


@pytest.mark.parametrize("item, words", [
    ("nope", ["unknown extractor 'nope'", "gpu, kernel, library, nfd, system"]),
    ("system[cpu,bogus]", ["unknown section 'bogus'", "cpu, processor, arch, memory, os"]),
    ("system[cpu", ["cannot read extractor selection"]),
    ("system[]", ["empty section list", "cpu, processor"]),
])
def test_selection_errors_list_valid_names(item, words):
    with pytest.raises(ExtractorSelectionError) as info:
        run_extractors([item])
    for word in words:
        assert word in str(info.value)


def test_a_crashing_section_becomes_a_warning(tmp_path, monkeypatch):
    from compspec.extractors.registry import REGISTRY

    def broken(host):
        raise RuntimeError("disk\non   fire")

    section = REGISTRY["system"].sections["arch"]
    monkeypatch.setitem(REGISTRY["system"].sections, "arch", type(section)("arch", section.description, broken))
    result = run_extractors(["system[arch,os]"], host_root=str(HOSTS / "x86-amd-zen3-ubuntu-openmpi"))
    assert result.warnings == ["system.arch: RuntimeError: disk on fire"]
    assert result.document["results"]["system"]["sections"]["arch"] == {}
    assert result.document["results"]["system"]["sections"]["os"]["vendor"] == "ubuntu"


def test_host_root_must_be_a_folder(tmp_path):
    with pytest.raises(ValueError, match="not a folder"):
        run_extractors(["system[os]"], host_root=str(tmp_path / "absent"))


# ---- nfd network and storage ----

def _write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def test_nfd_network_leaves_out_a_speed_the_kernel_does_not_know(tmp_path):
    _write(tmp_path, {
        "/sys/class/net/eth0/device/uevent": "DRIVER=virtio_net\n",
        "/sys/class/net/eth0/operstate": "up\n",
        "/sys/class/net/eth0/speed": "-1\n",  # SPEED_UNKNOWN: virtio and many virtual NICs
        "/sys/class/net/eth1/device/uevent": "DRIVER=mlx5_core\n",
        "/sys/class/net/eth1/operstate": "up\n",
        "/sys/class/net/eth1/speed": "100000\n",
    })
    from compspec.extractors.nfd import network

    found = network(Host(str(tmp_path)))
    assert "device.0.speed" not in found and found["device.0.operstate"] == "up"
    assert found["device.1.speed"] == "100000"


def test_nfd_storage_leaves_out_loop_ram_and_zram_devices(tmp_path):
    files = {}
    for name in ("loop0", "loop7", "nvme0n1", "ram0", "sda", "zram0"):
        files[f"/sys/block/{name}/queue/rotational"] = "1\n" if name == "sda" else "0\n"
    _write(tmp_path, files)
    from compspec.extractors.nfd import storage

    found = storage(Host(str(tmp_path)))
    names = [value for key, value in found.items() if key.endswith(".name")]
    assert names == ["nvme0n1", "sda"]
    assert found["block.1.name"] == "sda" and found["block.1.rotational"] == "1"


def test_nfd_storage_with_only_virtual_block_devices_is_unavailable(tmp_path):
    _write(tmp_path, {"/sys/block/loop0/queue/rotational": "0\n"})
    from compspec.extractors.nfd import storage
    from compspec.extractors.registry import SectionUnavailable

    with pytest.raises(SectionUnavailable, match="no block devices"):
        storage(Host(str(tmp_path)))
