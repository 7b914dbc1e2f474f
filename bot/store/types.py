"""Plain records exchanged with the store."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.core.actions import Action, ScheduleTimer
from bot.core.events import MemberRef
from bot.store.writes import Write as Write  # case records' writes, carried by a turn

# A member's conversation state and profile as stored (``Store.load_member``).
MemberRows = tuple[dict[str, Any] | None, dict[str, Any] | None]


def iso(moment: datetime) -> str:
    """Timestamps as sortable UTC text, ``2026-01-05T09:00:00.000000Z``. (isoformat
    rather than strftime: this runs a few times per event and strftime showed in
    profiles.)"""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


# A member record as a store holds it: its value, and when it ends (seconds since the
# epoch; None: never).
HeldRecord = tuple[str, int | None]


def epoch(at: datetime | None) -> int | None:
    return None if at is None else int(at.timestamp())


def epoch_now(now: datetime | None) -> int:
    """``now`` in seconds since the epoch; by default, the present."""
    return int(time.time()) if now is None else int(now.timestamp())


def record_value(held: HeldRecord | None, now: int) -> str | None:
    """A member record's value, unless it has ended by ``now``."""
    if held is None or (held[1] is not None and held[1] <= now):
        return None
    return held[0]


def seen_day(now: str) -> str:
    """An inbox id's date: the day (UTC) of an ``iso`` time. A prune before a time
    drops the ids seen on days before it and on that day itself (``2026-01-05`` sorts
    before ``2026-01-05T...``): a week's prune keeps every id at least six days,
    and each row is 17 characters shorter than with the full time."""
    return now[:10]


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    community: str
    action: Action
    attempts: int


@dataclass(frozen=True, slots=True)
class TimerRow:
    id: int
    community: str
    member: MemberRef
    kind: str
    due_at: datetime
    payload: str


@dataclass
class Changes:
    """Everything one event changes, committed together."""

    at: datetime
    event_key: str | None = None
    conversations: dict[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict)
    profiles: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    outbox: list[tuple[str, Action]] = field(default_factory=list)
    timers: list[tuple[str, ScheduleTimer]] = field(default_factory=list)
    timers_done: list[int] = field(default_factory=list)
    timers_cancelled: list[tuple[str, str, str]] = field(default_factory=list)
    acknowledgements: list[tuple[str, str, str]] = field(default_factory=list)
    mentorships: list[tuple[str, str, str]] = field(default_factory=list)
    audit: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    cursors: dict[str, str] = field(default_factory=dict)
    writes: list[Write] = field(default_factory=list)
