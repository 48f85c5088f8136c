"""Hypothesis strategies for what a hostile or careless client sends: graphs, subsystems, jobspecs, state, names.

Each kind comes in two flavours. The valid ones are built from the generators in rel_graphs, valid by
construction. The broken ones start from a valid document and break one thing (a dangling edge, a wrong type, a
second root, a negative count...) or are not documents at all (truncated JSON, YAML tags, BOMs). A few breakages
still leave a document the server may accept, so the fuzz tests do not demand a refusal: they demand a clean
answer, and an unchanged store after any refusal. The inputs that must always be refused are sent one by one
(NOT_DOCUMENTS, DEEP_DOCUMENTS).
"""
from __future__ import annotations

import copy
import json
from typing import Any, Callable

from hypothesis import strategies as st

from .rel_graphs import (cluster_graph, flux_jobspec, io_subsystem, nested_dash_jobspec, nested_flow_jobspec,
                         nested_jobspec_yaml, nextgen_jobspec, render)

# Text that protobuf can carry (no lone surrogates), with control characters and non-ASCII included on purpose.
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)

HOSTILE_NAMES = [
    "", " ", ".", "..", "../../etc/passwd", "a/b", "a\\b", "name with spaces", "x'; DROP TABLE jobs; --",
    "\" OR 1=1 --", "\x00", "tab\there", "new\nline", "名前", "ünïcödé", "a" * 300, "-leading-dash", "%s%s%n",
    "${HOME}", "$(reboot)", "null", "None", "0", "*",
]

plausible_names = st.from_regex(r"[a-z][a-z0-9_-]{0,30}", fullmatch=True)
names = st.one_of(plausible_names, st.sampled_from(HOSTILE_NAMES), any_text)

credentials = st.one_of(
    st.sampled_from(["", " ", "rainbow", "chocolate-cookies", "null", "a" * 1000, "\x00"]),
    st.from_regex(r"[A-Za-z0-9_-]{20,60}", fullmatch=True),
    any_text,
)

# -- cluster graphs --------------------------------------------------------------------------------------------
valid_graphs = st.builds(
    cluster_graph,
    name=plausible_names,
    nodes=st.integers(1, 4),
    sockets=st.integers(1, 2),
    cores=st.integers(1, 4),
    memory_gib=st.integers(0, 64),
    gpus=st.integers(0, 2),
)


def _vertices(doc: dict) -> dict:
    return doc["graph"]["nodes"]


def _some_label(doc: dict, draw) -> str:
    return draw(st.sampled_from(sorted(_vertices(doc))))


def _drop_vertex(doc, draw):
    label = draw(st.sampled_from([k for k in _vertices(doc) if k != "0"] or ["0"]))
    del _vertices(doc)[label]


def _dangling_edge(doc, draw):
    doc["graph"]["edges"].append({"source": _some_label(doc, draw), "target": "no-such-label",
                                  "relation": "contains", "metadata": {}})


def _retype_field(doc, draw):
    label = _some_label(doc, draw)
    key = draw(st.sampled_from(["type", "size", "paths", "uniq_id", "basename", "id", "exclusive", "properties"]))
    _vertices(doc)[label]["metadata"][key] = draw(st.sampled_from([None, [], {"x": 1}, -1, 2 ** 70, "", 1.5, True]))


def _drop_field(doc, draw):
    label = _some_label(doc, draw)
    key = draw(st.sampled_from(["type", "paths", "basename", "name"]))
    _vertices(doc)[label]["metadata"].pop(key, None)


def _cycle(doc, draw):
    leaf = max(_vertices(doc), key=int)
    doc["graph"]["edges"].append({"source": leaf, "target": "0", "relation": "contains", "metadata": {}})


def _second_root(doc, draw):
    extra = str(len(_vertices(doc)) + 10)
    meta = copy.deepcopy(_vertices(doc)["0"]["metadata"])
    meta["uniq_id"] = int(extra)
    _vertices(doc)[extra] = {"label": extra, "metadata": meta}


def _no_root(doc, draw):
    _vertices(doc)["0"]["metadata"]["type"] = "rack"


def _size(doc, draw):
    label = _some_label(doc, draw)
    _vertices(doc)[label]["metadata"]["size"] = draw(st.sampled_from([-5, 0, 2 ** 63, 10 ** 30, "big"]))


def _edges_not_list(doc, draw):
    doc["graph"]["edges"] = draw(st.sampled_from([{}, "edges", 7, None]))


def _nodes_garbage(doc, draw):
    doc["graph"]["nodes"] = draw(st.sampled_from([[1, 2, 3], "nodes", 7, None, [{"id": None}]]))


def _no_graph(doc, draw):
    doc.pop("graph")


def _label_mismatch(doc, draw):
    label = _some_label(doc, draw)
    _vertices(doc)[label]["label"] = "other"


