"""Input limits and the checks that enforce them, with messages that name the offending field."""
from __future__ import annotations

import contextlib
import functools
import json
import re
from dataclasses import dataclass, fields, replace
from typing import Any, Iterator

from compspec.documents import package_data, parse_json
from compspec.schemas import FormatError, validate
from rainbow.server.errors import InvalidArgument


@dataclass(frozen=True)
class Limits:
    max_message_mb: int
    name_pattern: str
    max_name_length: int
    max_job_name_length: int
    max_jobspec_bytes: int
    max_nesting_depth: int
    max_state_bytes: int
    max_select_options: int
    max_select_option_bytes: int
    max_submit_clusters: int
    max_accept_ids: int
    default_page_size: int
    max_page_size: int
    max_requeues: int
    max_report_bytes: int

    @property
    def max_message_bytes(self) -> int:
        return min(self.max_message_mb * 1024 * 1024, 2**31 - 1)

    def with_overrides(self, **values: Any) -> "Limits":
        return replace(self, **{k: v for k, v in values.items() if v is not None})


@functools.lru_cache(maxsize=1)
def default_limits() -> Limits:
    data = package_data("rainbow", "server-limits.yaml")
    return Limits(**{f.name: data[f.name] for f in fields(Limits)})


@functools.lru_cache(maxsize=8)
def _name_re(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def _shown(value: str) -> str:
    """A bad value quoted for an error message, cut short so a 10,000-character name stays a one-line error."""
    return repr(value if len(value) <= 40 else value[:37] + "...")


def check_name(limits: Limits, field: str, value: str) -> str:
    if not value:
        raise InvalidArgument(f"{field}: required")
    if len(value) > limits.max_name_length:
        raise InvalidArgument(f"{field}: longer than {limits.max_name_length} characters")
    if not _name_re(limits.name_pattern).fullmatch(value):
        raise InvalidArgument(f"{field}: {_shown(value)} may hold only letters, digits, '.', '_' and '-', "
                              "starting with a letter or digit")
    return value


def check_job_name(limits: Limits, value: str) -> str:
    if len(value) > limits.max_job_name_length:
        raise InvalidArgument(f"name: longer than {limits.max_job_name_length} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise InvalidArgument("name: contains control characters")
    return value


def check_size(field: str, value: str, limit: int) -> str:
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise InvalidArgument(f"{field}: {size} bytes is over the limit of {limit}")
    return value


_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def check_nesting(field: str, text: str, limit: int) -> str:
    """Refuse text whose brackets nest deeper than `limit`.

    Counted over the whole text, quoted strings included: a jobspec holding hundreds of unbalanced brackets in
    its strings is refused too, which no real one does. Only text with more than `limit` brackets is scanned.
    """
    if text.count("[") + text.count("{") <= limit:
        return text
    depth = 0
    for ch in _NOT_BRACKETS.sub("", text):
        if ch in "[{":
            depth += 1
            if depth > limit:
                raise InvalidArgument(f"{field}: nested deeper than {limit} levels")
        elif depth:
            depth -= 1
    return text


def require(field: str, value: str) -> str:
    if not value:
        raise InvalidArgument(f"{field}: required")
    return value


def parse_state(limits: Limits, payload: str) -> dict[str, Any]:
    """An UpdateState payload as a dict; anything but a flat JSON object is InvalidArgument."""
    check_size("payload", require("payload", payload), limits.max_state_bytes)
    try:
        state = parse_json(payload, "payload")
    except FormatError as exc:
        raise InvalidArgument(str(exc)) from None
    if isinstance(state, str):
        # The upstream Python client's update_state(cluster, path, secret) sends the file's text JSON-encoded once
        # more: a JSON string holding the object. Take the object inside (still validated below).
        try:
            state = json.loads(state)
        except (ValueError, RecursionError):
            raise InvalidArgument("payload: a JSON string that does not hold a JSON object") from None
    try:
        validate("state", state, "payload", package="rainbow")
    except FormatError as exc:
        raise InvalidArgument(str(exc)) from None
    return state


@contextlib.contextmanager
def input_errors(field: str) -> Iterator[None]:
    """Turn what a parser raises on bad input into INVALID_ARGUMENT naming `field`.

    A document nested thousands of levels deep exhausts the parsers' recursion before any schema sees it; that is
    bad input too, not a server fault.
    """
    try:
        yield
    except FormatError as exc:
        raise as_invalid(exc, field) from None
    except RecursionError:  # a guard missed on the way in: still bad input, not a server fault
        raise InvalidArgument(f"{field}: nested too deeply") from None


def as_invalid(exc: FormatError, field: str) -> InvalidArgument:
    """A format error from the engine, as the INVALID_ARGUMENT a client sees (one line, field named)."""
    message = " ".join(str(exc).split())
    if not message.startswith(f"{field}: "):  # the document is already named after the request field
        message = f"{field}: {message}"
    if len(message) > 500:
        message = message[:497] + "..."
    return InvalidArgument(message)
