"""``concord report``: the daily health counts over a period, gathered into tables
and suppressed (``bot.features.health.suppression``), ready for the page
(``bot.features.health.page``) or for machines (``--json``).

Every number comes from the aggregate table; nothing here reads a profile, a case or
the audit log, so the report can name nobody.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from bot.core.buckets import BUCKET_NAMES
from bot.features.health.suppression import Published, Table, suppress

NEWCOMERS = (
    "joins",
    "first_message",
    "onboarding_completed",
    "mentor_requests",
    "mentor_matches",
    "still_active:7d",
    "still_active:28d",
)
RETURNING = ("active_again:7d", "active_again:28d")
TRENDS = ("joins", "first_message", "channel_messages")
VOICES = ("channel_messages:newer", "channel_messages:veteran")
MEDIATION = (
    "mediation_requests",
    "mediation_acceptances",
    "mediation_agreements",
    "mediation_held",
    "mediation_not_held",
)
APPEALS = ("appeals", "appeals_upheld", "reversals")
TIMES = ("first_reply", "report_responded", "report_resolved", "appeal_decided")
MODERATION_TIMES = TIMES[1:]


Row = tuple[str, str, str, str, int]  # day, metric, platform, language, count


class CountSource(Protocol):
    def health_counts(self, community: str, since: str) -> list[Row]: ...

    def health_count_rows(self, community: str, since: str) -> int: ...


@dataclass
class Section:
    """One table of the report, as published, and what its chart shows."""

    id: str
    published: Published
    chart: str = "rows"  # "rows": each row's total; "cells": the first row's cells; "" none
    median: dict[str, str | None] = field(default_factory=dict)  # row -> bucket


@dataclass
class Report:
    since: date
    until: date
    k: int
    k_moderation: int
    sections: list[Section]
    quarters: list[str]

    @property
    def anything_shown(self) -> bool:
        """Whether any count above zero survived suppression."""
        for section in self.sections:
            p = section.published
            values = [*p.cells.values(), *p.row_totals.values(), *p.column_totals.values()]
            if any(v for v in values):
                return True
        return False

    @property
    def hidden(self) -> int:
        return sum(s.published.hidden for s in self.sections)


def quarter(day: str) -> str:
    year, month = int(day[:4]), int(day[5:7])
    return f"{year}-Q{(month - 1) // 3 + 1}"


def week(day: str) -> str:
    """The Monday that starts the day's week."""
    moment = date.fromisoformat(day)
    return (moment - timedelta(days=moment.weekday())).isoformat()


def read_counts(source: CountSource, community: str, since: date, until: date) -> list[Row]:
    """The daily counts of the period, from ``since`` to ``until`` included."""
    last = until.isoformat()
    return [r for r in source.health_counts(community, since.isoformat()) if r[0] <= last]


