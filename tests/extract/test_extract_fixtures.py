"""Every extractor against recorded node trees, value by value."""
from __future__ import annotations

from pathlib import Path

import pytest

from compspec.extract import load_extraction, run_extractors

HOSTS = Path(__file__).resolve().parents[1] / "data" / "hosts"
ALL = ["system", "kernel", "library", "nfd", "gpu"]

EXPECTED = {
    "x86-intel-2s-rocky9-impi": {
        "hostname": "icx-node-001",
        "system.cpu": {"cores": "64", "physical_cores": "32", "sockets": "2", "threads_per_core": "2",
                       "vendor": "GenuineIntel", "model": "Intel(R) Xeon(R) Gold 6326 CPU @ 2.90GHz",
                       "target": "icelake", "target_generic": "x86_64_v4"},
        "system.arch": {"name": "amd64", "arch": "x86_64"},
        "system.os": {"name": "Rocky Linux 9.3 (Blue Onyx)", "version": "9.3", "vendor": "rocky", "release": "9.3"},
        "library.mpi": {"variant": "intel-mpi", "version": "2021.8"},
        "library.libc": {"name": "glibc", "version": "2.34"},
        "gpu.pci": {"count": "0"},
        "memtotal": "263741396 kB",
        "processors": 64,
        "warnings": {"gpu.nvidia", "gpu.amd"},
    },
    "x86-amd-zen3-ubuntu-openmpi": {
        "hostname": "zen3-ubuntu-01",
        "system.cpu": {"cores": "32", "physical_cores": "16", "sockets": "1", "threads_per_core": "2",
                       "vendor": "AuthenticAMD", "model": "AMD EPYC 7313 16-Core Processor",
                       "target": "zen3", "target_generic": "x86_64_v3"},
        "system.arch": {"name": "amd64", "arch": "x86_64"},
        "system.os": {"name": "Ubuntu 22.04.3 LTS", "version": "22.04", "vendor": "ubuntu", "release": "22.04.3"},
        "library.mpi": {"variant": "OpenMPI", "version": "4.1.2"},
        "library.libc": {"name": "glibc", "version": "2.35"},
        "gpu.pci": {"count": "0"},
        "memtotal": "131811708 kB",
        "processors": 32,
        "warnings": {"gpu.nvidia", "gpu.amd", "kernel.config", "nfd.local", "nfd.usb"},
    },
    "arm64-neoverse-v1-al2023": {
        "hostname": "ip-10-0-12-34.ec2.internal",
        "system.cpu": {"cores": "16", "physical_cores": "16", "sockets": "1", "threads_per_core": "1",
                       "vendor": "ARM", "model": "Neoverse-V1", "target": "neoverse_v1",
                       "target_generic": "aarch64"},
        "system.arch": {"name": "arm64", "arch": "aarch64"},
        "system.os": {"name": "Amazon Linux 2023.3.20240219", "version": "2023", "vendor": "amzn",
                      "release": "2023.3.20240219"},
        "library.mpi": {"variant": "mpich", "version": "4.1.1"},
        "library.libc": {"name": "glibc", "version": "2.34"},
        "gpu.pci": {"count": "0"},
        "memtotal": "32234900 kB",
        "processors": 16,
        "warnings": {"gpu.nvidia", "gpu.amd", "kernel.config", "kernel.modules", "nfd.local", "nfd.usb"},
    },
    "x86-gpu-4xh100-ubuntu": {
        "hostname": "gpu-h100-01",
        "system.cpu": {"cores": "64", "physical_cores": "32", "sockets": "2", "threads_per_core": "2",
                       "vendor": "GenuineIntel", "model": "Intel(R) Xeon(R) Gold 6426Y",
                       "target": "sapphirerapids", "target_generic": "x86_64_v4"},
        "system.arch": {"name": "amd64", "arch": "x86_64"},
        "system.os": {"name": "Ubuntu 22.04.4 LTS", "version": "22.04", "vendor": "ubuntu", "release": "22.04.4"},
        "library.mpi": {"variant": "OpenMPI", "version": "4.1.5"},
        "library.libc": {"name": "glibc", "version": "2.35"},
        "gpu.nvidia": {"count": "4", "vendor": "NVIDIA", "model": "NVIDIA H100 80GB HBM3", "memory_mib": "81559",
                       "driver_version": "535.161.08", "cuda_version": "12.2",
                       "device.0.pci_bus_id": "00000000:19:00.0", "device.3.pci_bus_id": "00000000:bb:00.0",
                       "device.1.numa_node": "0", "device.1.socket": "0", "device.2.socket": "1",
                       "device.2.uuid": "GPU-1e9d7c3a-5f48-4b2e-a0c6-d8e3f7b1924c",
                       "device.1.memory_mib": "81559", "device.1.model": "NVIDIA H100 80GB HBM3"},
        "gpu.pci": {"count": "4", "vendor": "NVIDIA", "model": "GH100 [H100 SXM5 80GB]",
                    "device.0.pci_bus_id": "0000:19:00.0", "device.0.device_id": "2330", "device.3.socket": "1"},
        "memtotal": "527951268 kB",
        "processors": 64,
        "warnings": {"gpu.amd", "kernel.config", "nfd.local", "nfd.usb"},
    },
    "x86-amd-4xmi210-sles": {
        "hostname": "mi210-sles-01",
        "system.cpu": {"cores": "16", "physical_cores": "16", "sockets": "1", "threads_per_core": "1",
                       "vendor": "AuthenticAMD", "model": "AMD EPYC 7313 16-Core Processor",
                       "target": "zen3", "target_generic": "x86_64_v3"},
        "system.arch": {"name": "amd64", "arch": "x86_64"},
        "system.os": {"name": "SUSE Linux Enterprise Server 15 SP5", "version": "15.5", "vendor": "sles",
                      "release": "15.5"},
        "library.mpi": {"variant": "mvapich", "version": "3.0"},
        "library.libc": {"name": "glibc", "version": "2.31"},
        "gpu.amd": {"count": "4", "vendor": "AMD", "model": "AMD Instinct MI210", "memory_mib": "65520",
                    "driver_version": "6.3.6", "rocm_version": "6.0.2", "device.3.pci_bus_id": "0000:a3:00.0",
                    "device.3.numa_node": "0", "device.3.socket": "0"},
        "gpu.pci": {"count": "4", "vendor": "AMD", "model": "Aldebaran/MI200 [Instinct MI210]"},
        "memtotal": "263556212 kB",
        "processors": 16,
        "warnings": {"gpu.nvidia", "kernel.config", "nfd.local", "nfd.usb"},
    },
    "container-alpine-bare": {
        "hostname": "3f2a9c1d7b8e",
        "system.cpu": {"cores": "4", "physical_cores": "4", "sockets": "1", "threads_per_core": "2",
                       "vendor": "GenuineIntel", "model": "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
                       "target": "icelake", "target_generic": "x86_64_v4"},
        "system.arch": {"name": "amd64", "arch": "x86_64"},
        "system.os": {"name": "Alpine Linux v3.19", "version": "3.19.1", "vendor": "alpine", "release": "3.19.1"},
        "library.mpi": {},
        "library.libc": {"name": "musl", "version": "1.2.4_git20230717"},
        "gpu.pci": {},
        "memtotal": "32329352 kB",
        "processors": 8,
        "warnings": {"library.mpi", "gpu.nvidia", "gpu.amd", "gpu.pci", "kernel.config", "kernel.modules",
                     "kernel.release", "nfd.kernel", "nfd.local", "nfd.memory", "nfd.pci", "nfd.storage", "nfd.usb"},
    },
}


