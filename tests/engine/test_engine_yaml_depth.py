"""Deeply nested YAML is refused with a named error instead of overflowing libyaml's C stack (which kills the process)."""
import subprocess
import sys

import pytest

from compspec.schemas import FormatError
from compspec.documents import parse_yaml as load_yaml
from rainbow.jobspec import JobspecError, parse_jobspec
from rainbow.select import SelectionError, select

DEEP = {
    "block-sequences": "a:\n  " + "- " * 200_000 + "x\n",
    "flow-sequences": "a: " + "[" * 200_000 + "]" * 200_000,
    "flow-mappings": "a: " + "{b: " * 50_000 + "c" + "}" * 50_000,
}


@pytest.mark.parametrize("text", DEEP.values(), ids=DEEP.keys())
def test_deep_jobspec_is_a_jobspec_error(text):
    with pytest.raises(JobspecError, match="nested deeper than"):
        parse_jobspec(text)


def test_deep_json_jobspec_is_a_jobspec_error():
    with pytest.raises(JobspecError, match="nested deeper than"):
        parse_jobspec('{"a": ' + "[" * 200_000 + "]" * 200_000 + "}")


def test_deep_priorities_are_a_selection_error():
    with pytest.raises(SelectionError, match="priorities: nested deeper than"):
        select("constraint", ["a"], options={"priorities": "- " * 100_000})


def test_ordinary_nesting_still_loads():
    assert load_yaml("a:\n  - b: [1, [2, {c: 3}]]\n", "doc") == {"a": [{"b": [1, [2, {"c": 3}]]}]}
    with pytest.raises(FormatError, match="doc: not valid YAML"):
        load_yaml("a: [", "doc")


def test_the_process_survives_in_a_subprocess():
    """The crash this guards against is a segfault, so check from outside the process too."""
    code = (
        "from rainbow.jobspec import parse_jobspec\n"
        "try:\n    parse_jobspec('a:\\n  ' + '- ' * 200000 + 'x')\n"
        "except Exception as exc:\n    print(type(exc).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "JobspecError"
