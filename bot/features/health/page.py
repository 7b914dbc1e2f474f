"""The report as one self-contained HTML page: no network, no script, no font or
image from elsewhere; each chart an inline SVG with a title and a description that
say its numbers, and the same numbers in a table under it. Texts come from the
catalogs, in the administrator's language."""

from __future__ import annotations

import textwrap
from html import escape
from typing import Protocol

from bot.features.health.report import Report, Section
from bot.i18n import N_
from bot.i18n.locales import language_name, text_direction

STYLE = """
body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1a1a1a;background:#fff}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border:1px solid #767676;
padding:.25rem .5rem;text-align:end}th[scope=row],thead th:first-child{text-align:start}
.hidden{font-style:italic;color:#4a4a4a}.note{background:#f3f3f3;padding:.75rem 1rem;
border-inline-start:4px solid #1f5fa8}svg{max-width:100%;height:auto}.scroll{overflow-x:auto}
"""

SECTION_TITLES = {
    "newcomers": N_("health.section.newcomers"),
    "platforms": N_("health.section.platforms"),
    "returning": N_("health.section.returning"),
    "trends": N_("health.section.trends"),
    "voices": N_("health.section.voices"),
    "first_reply": N_("health.section.first_reply"),
    "mediation": N_("health.section.mediation"),
    "reports": N_("health.section.reports"),
    "sanctions": N_("health.section.sanctions"),
    "appeals": N_("health.section.appeals"),
    "moderation_times": N_("health.section.moderation_times"),
}
SECTION_TEXTS = {
    "newcomers": N_("health.text.newcomers"),
    "platforms": N_("health.text.platforms"),
    "returning": N_("health.text.returning"),
    "trends": N_("health.text.trends"),
    "voices": N_("health.text.voices"),
    "first_reply": N_("health.text.first_reply"),
    "mediation": N_("health.text.mediation"),
    "reports": N_("health.text.reports"),
    "sanctions": N_("health.text.sanctions"),
    "appeals": N_("health.text.appeals"),
    "moderation_times": N_("health.text.moderation_times"),
}
TRANSPARENCY = ("reports", "sanctions", "appeals", "moderation_times")
METRICS = {
    "joins": N_("health.metric.joins"),
    "first_message": N_("health.metric.first_message"),
    "onboarding_completed": N_("health.metric.onboarding_completed"),
    "mentor_requests": N_("health.metric.mentor_requests"),
    "mentor_matches": N_("health.metric.mentor_matches"),
    "still_active:7d": N_("health.metric.still_active_7d"),
    "still_active:28d": N_("health.metric.still_active_28d"),
    "active_again:7d": N_("health.metric.active_again_7d"),
    "active_again:28d": N_("health.metric.active_again_28d"),
    "channel_messages": N_("health.metric.channel_messages"),
    "channel_messages:newer": N_("health.metric.channel_messages_newer"),
    "channel_messages:veteran": N_("health.metric.channel_messages_veteran"),
    "first_reply": N_("health.metric.first_reply"),
    "mediation_requests": N_("health.metric.mediation_requests"),
    "mediation_acceptances": N_("health.metric.mediation_acceptances"),
    "mediation_agreements": N_("health.metric.mediation_agreements"),
    "mediation_held": N_("health.metric.mediation_held"),
    "mediation_not_held": N_("health.metric.mediation_not_held"),
    "reports:standard": N_("health.metric.reports_standard"),
    "reports:emergency": N_("health.metric.reports_emergency"),
    "appeals": N_("health.metric.appeals"),
    "appeals_upheld": N_("health.metric.appeals_upheld"),
    "reversals": N_("health.metric.reversals"),
    "report_responded": N_("health.metric.report_responded"),
    "report_resolved": N_("health.metric.report_resolved"),
    "appeal_decided": N_("health.metric.appeal_decided"),
}
BUCKETS = {
    "lt1h": N_("health.bucket.lt1h"),
    "1h-6h": N_("health.bucket.1h_6h"),
    "6h-1d": N_("health.bucket.6h_1d"),
    "1d-3d": N_("health.bucket.1d_3d"),
    "3d-7d": N_("health.bucket.3d_7d"),
    "gt7d": N_("health.bucket.gt7d"),
}