def _bad_properties(doc, draw):
    label = next(k for k, v in _vertices(doc).items() if v["metadata"]["type"] == "node")
    _vertices(doc)[label]["metadata"]["properties"] = draw(st.sampled_from([
        {"system.cpu.target": 5}, {"nested": {"a": "b"}}, ["list"], "text"]))


GRAPH_BREAKERS: list[Callable] = [
    _drop_vertex, _dangling_edge, _retype_field, _drop_field, _cycle, _second_root, _no_root, _size,
    _edges_not_list, _nodes_garbage, _no_graph, _label_mismatch, _bad_properties,
]


@st.composite
def broken_graph_docs(draw) -> dict:
    """A valid cluster graph with one thing broken."""
    doc = copy.deepcopy(draw(valid_graphs))
    draw(st.sampled_from(GRAPH_BREAKERS))(doc, draw)
    return doc


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=20,
)

NOT_DOCUMENTS = [
    "", " ", "null", "[]", "{}", "0", "\"text\"", "{", "{\"graph\": ", "{\"graph\": {}}", "{\"graph\": null}",
    "{\"graph\": {\"nodes\": {}, \"edges\": []}}", "NaN", "{\"a\": Infinity}", "\ufeff{}", "\x00",
    "[" * 50 + "]" * 50, "1e999", "-0", "{\"a\": 1, \"a\": 2}",
]

# Documents nested deeper than a recursive parser's stack: sent one by one by the fuzz tests, for every field.
DEEP_DOCUMENTS = {
    "json-array-5000": "[" * 5000 + "]" * 5000,
    "json-object-3000": "{\"a\":" * 3000 + "1" + "}" * 3000,
    "json-graph-5000": "{\"graph\": " + "[" * 5000 + "]" * 5000 + "}",
    "yaml-flow-3000": nested_flow_jobspec(3000),
    "yaml-flow-50000": nested_flow_jobspec(50_000),
    "yaml-dash-50000": nested_dash_jobspec(50_000),
    "yaml-key-50000": nested_dash_jobspec(50_000, "?"),
    "yaml-block-300": nested_jobspec_yaml(300),
}


def _truncated(doc_text: str) -> st.SearchStrategy[str]:
    return st.integers(1, max(1, len(doc_text) - 1)).map(lambda n: doc_text[:n])


@st.composite
def broken_graph_texts(draw) -> str:
    """Text that must not register: a broken graph, a truncated one, a non-graph JSON value, or not JSON."""
    kind = draw(st.sampled_from(["broken", "truncated", "value", "text"]))
    if kind == "broken":
        return json.dumps(draw(broken_graph_docs()))
    if kind == "truncated":
        return draw(_truncated(json.dumps(draw(valid_graphs))))
    if kind == "value":
        return json.dumps(draw(json_values))
    return draw(st.one_of(st.sampled_from(NOT_DOCUMENTS), any_text))


# -- subsystem graphs ------------------------------------------------------------------------------------------
def valid_subsystems(graph: dict) -> st.SearchStrategy[dict]:
    """io subsystems hanging off some of `graph`'s node labels."""
    labels = [k for k, v in graph["graph"]["nodes"].items() if v["metadata"]["type"] == "node"]
    return st.builds(io_subsystem, st.just(graph),
                     kinds=st.lists(st.sampled_from(["shm", "nvme", "ssd"]), min_size=1, max_size=3, unique=True),
                     attach=st.lists(st.sampled_from(labels), min_size=1, max_size=len(labels), unique=True))


@st.composite
def broken_subsystem_texts(draw, graph: dict) -> str:
    """Subsystem graphs that must be refused: edges from unknown labels, broken vertices, or not JSON at all."""
    doc = copy.deepcopy(draw(valid_subsystems(graph)))
    kind = draw(st.sampled_from(["unknown-source", "bad-vertex", "no-nodes", "edge-type", "not-json"]))
    if kind == "unknown-source":
        doc["graph"]["edges"].append({"source": "99999", "target": "io0", "relation": "contains"})
    elif kind == "bad-vertex":
        label = draw(st.sampled_from(sorted(doc["graph"]["nodes"])))
        doc["graph"]["nodes"][label]["metadata"] = draw(st.sampled_from([None, [], "meta", {"type": 7}]))
    elif kind == "no-nodes":
        doc["graph"].pop("nodes")
    elif kind == "edge-type":
        doc["graph"]["edges"][0]["source"] = draw(st.sampled_from([None, 12, ["2"], {"a": 1}]))
    else:
        return draw(st.one_of(st.sampled_from(NOT_DOCUMENTS), any_text))
    return json.dumps(doc)


# -- jobspecs --------------------------------------------------------------------------------------------------
_compat = st.dictionaries(
    st.sampled_from(["io.archspec", "org.supercontainers"]),
    st.dictionaries(st.sampled_from(["cpu.target", "os.vendor", "mpi.implementation"]),
                    st.sampled_from(["x86_64", "ubuntu", "OpenMPI", "zen3"]), min_size=1, max_size=2),
    max_size=1,
)

