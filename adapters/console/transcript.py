"""Transcripts: a console session written down with the answers expected.

Lines starting with ``> `` are typed (console syntax); the lines after them, up to
the next typed line, are what the bot must answer, exactly. Blank lines and lines
starting with ``#`` are ignored. This lets admins test their own configuration.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from adapters.console.adapter import ConsoleSyntaxError
from adapters.console.session import ConsoleSession


@dataclass
class Exchange:
    line_number: int
    typed: str
    expected: list[str] = field(default_factory=list)


def parse_transcript(text: str) -> list[Exchange]:
    exchanges: list[Exchange] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if line.startswith("> ") or line == ">":
            exchanges.append(Exchange(number, line[2:]))
        elif not line.strip() or line.startswith("#"):
            continue
        elif not exchanges:
            raise ConsoleSyntaxError(f"line {number}: expected output before any typed line")
        else:
            exchanges[-1].expected.append(line)
    return exchanges


def _significant(lines: list[str]) -> list[str]:
    result = []
    for block in lines:
        result += [line.rstrip() for line in block.split("\n") if line.strip()]
    return result


async def run_transcript(session: ConsoleSession, path: Path) -> tuple[bool, str]:
    """Play a transcript; returns (passed, readable report of the first difference)."""
    exchanges = parse_transcript(path.read_text(encoding="utf-8"))
    await session.open()
    for exchange in exchanges:
        try:
            actual = _significant(await session.feed(exchange.typed))
        except ConsoleSyntaxError as exc:
            return False, f"{path}:{exchange.line_number}: {exc}"
        if actual != exchange.expected:
            diff = "\n".join(
                difflib.unified_diff(exchange.expected, actual, "expected", "actual", lineterm="")
            )
            return False, f"{path}:{exchange.line_number}: after '> {exchange.typed}'\n{diff}"
    return True, f"{path}: {len(exchanges)} exchanges, all as expected"
