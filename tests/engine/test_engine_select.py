"""Selection: random (seedable), constraint priorities, and the expression parser (no eval)."""
from __future__ import annotations

import random

import pytest

from rainbow.select import SelectionError, evaluate, parse, parse_priorities, select
from rainbow.select.expr import Invalid, Missing

CLUSTERS = ["a", "b", "c", "d"]
STATES = {
    "a": {"nodes_free": 10, "cost": 3, "memory": 100},
    "b": {"nodes_free": 0, "cost": 1, "memory": 400},
    "c": {"nodes_free": "4", "cost": "2.5", "memory": 300},
    "d": {"cost": 9},
}


def priorities(*blocks):
    lines = []
    for number, steps in enumerate(blocks, start=1):
        lines.append(f"- priority: {number}\n  steps:")
        lines.extend(f"  - {step}" for step in steps)
    return "\n".join(lines)


def constraint(text, matched=CLUSTERS, states=STATES, parameters=None, seed=0):
    return select("constraint", matched, options={"priorities": text}, states=states, parameters=parameters,
                  rng=random.Random(seed))


def test_random_is_uniform_seedable_and_returns_all():
    first = select("random", CLUSTERS, rng=random.Random(7))
    again = select("", list(reversed(CLUSTERS)), rng=random.Random(7))
    assert first.chosen == again.chosen
    assert first.eligible == CLUSTERS
    picks = {select("random", CLUSTERS, rng=random.Random(seed)).chosen for seed in range(60)}
    assert picks == set(CLUSTERS)
    assert select("random", [], rng=random.Random(1)).chosen is None
    assert select("random", CLUSTERS, options={"seed": "3"}).chosen == \
        select("random", CLUSTERS, options={"seed": "3"}).chosen


def test_unknown_algorithm():
    known = "bin-pack, cheapest, constraint, earliest-start, first-fit, least-loaded, random, spread"
    with pytest.raises(SelectionError, match=rf"unknown algorithm 'fastest' \(known: {known}\)"):
        select("fastest", CLUSTERS)


def test_filter_and_sort_descending_first():
    result = constraint(priorities(['filter: "nodes_free > 0"', "sort_descending: memory", "select: first"]))
    assert result.eligible == ["c", "a"]
    assert result.chosen == "c" and result.priority == 1


def test_sort_ascending_last_and_ties_by_name():
    states = {name: {"cost": 1} for name in CLUSTERS}
    result = constraint(priorities(["sort_ascending: cost", "select: last"]), states=states)
    assert result.eligible == CLUSTERS and result.chosen == "d"


def test_calc_is_per_request_and_never_written_back():
    states = {name: dict(values) for name, values in STATES.items()}
    result = constraint(priorities(['calc: "price=cost * hours"', "sort_ascending: price", "select: first"]),
                        states=states, parameters={"hours": 2})
    assert result.chosen == "b"
    assert result.variables["c"]["price"] == 5.0
    assert all("price" not in values for values in states.values())


def test_state_overlays_parameters():
    result = constraint(priorities(['filter: "cost < limit"']), parameters={"limit": 3, "cost": 0})
    assert result.eligible == ["b", "c"]


def test_missing_variable_fails_the_filter_and_later_priorities_run():
    text = priorities(['filter: "memory >= 300"', "select: first"], ['filter: "cost > 8"'])
    assert constraint(text).chosen == "b"
    assert constraint(text, matched=["a", "d"]).chosen == "d"
    assert constraint(text, matched=["a", "d"]).priority == 2
    nothing = constraint(text, matched=["a"])
    assert (nothing.chosen, nothing.eligible, nothing.priority) == (None, [], None)


def test_priorities_run_in_number_order():
    text = "- priority: 2\n  steps:\n  - filter: \"cost > 0\"\n- priority: 1\n  steps:\n  - filter: \"cost > 5\""
    assert [p.number for p in parse_priorities(text)] == [1, 2]
    assert constraint(text).chosen == "d"


def test_random_select_step_is_seeded():
    text = priorities(["select: random"])
    assert constraint(text, seed=4).chosen == constraint(text, seed=4).chosen
    assert {constraint(text, seed=s).chosen for s in range(40)} == set(CLUSTERS)


@pytest.mark.parametrize("text,values,expected", [
    ("1 + 2 * 3", {}, 7.0),
    ("(1 + 2) * 3", {}, 9.0),
    ("-x + 4", {"x": 1}, 3.0),
    ("10 / 4 - 1", {}, 1.5),
    ("min(100, memory - 100)", {"memory": 150}, 50.0),
    ("max(1, 2, 3) + abs(-2)", {}, 5.0),
    ("a > 1 and b < 2", {"a": 2, "b": 1}, True),
    ("a > 1 && not b < 2", {"a": 2, "b": 1}, False),
    ("a == 1 or b != 2", {"a": 0, "b": 2}, False),
    ("! (a >= 3) || false", {"a": 2}, True),
    ("zone == west", {"zone": "west", "west": "west"}, True),
    ("1e3 > .5", {}, True),
    ("cost_per_node_hour * (memory_per_node * seconds_per_gb) / 60 / 60",
     {"cost_per_node_hour": 3, "memory_per_node": 200, "seconds_per_gb": 0.4}, 3 * 200 * 0.4 / 3600),
])
def test_expressions(text, values, expected):
    assert evaluate(parse(text), values) == pytest.approx(expected)


@pytest.mark.parametrize("text,values,error", [
    ("x + 1", {}, Missing),
    ("1 / (x - 1)", {"x": 1}, Invalid),
    ("name + 1", {"name": "abc"}, Invalid),
    ("name and 1", {"name": "abc"}, Invalid),
])
def test_expressions_that_cannot_be_computed(text, values, error):
    with pytest.raises(error):
        evaluate(parse(text), values)


@pytest.mark.parametrize("text,message", [
    ("__import__('os')", "unexpected \"'os')\""),
    ("x.__class__", None),
    ("open(1)", "unknown function 'open'"),
    ("1 +", "ends too early"),
    ("(1 + 2", "missing ')'"),
    ("1 2", "unexpected 2.0"),
    ("a = 1", "unexpected '= 1'"),
    ("", "empty"),
    ("abs(1, 2)", "abs takes one argument"),
    ("x" * 1001, "longer than 1000"),
])
def test_bad_expressions_are_refused(text, message):
    if message is None:
        # attribute-looking names are plain variable names, looked up in the variables and nowhere else
        with pytest.raises(Missing):
            evaluate(parse(text), {})
        return
    with pytest.raises(SelectionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(text)


@pytest.mark.parametrize("text,message", [
    ("- priority: [1", "priorities: not valid YAML"),
    ("- steps: []", "'priority' is a required property"),
    ("- priority: 1\n  steps:\n  - shuffle: x", "Additional properties are not allowed"),
    ("- priority: 1\n  steps:\n  - select: best", "'best' is not one of"),
    ("- priority: 1\n  steps:\n  - calc: \"x + 1\"", "priorities[0].steps[0].calc: 'x + 1' is not NAME=EXPRESSION"),
    ("- priority: 1\n  steps:\n  - filter: \"x >\"", "priorities[0].steps[0].filter: expression 'x >'"),
])
def test_bad_priorities(text, message):
    with pytest.raises(SelectionError) as caught:
        constraint(text)
    assert message in str(caught.value)


def test_constraint_needs_priorities():
    with pytest.raises(SelectionError, match="needs priorities"):
        select("constraint", CLUSTERS, options={})