valid_jobspec_docs = st.one_of(
    st.builds(nextgen_jobspec, nodes=st.integers(1, 6), cores=st.integers(1, 16),
              requires=st.lists(st.fixed_dictionaries({"name": st.just("io"), "field": st.just("type"),
                                                       "match": st.sampled_from(["shm", "nvme"])}), max_size=1),
              compat=_compat,
              parameters=st.dictionaries(st.sampled_from(["seconds_per_gb", "priority"]),
                                         st.floats(0, 100, allow_nan=False), max_size=2)),
    st.builds(flux_jobspec, nodes=st.integers(1, 6), cores=st.integers(1, 16)),
)

valid_jobspec_texts = st.builds(render, valid_jobspec_docs, st.sampled_from(["json", "yaml"]))


def _break_jobspec(doc: dict, draw) -> Any:
    kind = draw(st.sampled_from(["count", "type", "no-resources", "tasks", "version", "requires", "compat",
                                 "replace"]))
    resources = doc.get("resources")
    first = resources[0] if isinstance(resources, list) else next(iter(resources.values()))
    if kind == "count":
        key = "count" if isinstance(resources, list) else "replicas"
        first[key] = draw(st.sampled_from([-1, 0, "many", 1.5, None, [], 2 ** 64, 10 ** 40]))
    elif kind == "type":
        first["type"] = draw(st.sampled_from([None, 7, [], {"a": "b"}, ""]))
    elif kind == "no-resources":
        doc.pop("resources")
    elif kind == "tasks":
        doc["tasks"] = draw(st.sampled_from([None, "run", [{"command": 5}], [{"resources": "missing"}], {}]))
    elif kind == "version":
        doc["version"] = draw(st.sampled_from([0, 2, 99, "one", None, -1]))
    elif kind == "requires":
        first["requires"] = draw(st.sampled_from([
            "io", [{"name": "io"}], [{"field": "type", "min": "x", "max": []}], [{"name": 5, "match": None}],
            [{"field": "type", "op": "Explode", "values": ["a"]}]]))
    elif kind == "compat":
        doc["requires"] = draw(st.sampled_from([
            "x86", ["a"], {"no.such.namespace": {"attr": "v"}}, {"io.archspec": "zen"},
            {"io.archspec": {"cpu.target": 5}}, {"org.supercontainers": {"unknown.attr": "v"}}]))
    else:
        return draw(json_values)
    return doc


@st.composite
def broken_jobspec_texts(draw) -> str:
    """Jobspecs that must be refused, as YAML or JSON text, or text that is no jobspec at all."""
    kind = draw(st.sampled_from(["broken", "truncated", "text", "yaml"]))
    if kind == "broken":
        doc = _break_jobspec(copy.deepcopy(draw(valid_jobspec_docs)), draw)
        return render(doc, draw(st.sampled_from(["json", "yaml"])))
    if kind == "truncated":
        return draw(_truncated(render(draw(valid_jobspec_docs), "json")))
    if kind == "yaml":
        return draw(st.sampled_from([
            "!!python/object/apply:os.system ['true']", "version: 1\nresources: !!binary aGVsbG8=",
            "version: 1\n\tresources: {}", "a: [1, 2", "- - - -", "version: &a [*a]", "? [a]\n: b",
            "version: 1\nresources:\n  work: {type: node, replicas: 1, with: [{type: core, count: 1}]}\n"
            "tasks: [{command: [x], resources: work}]\n" + "# pad\n" * 10 + "---\nsecond: doc\n",
        ]))
    return draw(st.one_of(st.sampled_from(NOT_DOCUMENTS), any_text))


# -- state payloads --------------------------------------------------------------------------------------------
_state_keys = st.one_of(st.sampled_from(["nodes_free", "cost_per_node_hour", "memory_per_node"]),
                        st.from_regex(r"[a-z_]{1,20}", fullmatch=True))
valid_states = st.dictionaries(_state_keys,
                               st.one_of(st.integers(-10 ** 6, 10 ** 6), st.floats(-1e6, 1e6, allow_nan=False),
                                         st.from_regex(r"[a-z0-9]{0,10}", fullmatch=True)),
                               max_size=6)

broken_state_texts = st.one_of(
    st.sampled_from(["", "[]", "[1,2]", "7", "\"text\"", "null", "{", "{\"a\": {\"nested\": 1}}",
                     "{\"a\": [1, 2]}", "{\"a\": NaN}", "{\"a\": Infinity}"]),
    st.dictionaries(_state_keys, st.one_of(st.lists(st.integers(), max_size=3),
                                           st.dictionaries(any_text, st.integers(), max_size=2)),
                    min_size=1, max_size=3).map(json.dumps),
    any_text.filter(lambda s: not is_json_object(s)),
)


def is_json_object(text: str) -> bool:
    """Whether the text is a JSON object (a valid state payload shape), without recursing past the stack."""
    try:
        return isinstance(json.loads(text), dict)
    except (ValueError, RecursionError):
        return False
