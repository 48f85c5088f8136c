"""The one reading path: every document gets the same guard against deep nesting and the same one-line messages,
naming the document, the line and column, and the field once."""
from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources

import pytest
import yaml

from compspec import documents
from compspec.compat import load_mappings
from compspec.nodes import NodeFileError, read_node_dir, read_node_file
from compspec.schemas import FormatError
from rainbow.config import load_config
from rainbow.graph import GraphError, parse_graph
from rainbow.jobspec import JobspecError, parse_jobspec

DEEP_FLOW = "a: " + "[" * 200_000 + "]" * 200_000


# ---------------------------------------------------------------------------------------------- depth


@pytest.mark.parametrize("loader", ["c", "python"])
def test_deep_flow_yaml_gets_our_message_with_either_parser(monkeypatch, loader):
    if loader == "python":
        monkeypatch.setattr(documents, "_C_LOADER", yaml.SafeLoader)
    with pytest.raises(FormatError, match=r"^doc: nested deeper than 100 levels$"):
        documents.parse_yaml(DEEP_FLOW, "doc")


def test_a_parser_that_stops_deep_input_itself_still_gives_our_message(monkeypatch):
    """Some libyaml versions refuse deep flow collections on their own ("while increasing flow level")."""
    real = documents._yaml_depth_exceeds

    def stopping(text, max_depth, loader):
        if loader is not yaml.SafeLoader:
            raise yaml.scanner.ScannerError(None, None, "while increasing flow level", None)
        return real(text, max_depth, loader)

    monkeypatch.setattr(documents, "_yaml_depth_exceeds", stopping)
    monkeypatch.setattr(documents, "_C_LOADER", type("FakeCLoader", (yaml.SafeLoader,), {}))
    with pytest.raises(FormatError, match="nested deeper than 100 levels"):
        documents.parse_yaml(DEEP_FLOW, "doc")
    with pytest.raises(FormatError, match="not valid YAML"):  # other errors stay what they are
        documents.parse_yaml("[" * 60 + "x" * 100, "doc")


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,
    '{"a": ' * 150 + "1" + "}" * 150,
    "[" * 100_000,
    '[{"a": [' * 40 + "]}]" * 40,
])
def test_deep_json_gets_our_message(text):
    with pytest.raises(FormatError, match="^doc: nested deeper than 100 levels$"):
        documents.parse_json(text, "doc")


def test_json_depth_leaves_strings_alone():
    text = json.dumps({"a": ["[" * 500, "\\\"[[[", {"b": "{" * 300}]})
    assert documents.parse_json(text, "doc")["a"][0] == "[" * 500
    assert not documents.json_depth_exceeds(json.dumps([[[1]]] * 100))
    nested = json.dumps(json.loads("[" * 100 + "]" * 100))
    assert not documents.json_depth_exceeds(nested) and documents.json_depth_exceeds("[" + nested + "]")


def test_a_deep_artifact_is_a_one_line_error_in_compspec_match(tmp_path):
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "manifest.yaml").write_text("images:\n  - name: app\n    artifact: deep.json\n")
    code = "import sys; from compspec.cli import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", code, "match", "-i", "manifest.yaml", "--match", "a.b=c"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == ["Error: image app: deep.json: nested deeper than 100 levels"]


def test_deep_compat_mappings_and_config_are_refused_by_name(tmp_path):
    deep = tmp_path / "deep.yaml"
    deep.write_text("compatibilities: " + "[" * 50_000 + "]" * 50_000)
    with pytest.raises(FormatError, match=f"^{deep}: nested deeper than 100 levels$"):
        load_mappings([deep])
    with pytest.raises(FormatError, match=f"^config {deep}: nested deeper than 100 levels$"):
        load_config(deep)


# ---------------------------------------------------------------------------------------------- messages


def test_json_errors_name_file_line_and_column_without_a_doubled_word(tmp_path):
    bad = tmp_path / "n1.json"
    bad.write_text('{\n  "results": {},\n  "metadata": {"hostname": "abc\n}\n')
    with pytest.raises(NodeFileError) as caught:
        read_node_file(bad)
    message = str(caught.value)
    assert message == "n1.json: not valid JSON (Invalid control character at line 3 column 32)"
    unterminated = tmp_path / "n2.json"
    unterminated.write_text('{\n  "results": {},\n  "x": "abc')
    with pytest.raises(NodeFileError, match=r"^n2.json: not valid JSON \(Unterminated string starting at line 3 "
                                            r"column 8\)$") as caught:
        read_node_file(unterminated)
    assert "at at" not in str(caught.value)


@pytest.mark.parametrize("reader", ["mappings", "config", "jobspec"])
def test_yaml_errors_name_file_line_and_column(tmp_path, reader):
    bad = tmp_path / "bad.yaml"
    bad.write_text("compatibilities:\n  - name: x\n    attributes: [a\n")
    if reader == "mappings":
        call, what = (lambda: load_mappings([bad])), str(bad)
    elif reader == "config":
        call, what = (lambda: load_config(bad)), f"config {bad}"
    else:
        call, what = (lambda: documents.read(bad, error=JobspecError)), str(bad)
    with pytest.raises(FormatError) as caught:
        call()
    message = str(caught.value)
    assert message.startswith(f"{what}: not valid YAML or JSON (")
    assert "at line 4 column 1)" in message and "\n" not in message


def test_graph_errors_name_the_document_once():
    with pytest.raises(GraphError, match=r"^nodes: graph: missing or not an object$"):
        parse_graph({"name": "x"}, "nodes")
    with pytest.raises(GraphError, match=r"^nodes: empty \(expected JSON\)$"):
        parse_graph("", "nodes")


