"""The one way in for every document read from outside: node files, graphs, jobspecs, artifacts, compatibility
mappings, selection priorities, config files, and the data files shipped in the packages.

Each goes bytes → text (UTF-8) → parse (JSON or YAML, with a bound on nesting) → schema check → the caller's model,
and every failure on the way is a FormatError with one line that names the document, the line and column where the
parser knows them, and the field.

The nesting bound exists because the parsers recurse: libyaml's loader builds nested collections in C, and a few
hundred kilobytes of `- - - ...` or `[[[...` overflow the C stack and kill the whole process, which no try/except
can catch; Python's json module stops with RecursionError, and whatever walks the document afterwards (a copy, a
schema check, an encoder) recurses as well. So the depth is measured before a tree is built, without recursion:
on YAML's event stream, and on JSON's brackets. Anything deeper than the bound gets the same message, whatever the
parser library would have said.
"""
from __future__ import annotations

import functools
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import yaml

from compspec.schemas import FormatError, validate

MAX_DEPTH = 100
"""Far deeper than any real document we read; far shallower than what overflows a stack."""

_C_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)

# JSON's structure with strings taken out, reduced to brackets with C-speed byte operations (a graph is megabytes).
_BRACKETS_ONLY = bytes(c for c in range(256) if c not in b'[]{}"')
_STRING = re.compile(rb'"[^"]*"')


class NestingError(FormatError):
    """A document nests deeper than the bound; the message says so in the same words for every parser."""


def too_deep(what: str, max_depth: int = MAX_DEPTH) -> NestingError:
    return NestingError(f"{what}: nested deeper than {max_depth} levels")


# ---------------------------------------------------------------------------------------------- bytes → text


def decode(data: bytes | str, what: str) -> str:
    """UTF-8 bytes (a leading byte-order mark allowed) as text."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{what}: not UTF-8 text (byte {exc.start})") from None


def read_bytes(path: str | Path, what: str | None = None) -> bytes:
    """A file's bytes; FormatError names the file when it cannot be read."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise FormatError(f"{what or path}: cannot read ({exc.strerror or exc})") from None


def read_text(path: str | Path, what: str | None = None, *, empty: bool = True) -> str:
    """A file's text; with `empty=False` an empty (or all-blank) file is refused by name."""
    what = what or str(path)
    text = decode(read_bytes(path, what), what)
    if not empty and not text.strip():
        raise FormatError(f"{what}: empty")
    return text


# ---------------------------------------------------------------------------------------------- depth


def json_depth_exceeds(text: str | bytes, max_depth: int = MAX_DEPTH) -> bool:
    """Whether JSON text nests deeper than `max_depth`, measured on its brackets (strings left out)."""
    if len(text) <= 2 * max_depth:  # every level takes two characters
        return False
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")  # escaped backslashes first, then escaped quotes
    raw = raw.translate(None, _BRACKETS_ONLY).replace(b'""', b"")
    if b'"' in raw:
        raw = _STRING.sub(b"", raw)  # strings that hold brackets
    depth = 0
    while raw:
        depth += 1
        if depth > max_depth:
            return True
        # one level of innermost pairs per round: "x" keeps `{[]}` from losing two levels in one round
        shorter = raw.replace(b"[]", b"x").replace(b"{}", b"x").replace(b"x", b"")
        if len(shorter) == len(raw):
            return False  # unbalanced: the parser will say where
        raw = shorter
    return False


def _yaml_depth_exceeds(text: str, max_depth: int, loader: type) -> bool:
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, _OPEN):
            depth += 1
            if depth > max_depth:
                return True
        elif isinstance(event, _CLOSE):
            depth -= 1
    return False


def check_yaml_depth(text: str, what: str, max_depth: int = MAX_DEPTH) -> None:
    """Raise FormatError when collections in YAML `text` nest deeper than `max_depth`.

    The event stream is produced without recursion. Some libyaml versions stop deep flow collections themselves
    ("while increasing flow level") before the first event; the pure-Python parser, which has no such limit, then
    decides whether the text is too deep or broken in some other way.
    """
    if len(text) <= max_depth:  # every level takes at least one character
        return
    try:
        deep = _yaml_depth_exceeds(text, max_depth, _C_LOADER)
    except yaml.YAMLError:
        if _C_LOADER is yaml.SafeLoader:
            raise
        try:
            deep = _yaml_depth_exceeds(text, max_depth, yaml.SafeLoader)
        except yaml.YAMLError:
            deep = False
        if not deep:
            raise
    if deep:
        raise too_deep(what, max_depth)


# ---------------------------------------------------------------------------------------------- text → data


def _where(problem: str, line: int, column: int) -> str:
    """"Expecting value" → "Expecting value at line 1 column 1" (json's own messages may already end in "at")."""
    problem = problem.rstrip()
    joiner = " " if problem.endswith(" at") else " at "
    return f"{problem}{joiner}line {line} column {column}"


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise FormatError(f"duplicate key {key!r}")
            seen.add(key)
    return out


