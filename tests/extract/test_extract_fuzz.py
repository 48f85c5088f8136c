"""Garbage in the files and program outputs extractors read gives warnings or odd values, never a crash."""
from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compspec.extract import load_extraction, run_extractors
from compspec.extractors import cpuinfo, gpu, kernel, library, osrelease

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
LINES = st.lists(st.sampled_from([
    "processor\t: 0", "processor\t: 1", "processor\t: x", "", "flags\t\t: avx2 sse4_2 lm", "vendor_id\t: GenuineIntel",
    "CPU implementer\t: 0x41", "CPU part\t: 0xd40", "physical id\t: 0", "core id\t\t: 3", "cpu\t\t: POWER9",
    "isa\t\t: rv64", "model name\t: : :", "junk", ":", "Features\t: sve", "uarch\t\t: ,",
    "cpu number\t: 0", "cpu number\t: \u00b2", "vendor_id\t: IBM/S390", "processor 0: version = FF,  machine = 3906",
    "processor 7: =,=", "ncpus active\t: 2", "ncpus probed\t: 9", "CPU0:\t\tonline", "Processor\t: ARMv7 Processor",
    "ISA\t\t: loongarch64", "CPU architecture: 7", "CPU architecture: 8", "model name\t: Spacemit(R) X60",
    "cpu\t\t: POWER10 (raw), altivec supported",
]), max_size=30).map("\n".join)


@settings(max_examples=60, deadline=None)
@given(TEXT)
def test_parsers_accept_any_text(text):
    cpuinfo.parse_cpuinfo(text)
    cpuinfo.parse_cpu_list(text)
    cpuinfo.parse_cpu_mask(text)
    cpuinfo.auxv_byte_order(text.encode("utf-8", "replace"))
    cpuinfo.elf_machine(text.encode("utf-8", "replace"), text[:4])
    osrelease.parse_os_release(text)
    kernel.parse_cmdline(text)
    kernel.parse_config(text)
    library.parse_mpi(text)
    library.parse_ldd(text)
    gpu.parse_nvidia_smi_query(text)
    gpu.parse_rocm_smi(text)


FILES = ["/proc/cpuinfo", "/proc/meminfo", "/proc/cmdline", "/etc/os-release", "/proc/self/status",
         "/sys/devices/system/cpu/online", "/sys/devices/system/cpu/cpu0/topology/core_id",
         "/proc/sys/kernel/arch", "/.commands/mpirun-version.txt", "/.commands/nvidia-smi-query.txt",
         "/.commands/rocm-smi.txt", "/.commands/ldd-version.txt", "/proc/driver/nvidia/gpus/x/information",
         "/sys/bus/pci/devices/0000:00:01.0/class", "/sys/bus/pci/devices/0000:00:01.0/vendor",
         "/sys/devices/system/cpu/present", "/sys/devices/system/cpu/cpu0/topology/thread_siblings_list",
         "/sys/devices/system/cpu/cpu0/topology/core_siblings",
         "/sys/devices/system/cpu/cpu0/topology/physical_package_id",
         "/bin/sh", "/proc/self/auxv"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(FILES), st.one_of(TEXT, LINES), max_size=len(FILES)))
def test_any_node_tree_gives_a_valid_document(files):
    with tempfile.TemporaryDirectory() as root:
        for path, text in files.items():
            target = Path(root) / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        result = run_extractors(["system", "library", "nfd", "gpu", "kernel"], host_root=root)
    for line in result.warnings:
        assert "\n" not in line
        # SectionUnavailable reasons only: a section that raised anything else has a bug.
        assert not re.match(r"^[a-z]+\.[a-z]+: [A-Za-z]+(Error|Exception)\b", line), line
    load_extraction(json.loads(json.dumps(result.document)))
