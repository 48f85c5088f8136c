"""Schema validation fast enough for graphs of a million vertices.

jsonschema takes about a millisecond per vertex; a compiled validator (fastjsonschema) takes a few microseconds.
The compiled one only decides the common case: a document it accepts is accepted, and any document it rejects
(or every document, when it cannot be used) goes to `compspec.schemas.validate`, which stays the authority and
names the offending field.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from compspec.schemas import load_schema, validate


@functools.lru_cache(maxsize=None)
def _compiled(name: str) -> Callable[[Any], Any] | None:
    try:
        import fastjsonschema
    except ImportError:
        return None
    schema = dict(load_schema(name))
    # the schemas use only keywords whose meaning draft 7 shares with 2020-12
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    try:
        return fastjsonschema.compile(schema)
    except fastjsonschema.JsonSchemaDefinitionException:
        return None


def check(name: str, document: Any, what: str) -> None:
    """Raise FormatError (naming the field) when `document` does not satisfy schema `name`."""
    fast = _compiled(name)
    if fast is not None:
        import fastjsonschema

        try:
            fast(document)
            return
        except fastjsonschema.JsonSchemaValueException:
            pass
    validate(name, document, what)
