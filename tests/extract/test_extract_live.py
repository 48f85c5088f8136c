"""Extraction of the machine the tests run on."""
from __future__ import annotations

import os

import pytest

from compspec.extract import load_extraction, run_extractors


@pytest.fixture(scope="module")
def live():
    return run_extractors(["system", "kernel", "library", "nfd", "gpu"])


def sections(result, extractor):
    return result.document["results"][extractor]["sections"]


def test_live_document_is_schema_valid(live):
    assert load_extraction(live.document)["results"] == live.document["results"]
    metadata = live.document["metadata"]
    assert metadata["hostname"] == os.uname().nodename
    assert metadata["host_root"] == "/"


def test_live_cores_are_the_cpus_this_process_may_use(live):
    assert sections(live, "system")["cpu"]["cores"] == str(len(os.sched_getaffinity(0)))


def test_live_every_processor_present(live):
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        expected = {line.split(":")[1].strip() for line in handle if line.startswith("processor")}
    processors = sections(live, "system")["processor"]
    assert {key.split(".")[0] for key in processors} == expected


def test_live_target_agrees_with_archspec_host_detection(live):
    """Our host-root aware detection must pick what archspec itself picks for the machine it runs on."""
    import archspec.cpu

    cpu = sections(live, "system")["cpu"]
    assert cpu["target"] == archspec.cpu.host().name
    assert sections(live, "system")["arch"]["arch"] == os.uname().machine


def test_live_topology_is_consistent(live):
    cpu = sections(live, "system")["cpu"]
    physical, sockets, threads = int(cpu["physical_cores"]), int(cpu["sockets"]), int(cpu["threads_per_core"])
    assert sockets >= 1 and physical >= sockets and threads >= 1
    assert physical * threads >= int(cpu["cores"])


def test_live_memory_and_libc(live):
    assert sections(live, "system")["memory"]["memtotal"].endswith(" kB")
    libc = sections(live, "library")["libc"]
    try:
        name, _, version = os.confstr("CS_GNU_LIBC_VERSION").partition(" ")
    except (ValueError, OSError):
        pytest.skip("not a glibc system")
    assert libc == {"name": name, "version": version}
