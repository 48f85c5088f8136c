"""Parse YAML text that may come from anyone (a jobspec, selection options sent to the server).

libyaml's loader builds nested collections by recursing in C: a few hundred kilobytes of `- - - ...` or `[[[...`
overflow the C stack and kill the whole process, which no try/except can catch. So the nesting depth is measured
first on the event stream, which the parser produces without recursion, and anything deeper than the limit is
refused before a tree is built.
"""
from __future__ import annotations

from typing import Any

import yaml

from compspec.schemas import FormatError

# Far deeper than any real jobspec or priorities list; far shallower than what overflows a stack.
MAX_DEPTH = 100

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def check_depth(text: str, what: str, max_depth: int = MAX_DEPTH) -> None:
    """Raise FormatError when collections in `text` nest deeper than `max_depth`."""
    if len(text) <= max_depth:  # every level takes at least one character
        return
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, _OPEN):
            depth += 1
            if depth > max_depth:
                raise FormatError(f"{what}: nested deeper than {max_depth} levels")
        elif isinstance(event, _CLOSE):
            depth -= 1


def load_yaml(text: str, what: str, max_depth: int = MAX_DEPTH) -> Any:
    """YAML (or JSON, which is YAML) text as Python data; FormatError with a one-line reason when it is not."""
    try:
        check_depth(text, what, max_depth)
        return yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FormatError(f"{what}: not valid YAML or JSON ({first})") from None
    except RecursionError:
        raise FormatError(f"{what}: nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # an integer with more digits than Python converts
        raise FormatError(f"{what}: {str(exc).splitlines()[0]}") from None
