"""A small expression language for constraint selection, parsed by hand and never handed to eval().

Grammar (lowest precedence first):

    expr    := or
    or      := and (("or" | "||") and)*
    and     := not (("and" | "&&") not)*
    not     := ("not" | "!") not | compare
    compare := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary)*
    unary   := "-" unary | atom
    atom    := NUMBER | NAME | FUNC "(" expr ("," expr)* ")" | "(" expr ")"

FUNC is one of min, max, abs. Values are numbers (state strings that read as numbers count as numbers).

The parser recurses about eight frames per parenthesis, so nesting (parentheses, function calls, unary "-" and
"not") is bounded by MAX_NESTING: deeper expressions are refused by name, never left to exhaust Python's stack.
"""
from __future__ import annotations

import functools
import math
import operator
import re
from typing import Any, Callable, Mapping

from .errors import SelectionError

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
                    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
                    r"|(?P<op><=|>=|==|!=|&&|\|\||[-+*/()<>!,]))")
_FUNCTIONS = {"min": min, "max": max, "abs": abs}
_WORDS = {"and": "&&", "or": "||", "not": "!"}
MAX_LENGTH = 1000
MAX_NESTING = 50


class Missing(Exception):
    """A variable the expression needs is not defined for this cluster."""


class Invalid(Exception):
    """The expression cannot be computed for this cluster (division by zero, arithmetic on text)."""


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        found = _TOKEN.match(text, pos)
        if not found or found.end() == pos:
            raise SelectionError(f"expression {text!r}: unexpected {text[pos:].strip()[:10]!r}")
        if found["num"] is not None:
            out.append(("num", float(found["num"])))
        elif found["name"] is not None:
            word = found["name"]
            if word in _WORDS:
                out.append(("op", _WORDS[word]))
            elif word in ("true", "false"):
                out.append(("num", 1.0 if word == "true" else 0.0))
            else:
                out.append(("name", word))
        else:
            out.append(("op", found["op"]))
        pos = found.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0
        self.depth = 0

    def enter(self) -> None:
        """One level deeper (a parenthesis, a call's arguments, a unary operator); refused past MAX_NESTING."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.fail(f"nested deeper than {MAX_NESTING} levels")

    def fail(self, what: str) -> SelectionError:
        return SelectionError(f"expression {self.text!r}: {what}")

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] == value:
            self.pos += 1
            return True
        return False

    def parse(self) -> tuple:
        if not self.tokens:
            raise self.fail("empty")
        tree = self.or_()
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek()[1]!r}")
        return tree

    # Chains of one precedence level (a + b - c, a and b and c) become one node holding all their terms, so a long
    # flat expression gives a shallow tree: only nesting makes it deep, and nesting is bounded.

    def or_(self) -> tuple:
        terms = [self.and_()]
        while self.take("||"):
            terms.append(self.and_())
        return terms[0] if len(terms) == 1 else ("or", tuple(terms))

    def and_(self) -> tuple:
        terms = [self.not_()]
        while self.take("&&"):
            terms.append(self.not_())
        return terms[0] if len(terms) == 1 else ("and", tuple(terms))

    def not_(self) -> tuple:
        if self.take("!"):
            self.enter()
            inner = self.not_()
            self.depth -= 1
            return ("not", inner)
        return self.compare()

    def compare(self) -> tuple:
        left = self.sum_()
        for op in ("<=", ">=", "==", "!=", "<", ">"):
            if self.take(op):
                return ("cmp", op, left, self.sum_())
        return left

    def _chain(self, ops: tuple[str, ...], term) -> tuple:
        first = term()
        rest = []
        while True:
            op = next((op for op in ops if self.take(op)), None)
            if op is None:
                return ("arith", first, tuple(rest)) if rest else first
            rest.append((op, term()))

    def sum_(self) -> tuple:
        return self._chain(("+", "-"), self.product)

    def product(self) -> tuple:
        return self._chain(("*", "/"), self.unary)

    def unary(self) -> tuple:
        if self.take("-"):
            self.enter()
            inner = self.unary()
            self.depth -= 1
            return ("neg", inner)
        return self.atom()

    def atom(self) -> tuple:
        token = self.peek()
        if token is None:
            raise self.fail("ends too early")
        kind, value = token
        self.pos += 1
        if kind == "num":
            return ("num", value)
        if kind == "name":
            if self.take("("):
                if value not in _FUNCTIONS:
                    raise self.fail(f"unknown function {value!r} (known: {', '.join(sorted(_FUNCTIONS))})")
                self.enter()
                args = [self.or_()]
                while self.take(","):
                    args.append(self.or_())
                if not self.take(")"):
                    raise self.fail("missing ')'")
                self.depth -= 1
                if value == "abs" and len(args) != 1:
                    raise self.fail("abs takes one argument")
                return ("call", value, tuple(args))
            return ("var", value)
        if value == "(":
            self.enter()
            inner = self.or_()
            if not self.take(")"):
                raise self.fail("missing ')'")
            self.depth -= 1
            return inner
        raise self.fail(f"unexpected {value!r}")


@functools.lru_cache(maxsize=1024)
def parse(text: str) -> tuple:
    """The syntax tree of `text`; SelectionError names the expression when it does not parse."""
    if len(text) > MAX_LENGTH:
        raise SelectionError(f"expression longer than {MAX_LENGTH} characters")
    return _Parser(text).parse()


def _number(value: Any) -> float:
    kind = type(value)
    if kind is float:
        return value
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if kind is int or isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            raise Invalid("a number too large for arithmetic") from None
    raise Invalid(f"{value!r} is not a number")


def value_of(value: Any) -> Any:
    """Cluster state arrives as JSON: a number written as a string still counts as a number."""
    if type(value) is str:
        try:
            return float(value)
        except ValueError:
            return value
    return value


Compiled = Callable[[Mapping[str, Any]], Any]


_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul,
}
_ORDERING = ("<", "<=", ">", ">=")
_FOLD_LIMIT = 8  # longer arithmetic chains run as a loop


def _divide(left: float, right: float) -> float:
    if right == 0:
        raise Invalid("division by zero")
    return left / right


def _as_number(value: Any) -> float:
    """What a state value is worth in arithmetic: `_number(value_of(value))` in one step."""
    kind = type(value)
    if kind is float:
        return value
    if kind is int or kind is str:
        try:
            return float(value)
        except OverflowError:
            raise Invalid("a number too large for arithmetic") from None
        except ValueError:
            raise Invalid(f"{value!r} is not a number") from None
    return _number(value)


@functools.lru_cache(maxsize=1024)
def compile_number(tree: tuple) -> Callable[[Mapping[str, Any]], float]:
    """The tree as a closure that returns a float (or raises Invalid), for where only a number will do.

    Selection runs every step over every matched cluster, so the common shapes (a variable, a constant, a chain of
    arithmetic) get one closure each instead of a general one wrapped in a conversion.
    """
    kind = tree[0]
    if kind == "num":
        number = float(tree[1])
        return lambda v: number
    if kind == "var":
        name = tree[1]

        def variable(v: Mapping[str, Any]) -> float:
            try:
                value = v[name]
            except KeyError:
                raise Missing(name) from None
            return value if type(value) is float else _as_number(value)

        return variable
    if kind == "neg":
        inner = compile_number(tree[1])
        return lambda v: -inner(v)
    if kind == "call":
        function = _FUNCTIONS[tree[1]]
        args = tuple(compile_number(arg) for arg in tree[2])
        if len(args) == 1:
            (only,) = args
            return lambda v: float(function(only(v)))
        return lambda v: float(function(*(arg(v) for arg in args)))
    if kind == "arith":
        if len(tree[2]) > _FOLD_LIMIT:
            return _chain(compile_number(tree[1]), tuple((op, compile_number(term)) for op, term in tree[2]))
        total = compile_number(tree[1])
        for op, term in tree[2]:
            total = _fold(total, op, term)
        return total
    general = compile_tree(tree)
    return lambda v: _number(general(v))


def _chain(first: Callable[[Mapping[str, Any]], float],
           rest: tuple[tuple[str, Callable[[Mapping[str, Any]], float]], ...]) -> Callable[[Mapping[str, Any]], float]:
    """A long chain as one loop: folded closures would nest one frame per term, and a chain may have hundreds."""
    steps = tuple((_divide if op == "/" else _ARITHMETIC[op], term) for op, term in rest)

    def compute(v: Mapping[str, Any]) -> float:
        total = first(v)
        for apply, term in steps:
            total = apply(total, term(v))
        return total

    return compute


def _fold(left: Callable[[Mapping[str, Any]], float], op: str, term: tuple) -> Callable[[Mapping[str, Any]], float]:
    """`left op term`, evaluated left to right as the chain is written; a constant operand is bound, not called."""
    apply = _divide if op == "/" else _ARITHMETIC[op]
    if term[0] == "num":
        constant = float(term[1])
        return lambda v: apply(left(v), constant)
    right = compile_number(term)
    return lambda v: apply(left(v), right(v))


@functools.lru_cache(maxsize=1024)
def compile_tree(tree: tuple) -> Compiled:
    """The syntax tree as nested closures over a variables mapping (walking the tuples each time is slower)."""
    kind = tree[0]
    if kind == "num":
        number = tree[1]
        return lambda v: number
    if kind == "var":
        name = tree[1]

        def variable(v: Mapping[str, Any]) -> Any:
            try:
                return value_of(v[name])
            except KeyError:
                raise Missing(name) from None

        return variable
    if kind in ("neg", "call", "arith"):
        return compile_number(tree)
    if kind == "not":
        inner = compile_tree(tree[1])
        return lambda v: not _truth(inner(v))
    if kind == "and":
        terms = tuple(compile_tree(term) for term in tree[1])
        return lambda v: all(_truth(term(v)) for term in terms)
    if kind == "or":
        terms = tuple(compile_tree(term) for term in tree[1])
        return lambda v: any(_truth(term(v)) for term in terms)
    op = tree[1]
    if op in _ORDERING:
        # Text cannot be ordered and NaN orders false either way, as _compare says; floats do both by themselves.
        compare = _COMPARE[op]
        left = compile_number(tree[2])
        if tree[3][0] == "num":
            constant = float(tree[3][1])
            return lambda v: compare(left(v), constant)
        right = compile_number(tree[3])
        return lambda v: compare(left(v), right(v))
    left, right = compile_tree(tree[2]), compile_tree(tree[3])
    return lambda v: _compare(op, left(v), right(v))


def evaluate(tree: tuple, variables: Mapping[str, Any]) -> Any:
    """The value of a parsed expression; raises Missing or Invalid when it cannot be computed."""
    return compile_tree(tree)(variables)


def _truth(value: Any) -> bool:
    if isinstance(value, str):
        raise Invalid(f"{value!r} is not true or false")
    return bool(value)


def _compare(op: str, left: Any, right: Any) -> bool:
    if type(left) is float and type(right) is float:
        return _COMPARE[op](left, right)
    if isinstance(left, str) or isinstance(right, str):
        if op == "==":
            return str(left) == str(right)
        if op == "!=":
            return str(left) != str(right)
    left, right = _number(left), _number(right)
    if math.isnan(left) or math.isnan(right):
        return False
    return _COMPARE[op](left, right)


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
}
