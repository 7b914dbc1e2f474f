"""What each event adds to the daily health counts, seen from the member's side:
joining, first words in a channel, coming back, whose voice the channels carry, and
how long a newcomer's first words waited for someone to answer.

A member's own profile keeps only what the next count needs (the day they were last
active, whether they have spoken, when their first words began to wait); the counts
themselves are numbers per day, platform and language. A member who asked for quiet
keeps no marks at all.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from bot.core.events import MemberJoined, Place, PlaceKind, TextSaid, TimerFired
from bot.core.state import HEALTH_MARKS as MARKS
from bot.core.state import is_uncounted
from bot.engine.turn import Turn
from bot.store.types import iso, parse_iso

NEWER = timedelta(days=90)  # joined within this: a newer member's voice
AWAY = ((7, "active_again:7d"), (28, "active_again:28d"))
KEPT = ((7, "still_active:7d"), (28, "still_active:28d"))


def on_event(turn: Turn) -> None:
    event = turn.event
    if isinstance(event, TimerFired) or is_uncounted(turn.profile):
        return
    marks: dict[str, Any] = dict(turn.profile.extra.get(MARKS) or {})
    before = dict(marks)
    if isinstance(event, MemberJoined) and not marks.get("joined"):
        marks["joined"] = True
        turn.count("joins")
    _activity(turn, marks)
    place = getattr(event, "place", None)
    if isinstance(event, TextSaid) and isinstance(place, Place) and place.kind is PlaceKind.CHANNEL:
        _channel_message(turn, place, marks)
    if marks != before:
        turn.profile.extra[MARKS] = marks


def _activity(turn: Turn, marks: dict[str, Any]) -> None:
    today = turn.now.date()
    last = marks.get("active")
    if last == today.isoformat():
        return
    if last:
        away = (today - date.fromisoformat(last)).days
        for days, metric in AWAY:
            if away >= days:
                turn.count(metric)
    first = turn.profile.first_seen
    if first:
        since = (turn.now - datetime.fromisoformat(first)).days
        for days, metric in KEPT:
            if since >= days and not marks.get(metric):
                marks[metric] = True
                turn.count(metric)
    marks["active"] = today.isoformat()


def _channel_message(turn: Turn, place: Place, marks: dict[str, Any]) -> None:
    """Voice share, a newcomer's first words, and the first answer to them: a channel
    keeps the time its oldest unanswered first words began waiting, nothing else."""
    first = turn.profile.first_seen
    newer = first is not None and turn.now - datetime.fromisoformat(first) < NEWER
    turn.count("channel_messages:newer" if newer else "channel_messages:veteran")
    waiting_name = f"health:waiting:{place.platform}:{place.id}"
    waiting = turn.cursors.get(waiting_name, turn.services.store.cursor(waiting_name))
    if waiting and marks.get("asked") != waiting:
        turn.count_wait("first_reply", parse_iso(waiting))
        waiting = ""
        turn.cursors[waiting_name] = ""
    if marks.get("spoke"):
        return
    marks["spoke"] = True
    turn.count("first_message")
    if not waiting:
        marks["asked"] = turn.cursors[waiting_name] = iso(turn.now)
        marks["asked_in"] = waiting_name


def on_forget(turn: Turn) -> None:
    """A forgotten member's first words no longer wait to be counted as answered."""
    turn.drop_health_marks()
