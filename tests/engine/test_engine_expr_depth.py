"""Selection expressions bound their nesting: deep input is a SelectionError, never a RecursionError."""
from __future__ import annotations

import subprocess
import sys

import pytest

from rainbow.select import SelectionError, evaluate, parse, select
from rainbow.select.expr import MAX_NESTING


@pytest.mark.parametrize("text", [
    "(" * 200 + "1" + ")" * 200,
    "-" * 900 + "1",
    "not " * 200 + "1",
    "max(" * 120 + "1" + ")" * 120,
])
def test_deep_expressions_are_refused_by_name(text):
    with pytest.raises(SelectionError, match=f"nested deeper than {MAX_NESTING} levels"):
        parse(text)


def test_long_flat_expressions_still_evaluate():
    assert evaluate(parse("+".join(["1"] * 499)), {}) == 499
    assert evaluate(parse(" || ".join(["a"] * 200)), {"a": 0}) is False
    assert evaluate(parse("10 - 2 - 3 * 2 / 4 + 1"), {}) == pytest.approx(7.5)
    assert evaluate(parse("(" * MAX_NESTING + "2" + ")" * MAX_NESTING), {}) == 2


def test_a_deep_filter_in_priorities_is_a_selection_error():
    priorities = "- priority: 1\n  steps:\n  - filter: '" + "(" * 200 + "1" + ")" * 200 + "'\n"
    with pytest.raises(SelectionError, match=r"priorities\[0\]\.steps\[0\]\.filter: .*nested deeper than"):
        select("constraint", ["a"], options={"priorities": priorities})


def test_serve_with_a_deep_filter_in_its_config_exits_with_one_line(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("scheduler:\n  algorithms:\n    selection:\n      name: constraint\n      options:\n"
                      "        priorities: |\n          - priority: 1\n            steps:\n"
                      "            - filter: '" + "(" * 200 + "1" + ")" * 200 + "'\n")
    code = "import sys; from rainbow.cli import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", code, "serve", "--port", "0", "--secret", "s", "--db",
                           str(tmp_path / "x.db"), "--config-path", str(config)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "scheduler.algorithms.selection" in line and f"nested deeper than {MAX_NESTING} levels" in line
