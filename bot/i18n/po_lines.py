"""A .po file's lines, read and checked before any parser sees them: a size limit,
UTF-8, and the syntax Babel's parser would accept silently as wrong text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from bot.core.errors import ConfigError

MAX_PO_BYTES = 5_000_000
# Runs of plain characters between escapes (char by char cost most of loading a catalog)
_QUOTED = r'"[^"\\]*(?:\\[\\"ntr][^"\\]*)*"'
_PO_LINE = re.compile(rf"(?:(?:msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+)?{_QUOTED}")


def read_lines(path: Path) -> list[str]:
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(name, 1, "(file)", f"cannot read: {exc.strerror}") from exc
    if len(raw) > MAX_PO_BYTES:
        raise ConfigError(name, 1, "(file)", f"larger than {MAX_PO_BYTES} bytes")
    try:
        # split("\n") as Babel does: splitlines() would also break at U+2028.
        return raw.decode("utf-8-sig").split("\n")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(name, line, "(file)", "not UTF-8 text") from exc


def msgid_at(lines: Sequence[str], index: int) -> str:
    """The message id of the entry around ``lines[index]``, for error reports."""
    for i in range(min(index, len(lines) - 1), -1, -1):
        line = lines[i].strip()
        if line.startswith("msgid "):
            return line[6:].strip().strip('"') or "(header)"
    return "(header)"


def check_syntax(lines: Sequence[str], name: str) -> None:
    """Catch what Babel's parser accepts silently: unterminated strings and
    escapes it does not understand both become wrong text without a warning."""
    for index, raw in enumerate(lines):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not _PO_LINE.fullmatch(line):
            message = "unterminated string, unknown escape or unknown keyword"
            raise ConfigError(name, index + 1, msgid_at(lines, index), message)