class Texts(Protocol):
    locale: str

    def gettext(self, msgid: str) -> str: ...

    def format(self, msgid: str, **values: object) -> str: ...


def render(report: Report, texts: Texts, community: str) -> str:
    """The whole page. ``community`` is the community's configured name."""
    t = texts
    head = t.format("health.title", community=community)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{escape(t.locale)}" dir="{text_direction(t.locale)}">',
        '<head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(head)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(head)}</h1>",
        _p(
            t.format(
                "health.period", since=report.since.isoformat(), until=report.until.isoformat()
            )
        ),
        _p(t.format("health.intro")),
    ]
    if not report.anything_shown:
        parts.append(f'<p class="note">{escape(t.format("health.small", k=report.k))}</p>')
    parts += _suppression(report, t)
    moderation_started = False
    for section in report.sections:
        if section.id in TRANSPARENCY and not moderation_started:
            moderation_started = True
            parts.append(f"<h2>{escape(t.format('health.transparency'))}</h2>")
            parts.append(_p(t.format("health.transparency_text", k=report.k_moderation)))
        parts += _section(section, t, moderation_started)
    parts.append("</body></html>")
    return "\n".join(parts)


def _p(text: str) -> str:
    return f"<p>{escape(text)}</p>"


def _suppression(report: Report, t: Texts) -> list[str]:
    small = sum(s.published.primary for s in report.sections)
    others = sum(s.published.secondary for s in report.sections)
    return [
        f'<section aria-labelledby="hidden-h"><h2 id="hidden-h">'
        f"{escape(t.format('health.suppression_heading'))}</h2>",
        _p(t.format("health.suppression_text", k=report.k, k_moderation=report.k_moderation)),
        _p(t.format("health.hidden_count", small=small, others=others)),
        "</section>",
    ]


def label(key: str, t: Texts) -> str:
    if key in METRICS:
        return t.gettext(METRICS[key])
    if key in BUCKETS:
        return t.gettext(BUCKETS[key])
    if key.startswith("sanctions:"):
        rule = key.partition(":")[2]
        if rule == "unspecified":
            return t.format("health.metric.sanctions_unspecified")
        return t.format("health.metric.sanctions_rule", rule=rule)
    return key


def column_label(section: Section, key: str, t: Texts) -> str:
    if section.id in ("newcomers", "returning", "voices", "mediation"):
        return language_name(key, t.locale)
    if section.id == "trends":
        return t.format("health.week_of", date=key)
    return label(key, t)


def _number(value: int | None, t: Texts) -> str:
    if value is None:
        return f'<span class="hidden">{escape(t.format("health.hidden"))}</span>'
    return str(value)


def _section(section: Section, t: Texts, level3: bool) -> list[str]:
    h = "h3" if level3 else "h2"
    title = t.gettext(SECTION_TITLES[section.id])
    parts = [
        f'<section aria-labelledby="{section.id}-h">',
        f'<{h} id="{section.id}-h">{escape(title)}</{h}>',
        _p(t.gettext(SECTION_TEXTS[section.id])),
    ]
    if section.id == "voices":
        parts.append(_p(_share(section, t)))
    series = _series(section, t)
    if series:
        shown = title
        if section.chart == "cells" and len(section.published.rows) > 1:
            shown = f"{title}: {label(section.published.rows[0], t)}"
        parts.append(chart(section.id, shown, series, t))
    parts.append(_table(section, title, t))
    parts.append("</section>")
    return parts


def _series(section: Section, t: Texts) -> list[tuple[str, int | None]]:
    p = section.published
    if section.chart == "rows":
        return [(label(r, t), p.row_totals.get(r)) for r in p.rows]
    if section.chart == "cells" and p.rows:
        row = p.rows[0]
        return [(column_label(section, c, t), p.cells[(row, c)]) for c in p.columns]
    return []