@pytest.fixture(scope="module")
def extracted() -> dict[str, tuple[dict, list[str]]]:
    out = {}
    for name in EXPECTED:
        result = run_extractors(ALL, host_root=str(HOSTS / name))
        out[name] = (result.document, result.warnings)
    return out


def section(document: dict, dotted: str) -> dict[str, str]:
    extractor, name = dotted.split(".")
    return document["results"][extractor]["sections"][name]


@pytest.mark.parametrize("host", sorted(EXPECTED))
def test_expected_values(extracted, host):
    document, _ = extracted[host]
    expected = EXPECTED[host]
    for dotted, keys in expected.items():
        if "." not in dotted:
            continue
        got = section(document, dotted)
        if not keys:
            assert got == {}, f"{host} {dotted}"
        for key, value in keys.items():
            assert got.get(key) == value, f"{host} {dotted}.{key}: {got.get(key)!r} != {value!r}"
    assert document["metadata"]["hostname"] == expected["hostname"]
    assert section(document, "system.memory")["memtotal"] == expected["memtotal"]


@pytest.mark.parametrize("host", sorted(EXPECTED))
def test_warnings_name_exactly_the_sections_that_cannot_run(extracted, host):
    document, warnings = extracted[host]
    warned = {line.split(":")[0] for line in warnings}
    assert warned == EXPECTED[host]["warnings"]
    for dotted in warned:
        assert section(document, dotted) == {}


