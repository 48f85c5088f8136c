"""The compiled closures give what a plain walk of the syntax tree gives, for every kind of value state can hold.

The walk below is the language's definition, written for clarity; selection runs the compiled form because it is
evaluated once per matched cluster per step.
"""
from __future__ import annotations

import math

from hypothesis import assume, given, settings, strategies as st

from rainbow.select.expr import _FUNCTIONS, MAX_LENGTH, Invalid, Missing, _compare, _number, _truth, evaluate, parse, value_of

NAMES = ("a", "b", "c")
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.integers(min_value=-10**400, max_value=10**400),
    st.booleans(),
    st.sampled_from(["3", "2.5", "abc", "", "nan", "1e400", " 7 "]),
    st.none(),
)


def walk(tree: tuple, v: dict):
    kind = tree[0]
    if kind == "num":
        return tree[1]
    if kind == "var":
        if tree[1] not in v:
            raise Missing(tree[1])
        return value_of(v[tree[1]])
    if kind == "neg":
        return -_number(walk(tree[1], v))
    if kind == "not":
        return not _truth(walk(tree[1], v))
    if kind == "and":
        return all(_truth(walk(term, v)) for term in tree[1])
    if kind == "or":
        return any(_truth(walk(term, v)) for term in tree[1])
    if kind == "cmp":
        return _compare(tree[1], walk(tree[2], v), walk(tree[3], v))
    if kind == "call":
        return float(_FUNCTIONS[tree[1]](*(_number(walk(arg, v)) for arg in tree[2])))
    total = _number(walk(tree[1], v))
    for op, term in tree[2]:
        value = _number(walk(term, v))
        if op == "/":
            if value == 0:
                raise Invalid("division by zero")
            total /= value
        else:
            total = {"+": total.__add__, "-": total.__sub__, "*": total.__mul__}[op](value)
    return total


def outcome(function):
    try:
        value = function()
    except (Missing, Invalid) as exc:
        return type(exc).__name__
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value


def expressions():
    atom = st.one_of(st.sampled_from(NAMES), st.sampled_from(["0", "1", "2.5", "true", "false"]))

    def grow(inner):
        return st.one_of(*(form.map(lambda e: f"({e})") for form in forms(inner)))

    def forms(inner):
        return (
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(" ".join),
            st.lists(st.tuples(st.sampled_from(["+", "-", "*", "/"]), inner), min_size=9, max_size=12).flatmap(
                lambda rest: inner.map(lambda first: first + "".join(f" {op} {t}" for op, t in rest))),
            st.tuples(inner, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), inner).map(" ".join),
            inner.map(lambda e: f"({e})"),
            inner.map(lambda e: f"-({e})"),
            inner.map(lambda e: f"not ({e})"),
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(" ".join),
            st.tuples(st.sampled_from(["min", "max"]), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
            inner.map(lambda e: f"abs({e})"),
        )

    return st.recursive(atom, grow, max_leaves=10)


@settings(max_examples=400, deadline=None)
@given(text=expressions(), values=st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=3))
def test_compiled_expressions_agree_with_the_tree_walk(text, values):
    assume(len(text) <= MAX_LENGTH)
    tree = parse(text)
    assert outcome(lambda: evaluate(tree, values)) == outcome(lambda: walk(tree, values))


def test_a_long_chain_runs_without_deep_recursion():
    text = "+".join(["a"] * 450)
    assert evaluate(parse(text), {"a": "2"}) == 900.0