def build(
    rows: list[Row],
    since: date,
    until: date,
    *,
    k: int = 5,
    k_moderation: int = 11,
) -> Report:
    """The period's tables from its daily counts, small numbers hidden."""
    by: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    for day, metric, platform, language, n in rows:
        by["language"][(metric, language)] += n
        by["platform"][(metric, platform)] += n
        by["week"][(_family(metric), week(day))] += n
        by["quarter"][(metric, quarter(day))] += n
    languages = sorted({r[3] for r in rows})
    platforms = sorted({r[2] for r in rows})
    weeks = _weeks(since, until)
    quarters = sorted(
        {quarter(since.isoformat()), quarter(until.isoformat()), *(quarter(r[0]) for r in rows)}
    )
    lang, plat, per_week, per_quarter = by["language"], by["platform"], by["week"], by["quarter"]
    buckets: dict[tuple[str, str], int] = defaultdict(int)
    for (metric, _), n in lang.items():
        name, bucket = _split(metric)
        if bucket:
            buckets[(name, bucket)] += n
    reports = sorted({m for m, _ in per_quarter if m.startswith("reports:")} | {"reports:standard"})
    sanctions = sorted({m for m, _ in per_quarter if m.startswith("sanctions:")}, key=_by_part)
    sections = [
        Section("newcomers", suppress(Table(list(NEWCOMERS), languages, lang), k)),
        Section("platforms", suppress(Table(["joins", "first_message"], platforms, plat), k), ""),
        Section("returning", suppress(Table(list(RETURNING), languages, lang), k)),
        Section("trends", suppress(Table(list(TRENDS), weeks, per_week), k), "cells"),
        Section(
            "voices",
            suppress(Table(list(VOICES), languages, lang, column_totals=True), k),
        ),
        _times("first_reply", ["first_reply"], buckets, k),
        Section("mediation", suppress(Table(list(MEDIATION), languages, lang), k)),
        Section(
            "reports",
            suppress(Table(reports, quarters, per_quarter, column_totals=True), k_moderation),
        ),
        Section(
            "sanctions",
            suppress(Table(sanctions, quarters, per_quarter, column_totals=True), k_moderation),
        ),
        Section("appeals", suppress(Table(list(APPEALS), quarters, per_quarter), k_moderation)),
        _times("moderation_times", list(MODERATION_TIMES), buckets, k_moderation),
    ]
    return Report(since, until, k, k_moderation, sections, quarters)


def _family(metric: str) -> str:
    """``channel_messages:newer`` counts in the trend of ``channel_messages``."""
    return metric.partition(":")[0] if metric.startswith("channel_messages:") else metric


def _by_part(metric: str) -> tuple[int, str]:
    """Parts in their order (2 before 10); actions recorded before a part was
    required ("sanctions:unspecified") last."""
    part = metric.partition(":")[2]
    return (int(part), "") if part.isdigit() else (1 << 30, part)


def _split(metric: str) -> tuple[str, str]:
    name, _, bucket = metric.rpartition(":")
    return (name, bucket) if bucket in BUCKET_NAMES else (metric, "")


def _weeks(since: date, until: date) -> list[str]:
    start = date.fromisoformat(week(since.isoformat()))
    found = []
    while start <= until:
        found.append(start.isoformat())
        start += timedelta(days=7)
    return found


def _times(
    section: str, metrics: list[str], buckets: dict[tuple[str, str], int], k: int
) -> Section:
    """Waiting times in buckets; the median bucket only where the row's total is shown
    (a median of a hidden handful would describe those few people)."""
    published = suppress(Table(metrics, list(BUCKET_NAMES), buckets), k)
    medians: dict[str, str | None] = {}
    for metric in metrics:
        total = published.row_totals.get(metric)
        medians[metric] = _median(metric, buckets) if total else None
    return Section(section, published, "cells" if len(metrics) == 1 else "", medians)


def _median(metric: str, buckets: dict[tuple[str, str], int]) -> str | None:
    counts = [buckets.get((metric, b), 0) for b in BUCKET_NAMES]
    half, seen = sum(counts) / 2, 0
    for name, n in zip(BUCKET_NAMES, counts, strict=True):
        seen += n
        if seen >= half and seen:
            return name
    return None


def as_json(report: Report) -> dict[str, Any]:
    """The report for machines: ``null`` where a number is hidden."""
    return {
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "k": report.k,
        "k_moderation": report.k_moderation,
        "hidden_cells": report.hidden,
        "sections": [
            {
                "id": s.id,
                "rows": s.published.rows,
                "columns": s.published.columns,
                "cells": [
                    [s.published.cells[(r, c)] for c in s.published.columns]
                    for r in s.published.rows
                ],
                "row_totals": s.published.row_totals or None,
                "column_totals": s.published.column_totals or None,
                "grand_total": s.published.grand_total,
                "k": s.published.k,
                "hidden": {
                    "small": s.published.primary,
                    "to_protect_others": s.published.secondary,
                },
                "median_bucket": s.median or None,
            }
            for s in report.sections
        ],
    }