def test_bytes_are_decoded_once_for_every_reader():
    for call, error in ((lambda data: parse_graph(data), GraphError), (lambda data: parse_jobspec(data), JobspecError)):
        with pytest.raises(error, match="not UTF-8 text"):
            call(b"\xff\xfe")
    assert parse_jobspec(b"\xef\xbb\xbf" + json.dumps({"version": 1, "resources": {
        "r": {"type": "node", "count": 1}}, "tasks": [{"command": ["x"], "resources": "r"}]}).encode()).form == "nextgen"


# ---------------------------------------------------------------------------------------------- node files


def _extraction(**metadata) -> dict:
    return {"results": {"system": {"sections": {"cpu": {"cores": "4"}}}},
            "metadata": {"hostname": "h", **metadata}}


@pytest.mark.parametrize("change, field", [
    (lambda d: d["metadata"].update(extracted_at=5), "metadata.extracted_at"),
    (lambda d: d["results"].update({"my extractor": {"sections": {}}}), "results"),
])
def test_node_files_get_the_schema_check_only(tmp_path, change, field):
    doc = _extraction()
    change(doc)
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    (tmp_path / "good.json").write_text(json.dumps(_extraction()))
    warnings: list[str] = []
    nodes = read_node_dir(tmp_path, warn=warnings.append)
    assert [n.source for n in nodes] == ["good.json"]
    assert len(warnings) == 1 and warnings[0].startswith(f"skipping bad.json: {field}")


# ---------------------------------------------------------------------------------------------- package data


# Data files that share another file's schema; every other file has a schema of its own name.
SHARED_SCHEMAS = {"default-config.yaml": "config", "store-schema-postgresql.yaml": "store-schema"}
DATA_FILES = [(package, path.name) for package in ("compspec", "rainbow")
              for path in resources.files(package).joinpath("data").iterdir() if path.name.endswith(".yaml")]


@pytest.mark.parametrize("package, name", DATA_FILES, ids=[f"{p}/{n}" for p, n in DATA_FILES])
def test_every_shipped_data_file_has_a_schema_and_satisfies_it(package, name):
    documents.package_data.cache_clear()
    assert documents.package_data(package, name, SHARED_SCHEMAS.get(name))


def test_a_data_file_missing_a_key_is_refused_naming_it():
    text = resources.files("rainbow").joinpath("data", "server-limits.yaml").read_text()
    broken = "\n".join(line for line in text.splitlines() if not line.startswith("max_page_size"))
    with pytest.raises(FormatError, match="'max_page_size' is a required property"):
        documents.load(broken, "server-limits.yaml", schema="server-limits", package="rainbow")


def test_readers_keep_their_error_types(tmp_path):
    missing = tmp_path / "missing.json"
    with pytest.raises(JobspecError, match=f"^{missing}: cannot read"):
        documents.read(missing, error=JobspecError)


def test_the_compiled_schema_path_never_fetches_a_reference(monkeypatch):
    from compspec import schemas

    opened = []
    monkeypatch.setattr("urllib.request.urlopen", lambda *a, **k: opened.append(a))
    monkeypatch.setattr(schemas, "load_schema", lambda name, package="compspec": {
        "$id": "rainbow/x.json", "properties": {"a": {"$ref": "http://example.invalid/other.json"}}})
    schemas._compiled.cache_clear()
    try:
        assert schemas._compiled("x", "rainbow") is None and opened == []
    finally:
        schemas._compiled.cache_clear()


def test_the_demo_data_shipped_in_the_package_satisfies_its_schemas():
    from rainbow.demo import DATA, load_scenario

    assert load_scenario(DATA / "demo.yaml")["clusters"]
    for path in sorted(DATA.glob("*.yaml")):
        if path.name != "demo.yaml":
            assert parse_jobspec(documents.read_bytes(path)).resources


# ---------------------------------------------------------------------------------------------- compiled schemas

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_ODD_VALUES = st.sampled_from([None, -1, 0, 3, 2**70, 1.0, 1.5, True, "", "x", [], ["x"], {}, {"a": 1}, {"a": "b"}])
_GRAPH = {"graph": {"nodes": {
    "c": {"label": "c", "metadata": {"type": "cluster", "basename": "c", "id": 0, "uniq_id": 0, "size": 1,
                                     "paths": {"containment": "/c"}}},
    "n": {"label": "n", "metadata": {"type": "node", "name": "n0", "rank": 0, "exclusive": False, "unit": "",
                                     "properties": {"arch": "x86_64"}}}},
    "edges": [{"source": "c", "target": "n", "relation": "contains", "directed": True, "metadata": {}}]}}


def _places(doc, path=()):
    """Every (container, key) of a document, so a test can put an odd value anywhere."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc)
    for key, value in items:
        yield doc, key
        if isinstance(value, (dict, list)):
            yield from _places(value, (*path, key))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 10_000), _ODD_VALUES), min_size=1, max_size=3),
       st.sampled_from(["jgf-rainbow", "jobspec-nextgen"]))
def test_the_compiled_validator_accepts_exactly_what_jsonschema_accepts(edits, schema):
    """The compiled validator decides the common case alone: it must never accept what jsonschema refuses."""
    import copy

    from compspec import schemas
    from rainbow.jobspec import simple_jobspec

    doc = copy.deepcopy(_GRAPH if schema == "jgf-rainbow" else simple_jobspec(2, 4, ["app"]))
    for where, value in edits:
        places = list(_places(doc))
        container, key = places[where % len(places)]
        container[key] = copy.deepcopy(value)
    compiled = schemas._compiled(schema, "compspec")
    assert compiled is not None
    authority = not list(schemas._validator(schema, "compspec").iter_errors(doc))
    try:
        fast = compiled.is_valid(doc)
    except Exception:  # noqa: BLE001  (a value it cannot take: jsonschema decides, as validate() does)
        return
    assert fast == authority
