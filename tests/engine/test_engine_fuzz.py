"""Damaged graphs and jobspecs give a FormatError (one line), never another exception."""
from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compspec.schemas import FormatError
from rainbow.graph import build_index, parse_graph, parse_subsystem
from rainbow.jobspec import parse_jobspec
from rainbow.match import Matcher

from .engine_support import NodeKind, make_graph, make_subsystem

GRAPH = make_graph("f", [NodeKind(2, sockets=2, cores_per_socket=2, memory_gib=4, gpus=1,
                                  properties={"system.os.vendor": "rocky"})])
FLUX_GRAPH = make_graph("f", [NodeKind(1, cores_per_socket=2)], dialect="fluxion")
JOBSPEC = {"version": 1, "name": "j",
           "resources": {"r": {"type": "node", "count": 1, "requires": [{"field": "system.os.vendor", "op": "In",
                                                                         "values": ["rocky"]}],
                               "with": [{"type": "core", "count": 2}, {"type": "memory", "count": 1}]}},
           "tasks": [{"command": ["a"], "resources": "r"}],
           "requires": {"org.supercontainers": {"os.vendor": "rocky"}},
           "attributes": {"parameter": {"x": 1}}}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False, width=16) |
    st.sampled_from(["", "0", "1", "node", "core", "contains", "in", "GiB", "x" * 3]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["type", "size", "id", "label", "metadata", "source", "target", "relation", "count",
                         "with", "unit", "name", "field", "op", "values", "x"]), inner, max_size=3),
    max_leaves=6)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, prefix + (i,))


def _damage(doc, data):
    doc = copy.deepcopy(doc)
    paths = [p for p in _paths(doc) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        parent = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            if data.draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = data.draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue
    return doc


def _one_line(call):
    try:
        return call()
    except FormatError as exc:
        assert "\n" not in str(exc) and str(exc)
        return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_graphs(data):
    source = data.draw(st.sampled_from([GRAPH, FLUX_GRAPH]))
    doc = _damage(source, data)
    text = data.draw(st.sampled_from(["dict", "json", "cut"]))
    payload = doc if text == "dict" else json.dumps(doc)
    if text == "cut":
        payload = payload[: data.draw(st.integers(0, len(payload)))]
    graph = _one_line(lambda: parse_graph(payload))
    if graph is not None:
        index = build_index(graph)
        assert index.node_count >= 0
        sub = _damage(make_subsystem("io", {"2": [{"type": "shm"}]}), data)
        _one_line(lambda: build_index(graph, {"io": parse_subsystem(sub, "io", graph)}))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_jobspecs(data):
    doc = _damage(JOBSPEC, data)
    request = _one_line(lambda: parse_jobspec(doc))
    if request is not None:
        matcher = Matcher()
        matcher.set("f", build_index(parse_graph(GRAPH)))
        matched, reasons = matcher.match(request)
        assert matched == ["f"] or "\n" not in reasons["f"]
