"""The named action of the ``/forget`` dialog."""

from __future__ import annotations

from bot.dialogs.model import ActionCall
from bot.engine.people import forget_now
from bot.engine.turn import Action, Turn


def what_ends(turn: Turn, call: ActionCall) -> str | None:
    """Before the member decides: an open mediation of theirs would end (the features
    declare what would)."""
    if any(ends(turn) for ends in turn.services.features.ends_on_forget):
        turn.say("privacy.forget_mediation")
    return None


def forget(turn: Turn, call: ActionCall) -> str | None:
    """Erase the member; first, nothing that waits on them is left waiting."""
    forget_now(turn)
    return None


ACTIONS: dict[str, Action] = {
    "privacy_forget": Action(forget),
    "privacy_forget_what_ends": Action(what_ends),
}
