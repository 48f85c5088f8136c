"""The JSON Schemas of every format we read or write, and one way to check a document against them.

Schemas live as JSON files in a package's `schemas` folder: compspec's beside this module, rainbow's in
`rainbow/schemas` (pass `package="rainbow"`); `load_schema` is the one loader. `validate` raises `FormatError` whose
message is one line naming the offending field, which the CLIs print as-is and the server returns as
INVALID_ARGUMENT.

jsonschema takes about a millisecond per graph vertex; jsonschema-rs, compiled in Rust, takes about a microsecond
(a 3,400-vertex graph: 4 ms, against 70 ms for a validator compiled to Python). With `fast=True` the compiled one
decides the common case: a document it accepts is accepted, and a document it rejects (or every document, when it
cannot be used) goes to jsonschema, which stays the authority and names the offending field. Graphs of a million
vertices and jobspecs on every submit take that path.
"""
from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any


class FormatError(ValueError):
    """A document does not have the shape its format requires; the message names the field."""


@functools.lru_cache(maxsize=None)
def load_schema(name: str, package: str = "compspec") -> dict[str, Any]:
    text = resources.files(package).joinpath("schemas", f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)


@functools.lru_cache(maxsize=None)
def _validator(name: str, package: str):
    import jsonschema  # imported here: it is slow to import and most commands never validate

    schema = load_schema(name, package)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def field_path(path) -> str:
    """Render a jsonschema error path as `a.b[3].c` (or `<document>` for the top level)."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<document>"


@functools.lru_cache(maxsize=None)
def _compiled(name: str, package: str):
    """The schema compiled by jsonschema-rs, or None where it cannot be (a reference outside the document)."""
    try:
        import jsonschema_rs
    except ImportError:
        return None
    schema = dict(load_schema(name, package))
    schema.pop("$id", None)  # "#/..." references then resolve inside the document, never through a URL

    def refuse(uri: str) -> Any:
        raise ValueError(f"{uri}: schemas refer only to themselves")

    try:
        return jsonschema_rs.validator_for(schema, retriever=refuse, validate_formats=True)
    except Exception:  # noqa: BLE001  (any schema it cannot compile is left to jsonschema)
        return None


def validate(name: str, document: Any, what: str | None = None, package: str = "compspec", *,
             fast: bool = False) -> None:
    """Check `document` against schema `name` of `package`; raise FormatError naming the first (deepest) bad field."""
    if fast:
        compiled = _compiled(name, package)
        if compiled is not None:
            try:
                if compiled.is_valid(document):
                    return
            except Exception:  # noqa: BLE001  (a value it cannot take, a datetime from YAML say: jsonschema decides)
                pass
    errors = list(_validator(name, package).iter_errors(document))
    if not errors:
        return
    import jsonschema

    best = jsonschema.exceptions.best_match(errors)
    message = best.message
    if len(message) > 200:
        message = message[:197] + "..."
    prefix = f"{what}: " if what else ""
    raise FormatError(f"{prefix}{field_path(best.absolute_path)}: {message}")
