"""The process's log: one line a record, as text or as JSON, on standard error.

At the default level (info) Concord logs one line per handled event (platform, kind,
outcome, latency) and what an operator needs about connections and deliveries; what
a member wrote, their names and their ids are at debug level only.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
LEVELS["error"] = logging.ERROR
FORMATS = ("text", "json")
# Platform and HTTP libraries log request URLs (with a Telegram token in them), room,
# chat and user ids at info: only their warnings are kept below debug level.
LIBRARIES = ("aiohttp", "discord", "httpcore", "httpx", "nio", "telegram", "peewee")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "concord", None)
    return dict(fields) if isinstance(fields, dict) else {}


def _time(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value ...`` on one line (a traceback follows)."""

    def format(self, record: logging.LogRecord) -> str:
        pairs = "".join(f" {key}={value}" for key, value in _fields(record).items())
        line = f"{_time(record)} {record.levelname} {record.name}: {record.getMessage()}{pairs}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(level: str, form: str, stream: TextIO | None = None) -> None:
    """Send every record at ``level`` or above to ``stream`` (standard error)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if form == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVELS[level])
    for library in LIBRARIES:
        quiet = logging.NOTSET if level == "debug" else max(LEVELS[level], logging.WARNING)
        logging.getLogger(library).setLevel(quiet)
