"""A Fluxion graph file holding several subsystems registers as one cluster with those subsystems, through the
scheduler's Register path and after a restart from the store."""
from __future__ import annotations

import json

from rainbow.server.scheduler import Scheduler
from rainbow.store import open_store

from engine.fluxion_graphs import tiny  # tests/ is on the path: the first folder without __init__.py

GRAPH = json.dumps(tiny(power=True))
POWER_JOB = json.dumps({"version": 1, "resources": {"n": {"type": "node", "count": 2, "requires": [
    {"name": "power", "field": "type", "match": "pdu"}], "with": [{"type": "core", "count": 8}]}}})
FLUX_JOB = json.dumps({"version": 9999, "resources": [{"type": "slot", "count": 4, "label": "task", "with": [
    {"type": "core", "count": 4}, {"type": "memory", "count": 8}]}],
    "tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}],
    "attributes": {"system": {"duration": 60, "constraints": {"hostlist": ["node[0-1]"]}}}})


def test_a_multi_subsystem_file_registers_its_subsystems(tmp_path):
    store = open_store(tmp_path / "f.db")
    first = Scheduler(store, registration_secret="reg")
    tiny_cluster = first.register("tiny", "reg", GRAPH)
    tokens = [("tiny", tiny_cluster.token)]
    assert first.submit(POWER_JOB, tokens, satisfy_only=True).clusters == ["tiny"]
    assert first.submit(FLUX_JOB, tokens, satisfy_only=True).clusters == ["tiny"]
    second = Scheduler(store, registration_secret="reg")
    assert second.rebuild() == 1
    assert second.satisfy(POWER_JOB).clusters == ["tiny"]
    store.close()
