"""Relative times ("in 3 days", "3 days ago") that never round up.

Babel words them from CLDR; where CLDR has no words for a locale (Central Kurdish
comes out as "+3 d"), the catalog's own ``time.*`` messages say it instead.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Protocol

from babel import Locale
from babel.dates import TIMEDELTA_UNITS
from babel.dates import format_timedelta as babel_format_timedelta

from bot.i18n import N_, Nn_


class _Wording(Protocol):
    def format(self, msgid: str, **values: object) -> str: ...

    def nformat(self, singular_id: str, plural_id: str, n: int, **values: object) -> str: ...


_UNTRANSLATED_TIME = re.compile(r"[+-]?\d+ [a-z]{1,3}")
_TIME_UNITS = {
    "year": Nn_("time.year", "time.year.plural"),
    "month": Nn_("time.month", "time.month.plural"),
    "week": Nn_("time.week", "time.week.plural"),
    "day": Nn_("time.day", "time.day.plural"),
    "hour": Nn_("time.hour", "time.hour.plural"),
    "minute": Nn_("time.minute", "time.minute.plural"),
    "second": Nn_("time.second", "time.second.plural"),
}


def _floor_to_unit(td: timedelta) -> timedelta:
    """Cut ``td`` down to whole units of the unit Babel will name.

    Even with ``threshold=1`` Babel rounds within the unit (44 hours become
    "2 days"); a deadline must never look further away than it is.
    """
    seconds = td.total_seconds()
    size = abs(seconds)
    for _unit, unit_seconds in TIMEDELTA_UNITS:
        if size >= unit_seconds:
            return timedelta(seconds=math.copysign(size // unit_seconds * unit_seconds, seconds))
    return timedelta(0)


def relative_time(td: timedelta, locale: Locale, wording: _Wording) -> str:
    floored = _floor_to_unit(td)
    said = babel_format_timedelta(floored, threshold=1, add_direction=True, locale=locale)
    if not _UNTRANSLATED_TIME.fullmatch(said):
        return said
    seconds = abs(floored.total_seconds())
    unit, size = next(((u, s) for u, s in TIMEDELTA_UNITS if seconds >= s), TIMEDELTA_UNITS[-1])
    amount = wording.nformat(*_TIME_UNITS[unit], int(seconds // size))
    direction = N_("time.ago") if floored < timedelta(0) else N_("time.in")
    return wording.format(direction, duration=amount)