@pytest.mark.parametrize("host", sorted(EXPECTED))
def test_every_processor_is_present_with_both_bogomips_spellings(extracted, host):
    document, _ = extracted[host]
    processors = section(document, "system.processor")
    ids = {key.split(".")[0] for key in processors}
    count = EXPECTED[host]["processors"]
    assert ids == {str(i) for i in range(count)}  # the last processor too
    last = str(count - 1)
    assert processors[f"{last}.normalized.bogomips"] == processors[f"{last}.normalized.botomips"]
    assert processors[f"{last}.normalized.bogomips"] == processors[f"{last}.raw.bogomips"]
    assert processors[f"{last}.normalized.vendor"] == EXPECTED[host]["system.cpu"]["vendor"]


@pytest.mark.parametrize("host", sorted(EXPECTED))
def test_document_is_schema_valid_with_clean_string_values(extracted, host):
    document, _ = extracted[host]
    loaded = load_extraction(document)
    assert loaded["results"] == document["results"]
    assert document["metadata"]["host_root"] == str(HOSTS / host)
    for extractor in document["results"].values():
        for keys in extractor["sections"].values():
            for value in keys.values():
                assert isinstance(value, str) and value == value.strip()


def test_intel_node_details(extracted):
    document, _ = extracted["x86-intel-2s-rocky9-impi"]
    boot = section(document, "kernel.boot")
    assert boot["root"] == "UUID=2b7e0a3c-8f2d-4b6e-9d51-6f3a1c0e7d42"  # the whole value, not "UUID"
    assert boot["crashkernel"] == "1G-4G:192M,4G-64G:256M,64G-:512M"
    assert boot["quiet"] == ""
    config = section(document, "kernel.config")
    assert config["CONFIG_NO_HZ_FULL"] == "y" and "CONFIG_NO_HZ_IDLE" not in config
    modules = section(document, "kernel.modules")
    assert modules["module.nvme.parameter.io_queue_depth"] == "1024"
    assert modules["module.xfs"] == "5.14.0-362.8.1.el9_3.x86_64"
    cpu = section(document, "nfd.cpu")
    assert cpu["cpuid.AVX512F"] == "true" and cpu["model.vendor_id"] == "Intel"
    assert cpu["cpuid.AVX512VNNI"] == cpu["cpuid.SSE42"] == cpu["cpuid.AESNI"] == cpu["cpuid.SHA"] == "true"
    assert "cpuid.SSE4_2" not in cpu and "cpuid.AMXTILE" not in cpu
    assert cpu["model.family"] == "6" and cpu["model.id"] == "106"
    assert cpu["topology.socket_count"] == "2" and cpu["topology.hardware_multithreading"] == "true"
    assert cpu["pstate.status"] == "active" and cpu["pstate.turbo"] == "true" and cpu["cstate.enabled"] == "true"
    assert section(document, "nfd.memory") == {"numa.is_numa": "true", "numa.node_count": "2"}
    network = section(document, "nfd.network")
    assert network["device.0.name"] == "eno12399" and network["device.0.sriov_totalvfs"] == "64"
    assert network["device.1.speed"] == "200000" and network["virtual.0.name"] == "lo"
    system = section(document, "nfd.system")
    assert system["osrelease.VERSION_ID.major"] == "9" and system["osrelease.VERSION_ID.minor"] == "3"
    assert system["dmiid.sys_vendor"] == "Dell Inc."
    kernel = section(document, "nfd.kernel")
    assert kernel["version.major"] == "5" and kernel["selinux.enabled"] == "true"
    assert kernel["loadedmodule.mlx5_core"] == "true" and kernel["enabledmodule.intel_idle"] == "true"
    assert section(document, "nfd.local")["label.example.org/rack"] == "r12"
    pci = section(document, "nfd.pci")
    assert pci["device.2.class"] == "0300" and pci["device.2.vendor"] == "1a03"  # the BMC display is no GPU
    usb = section(document, "nfd.usb")
    assert usb["device.0.class"] == "03"  # class from the interface when the device says 00


def test_arm_node_nfd_cpu(extracted):
    document, _ = extracted["arm64-neoverse-v1-al2023"]
    cpu = section(document, "nfd.cpu")
    assert cpu["cpuid.SVE"] == "true" and cpu["model.vendor_id"] == "ARM"
    assert cpu["model.family"] == "8" and cpu["model.id"] == str(0xD40)
    assert cpu["topology.hardware_multithreading"] == "false"
    processors = section(document, "system.processor")
    assert processors["15.normalized.family"] == "8" and processors["15.raw.cpu_part"] == "0xd40"