def _share(section: Section, t: Texts) -> str:
    newer = section.published.row_totals.get("channel_messages:newer")
    all_messages = section.published.grand_total
    if newer is None or not all_messages:
        return t.format("health.share_hidden")
    return t.format("health.share", share=f"{round(100 * newer / all_messages)}%")


def chart(key: str, title: str, series: list[tuple[str, int | None]], t: Texts) -> str:
    """Horizontal bars; a hidden number is an empty dashed bar marked so."""
    hidden = t.format("health.hidden")
    said = "; ".join(f"{name}: {value if value is not None else hidden}" for name, value in series)
    name = t.format("health.chart_name", title=title)
    top = max([v for _, v in series if v is not None] or [1]) or 1
    height = 34 * len(series) + 10
    bars = []
    for i, (what, value) in enumerate(series):
        y = 10 + 34 * i
        lines = textwrap.wrap(what, 42)[:2] or [""]
        first = y + (13 if len(lines) > 1 else 20)
        spans = "".join(
            f'<tspan x="0" y="{first + 14 * n}">{escape(line)}</tspan>'
            for n, line in enumerate(lines)
        )
        bars.append(f'<text font-size="13">{spans}</text>')
        if value is None:
            bars.append(
                f'<rect x="320" y="{y + 4}" width="120" height="22" fill="none"'
                f' stroke="#4a4a4a" stroke-dasharray="4 3"/><text x="328" y="{y + 20}"'
                f' font-size="13" font-style="italic">{escape(hidden)}</text>'
            )
            continue
        width = round(300 * value / top)
        bars.append(
            f'<rect x="320" y="{y + 4}" width="{width}" height="22" fill="#1f5fa8"/>'
            f'<text x="{326 + width}" y="{y + 20}" font-size="13">{value}</text>'
        )
    return (
        f'<figure><svg role="img" aria-label="{escape(name)}" aria-describedby="{key}-d"'
        f' xmlns="http://www.w3.org/2000/svg" viewBox="0 0 700 {height}" width="700"'
        f' height="{height}"><title>{escape(name)}</title><desc id="{key}-d">{escape(said)}</desc>'
        + "".join(bars)
        + "</svg></figure>"
    )


def _table(section: Section, title: str, t: Texts) -> str:
    p = section.published
    total = escape(t.format("health.total"))
    head = [f'<th scope="col">{escape(t.format("health.what"))}</th>']
    head += [f'<th scope="col">{escape(column_label(section, c, t))}</th>' for c in p.columns]
    if p.row_totals:
        head.append(f'<th scope="col">{total}</th>')
    if section.median:
        head.append(f'<th scope="col">{escape(t.format("health.median"))}</th>')
    body = []
    for r in p.rows:
        cells = [f'<th scope="row">{escape(label(r, t))}</th>']
        cells += [f"<td>{_number(p.cells[(r, c)], t)}</td>" for c in p.columns]
        if p.row_totals:
            cells.append(f"<td>{_number(p.row_totals[r], t)}</td>")
        if section.median:
            median = section.median.get(r)
            shown = escape(label(median, t)) if median else _number(None, t)
            cells.append(f"<td>{shown}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    if p.column_totals and p.rows:
        cells = [f'<th scope="row">{total}</th>']
        cells += [f"<td>{_number(p.column_totals[c], t)}</td>" for c in p.columns]
        if p.row_totals:
            cells.append(f"<td>{_number(p.grand_total, t)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not p.rows:
        body.append(
            f'<tr><td colspan="{len(p.columns) + 2}">{escape(t.format("health.none"))}</td></tr>'
        )
    return (
        '<div class="scroll"><table>'
        + f"<caption>{escape(title)}</caption><thead><tr>{''.join(head)}</tr></thead>"
        + f"<tbody>{''.join(body)}</tbody></table></div>"
    )
