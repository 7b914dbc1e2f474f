"""Durations written by people: ``30m``, ``12h``, ``2d``, ``1w``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Longer than any sensible reminder or retention, and far from date overflow.
MAX_SECONDS = 100 * 365 * 86400
_PATTERN = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$")


def parse_duration(text: object) -> timedelta | None:
    """The duration, or None when the text is not one (the caller reports where)."""
    if not isinstance(text, str):
        return None
    match = _PATTERN.match(text)
    if not match:
        return None
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    return timedelta(seconds=seconds) if 0 < seconds <= MAX_SECONDS else None
