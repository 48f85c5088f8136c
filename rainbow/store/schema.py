"""Store schema files and the one rule that brings a store to the schema this code runs on, for every backend."""
from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

from compspec.documents import package_data
from rainbow.store.base import SchemaVersionError


@functools.lru_cache(maxsize=4)
def load_schema(name: str) -> dict:
    """A store schema file: `version` (newest), `base` (version of `statements`), `statements`, `migrations`;
    checked against rainbow/schemas/store-schema.json."""
    schema = dict(package_data("rainbow", name.removeprefix("data/"), schema="store-schema"))
    schema["migrations"] = {int(k): list(v) for k, v in (schema.get("migrations") or {}).items()}
    return schema


def schema_message(kind: str, where: str, found: int, latest: int) -> str:
    """The one-line refusal for a store whose schema this code does not run on as it is."""
    if found > latest:
        return (f"{kind} store {where} has schema version {found}, newer than this rainbow's {latest}: "
                f"run a newer rainbow")
    return (f"{kind} store {where} has schema version {found}, older than this rainbow's {latest}: "
            f"run `rainbow db upgrade --db {where}` first")


def bring_to_schema(execute: Callable[..., Any], schema: dict, found: int, *, upgrade: bool, kind: str,
                    where: str, placeholder: str) -> None:
    """Create an empty store, migrate an older one when asked to, and refuse a newer one (or an older one without
    `upgrade`), inside the caller's transaction, so that SQLite and PostgreSQL follow the same rule.

    `execute(sql, params=())` runs one statement; `placeholder` is the backend's parameter marker.
    """
    latest = schema["version"]
    if found == latest:
        return
    if found > latest or (found and not upgrade):
        raise SchemaVersionError(schema_message(kind, where, found, latest))
    statements: Sequence[str] = schema["statements"] if not found else ()
    for statement in statements:
        execute(statement)
    start = found or schema["base"]
    for version in range(start + 1, latest + 1):
        for statement in schema["migrations"].get(version, ()):
            execute(statement)
    execute(f"INSERT INTO meta (key, value) VALUES ('schema_version', {placeholder}) "
            f"ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(latest),))
