"""``concord report``: read the period, build the report, write it where asked.
Anything that stops it is one ``UsageError`` line."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import date, timedelta
from pathlib import Path

from bot.core.durations import parse_duration
from bot.core.errors import UsageError
from bot.core.progress import Steps
from bot.features.health.page import Texts, render
from bot.features.health.report import CountSource, as_json, build, read_counts

log = logging.getLogger(__name__)
# Daily counts in the period from which the report shows its steps: from about half a
# second of work on one core (``bench/report.py``: 88,000 counts 0.4 s, 219,000 1.5 s).
# A year of a small community in a few languages is far less.
LARGE = 100_000


def period_start(since: str, today: date) -> date:
    """``90d``, ``12w`` (counting today) or a date such as ``2026-01-01``."""
    duration = parse_duration(since)
    if duration is not None and duration >= timedelta(days=1):
        return today - timedelta(days=duration.days - 1)
    try:
        start = date.fromisoformat(since.strip())
    except ValueError:
        start = None
    if start is None or start > today:
        raise UsageError(
            f"--since {since!r}: expected a number of days or weeks such as 90d or 12w,"
            " or a date no later than today such as 2026-01-01"
        )
    return start


def make_report(
    source: CountSource,
    community: str,
    name: str,
    texts: Texts,
    *,
    since: str,
    today: date,
    as_machine: bool,
    k: int,
    k_moderation: int,
) -> str:
    """The page (or the JSON). Over a large database each step is logged as it starts
    and the time it all took at the end, as migrations are (``bot.core.progress``)."""
    if k < 2 or k_moderation < 2:
        raise UsageError("--k and --k-moderation: expected a number of 2 or more")
    start = period_start(since, today)
    many = source.health_count_rows(community, start.isoformat())
    steps = Steps(log, "making the report", 3, shown=many >= LARGE)
    steps.step(f"reading {many} daily counts from {start.isoformat()} on")
    counts = read_counts(source, community, start, today)
    steps.step("adding them up into tables and hiding small numbers")
    report = build(counts, start, today, k=k, k_moderation=k_moderation)
    steps.step("writing the numbers for machines" if as_machine else "writing the page")
    if as_machine:
        text = json.dumps(as_json(report), ensure_ascii=False, indent=1) + "\n"
    else:
        text = render(report, texts, name)
    steps.done("report made")
    return text


def write_out(text: str, out: Path) -> None:
    """All of it or nothing: written beside ``out``, then moved over it."""
    try:
        handle, scratch = tempfile.mkstemp(
            dir=out.resolve().parent, prefix=".report-", suffix=".tmp"
        )
    except OSError as exc:
        raise _unwritable(out, exc) from exc
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.fchmod(handle, 0o666 & ~mask)  # a page to publish: as any file the user writes
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(scratch, out)
    except OSError as exc:
        Path(scratch).unlink(missing_ok=True)
        raise _unwritable(out, exc) from exc


def _unwritable(out: Path, exc: OSError) -> UsageError:
    return UsageError(f"--out {out}: cannot write the report: {exc.strerror or exc}")
