"""Telling a member, once per language, that their language's texts are a draft.

Machine-drafted catalogs are honest about it (``X-Review-Status: draft``); a member
reading one should know too, in that language, and know how to help improve it.
"""

from __future__ import annotations

from bot.core.actions import Ask, Say
from bot.core.events import PlaceKind, TimerFired
from bot.engine.turn import Turn


def tell_if_draft(turn: Turn, after_first_reply: bool = False) -> None:
    """Say the draft notice in a direct conversation, the first time only.

    With ``after_first_reply`` (once the event is handled), it goes after the first
    thing said (the welcome) and before any question, so the question stays last.
    """
    if turn.translator.review_status != "draft" or isinstance(turn.event, TimerFired):
        return
    place = turn.reply_place()
    if place.kind is not PlaceKind.DIRECT:
        return  # never in a shared channel: it would be noise for everyone else
    seen = f"draft:{turn.locale}"
    if seen in turn.profile.notices:
        return
    turn.profile.notices.append(seen)
    notice = Say(place, turn.text("common.draft_notice"))
    mine = [
        i
        for i, action in enumerate(turn.outbox)
        if isinstance(action, Say | Ask) and action.to == place
    ]
    if not after_first_reply or not mine:
        turn.outbox.append(notice)
        return
    first = mine[0]
    turn.outbox.insert(first if isinstance(turn.outbox[first], Ask) else first + 1, notice)