def parse_json(text: str, what: str, *, max_depth: int = MAX_DEPTH, unique_keys: bool = False) -> Any:
    """JSON text as Python data; `unique_keys` refuses an object that names a key twice."""
    if json_depth_exceeds(text, max_depth):
        raise too_deep(what, max_depth)
    try:
        return json.loads(text, object_pairs_hook=_refuse_duplicates) if unique_keys else json.loads(text)
    except json.JSONDecodeError as exc:
        if not text.strip():
            raise FormatError(f"{what}: empty (expected JSON)") from None
        raise FormatError(f"{what}: not valid JSON ({_where(exc.msg, exc.lineno, exc.colno)})") from None
    except FormatError as exc:  # a duplicate key
        raise FormatError(f"{what}: {exc}") from None
    except RecursionError:  # unbalanced brackets escape the count above; the decoder still stops cleanly
        raise too_deep(what, max_depth) from None
    except ValueError as exc:  # an integer with more digits than Python converts
        raise FormatError(f"{what}: {str(exc).splitlines()[0]}") from None


def first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def _yaml_problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or first_line(str(exc))
    problem = problem or type(exc).__name__
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return _where(problem, mark.line + 1, mark.column + 1) if mark is not None else problem


def parse_yaml(text: str, what: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """YAML (or JSON, which is YAML) text as Python data. Text that looks like JSON is read as JSON first: it is
    faster, and a JSON document then means what JSON says (`1e3` is a number)."""
    if text.lstrip()[:1] in ("{", "["):
        try:
            return parse_json(text, what, max_depth=max_depth)
        except NestingError:
            raise
        except FormatError:
            pass  # YAML's flow style looks the same ({a: 1}): the YAML parser decides
    try:
        check_yaml_depth(text, what, max_depth)
        return yaml.load(text, Loader=_C_LOADER)
    except FormatError:
        raise
    except yaml.YAMLError as exc:
        raise FormatError(f"{what}: not valid YAML or JSON ({_yaml_problem(exc)})") from None
    except RecursionError:
        raise too_deep(what, max_depth) from None
    except ValueError as exc:  # an integer with more digits than Python converts
        raise FormatError(f"{what}: {str(exc).splitlines()[0]}") from None


def parse(data: str | bytes, what: str, *, syntax: str = "yaml", max_depth: int = MAX_DEPTH,
          unique_keys: bool = False) -> Any:
    """Bytes or text as data: `syntax` "json" reads JSON only, "yaml" reads YAML or JSON."""
    text = decode(data, what)
    if syntax == "json":
        return parse_json(text, what, max_depth=max_depth, unique_keys=unique_keys)
    return parse_yaml(text, what, max_depth=max_depth)


# ---------------------------------------------------------------------------------------------- data → checked


_KINDS = {("json", dict): "a JSON object", ("yaml", dict): "a mapping", ("json", list): "a JSON array",
          ("yaml", list): "a list"}
_NAMES = {dict: "a mapping", list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def load(data: str | bytes | Mapping[str, Any], what: str, *, syntax: str = "yaml", schema: str | None = None,
         package: str = "compspec", kind: type | None = None, fast: bool = False, max_depth: int = MAX_DEPTH,
         unique_keys: bool = False, error: type[FormatError] = FormatError) -> Any:
    """Parse `data` (an already parsed mapping passes through), check it is a `kind` and satisfies `schema`.

    Failures raise `error` (a FormatError subclass the caller's users know) with a one-line message.
    """
    try:
        doc = dict(data) if isinstance(data, Mapping) else parse(data, what, syntax=syntax, max_depth=max_depth,
                                                                  unique_keys=unique_keys)
        if kind is not None and not isinstance(doc, kind):
            found = "empty" if doc is None else _NAMES.get(type(doc), type(doc).__name__)
            wanted = _KINDS.get((syntax, kind), kind.__name__)
            raise FormatError(f"{what}: the document must be {wanted}, not {found}")
        if schema is not None:
            validate(schema, doc, what, package=package, fast=fast)
        return doc
    except FormatError as exc:
        if isinstance(exc, error):
            raise
        raise error(str(exc)) from None


def read(path: str | Path, what: str | None = None, **options: Any) -> Any:
    """Read, parse and check a file (see `load`); messages name the file."""
    what = what or str(path)
    error = options.get("error", FormatError)
    try:
        data = read_bytes(path, what)
    except FormatError as exc:
        raise error(str(exc)) from None
    return load(data, what, **options)


# ---------------------------------------------------------------------------------------------- package data


@functools.lru_cache(maxsize=None)
def package_data(package: str, name: str, schema: str | None = None) -> Any:
    """A data file shipped in `package`/data, parsed and checked against its schema (by default the schema named
    after the file: compat-mappings.yaml → schemas/compat-mappings.json). Callers must not change the result."""
    stem, _, extension = name.rpartition(".")
    text = resources.files(package).joinpath("data", name).read_bytes()
    return load(text, f"{package}/data/{name}", syntax="json" if extension == "json" else "yaml",
                schema=schema or stem, package=package, fast=True)

