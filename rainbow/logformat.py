"""Log lines for people (the default) or for log shippers: `--log-format json` writes one JSON object per event,
with the time in UTC (RFC 3339), the level, the logger and the message, and the exception's type and text when
there is one. Every long-running command sets its logging up here, so they all write the same shapes."""
from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, Callable, TextIO

import click

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s rainbow %(levelname)s %(message)s"


class JsonFormatter(logging.Formatter):
    """One line of JSON per record; newlines inside the message stay escaped inside the string."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        event: dict[str, Any] = {
            "time": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            event["error"] = f"{record.exc_info[0].__name__}: {record.exc_info[1]}"
        return json.dumps(event, ensure_ascii=False, default=str)


def configure_logging(fmt: str = "text", *, level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Send the root logger's records to `stream` (stderr) as text or JSON lines, replacing earlier handlers."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


def log_format_option(func: Callable) -> Callable:
    """--log-format text|json, also from RAINBOW_LOG_FORMAT and `log.format` in the config file."""
    from rainbow.cli.settings import setting

    return setting("--log-format", "log_format", type=click.Choice(FORMATS), default="text", show_default=True,
                   config_key="log.format",
                   help="Log lines as text for people, or one JSON object per event for log shippers.")(func)
