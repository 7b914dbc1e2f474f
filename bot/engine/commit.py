"""What a turn commits: its state, replies, timers and records as one ``Changes``."""

from __future__ import annotations

from datetime import UTC

from bot.core.state import conversation_to_dict
from bot.engine.turn import Turn
from bot.store.privacy import ERASED, forget_member
from bot.store.types import Changes
from bot.store.writes import AddCount


def turn_changes(turn: Turn, event_key: str, timer_id: int | None) -> Changes:
    """Everything a turn commits, as one value: for one event, all of it or nothing."""
    community = turn.services.config.community_id
    member = turn.member.key
    counted = _counts(community, turn)
    if turn.forget:
        keep = turn.services.config.privacy.keep_open_cases
        # What concerns others (a withdrawn invitation, a closed case) still happens.
        return Changes(
            at=turn.now,
            event_key=event_key,
            outbox=[(community, action) for action in turn.outbox],
            timers=[(community, t) for t in turn.timers if t.member.key != member],
            writes=[*turn.writes, *counted, forget_member(community, member, keep)],
            cursors=dict(turn.cursors),
            audit=[(community, ERASED, "erased", "", "")],
        )
    state = conversation_to_dict(turn.conversation) if turn.conversation.frames else None
    changes = Changes(
        at=turn.now,
        event_key=event_key,
        conversations={(community, member): state},
        outbox=[(community, action) for action in turn.outbox],
        timers=[(community, timer) for timer in turn.timers],
        timers_cancelled=[(community, member, kind) for kind in turn.cancelled_timers],
        acknowledgements=[(community, member, v) for v in turn.acknowledgements],
        mentorships=[(community, mentee, mentor) for mentee, mentor in turn.mentorships],
        audit=[(community, member, a, s, d) for a, s, d in turn.audit],
        writes=[*turn.writes, *counted],
        cursors=dict(turn.cursors),
    )
    if timer_id is not None:
        changes.timers_done.append(timer_id)
    return changes


def _counts(community: str, turn: Turn) -> list[AddCount]:
    """The turn's health counts under its day (UTC), platform and language."""
    day = turn.now.astimezone(UTC).date().isoformat()
    platform, language = turn.member.platform, turn.locale
    return [AddCount(community, day, metric, platform, language, n) for metric, n in turn.counts]
