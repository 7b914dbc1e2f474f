"""The named action of the ``/forget`` dialog."""

from __future__ import annotations

from bot.dialogs.model import ActionCall
from bot.events import Place
from bot.mediation_session import in_open_mediation, withdraw_from_cases
from bot.turn import ActionFunction, Turn


def what_ends(turn: Turn, call: ActionCall) -> str | None:
    """Before the member decides: an open mediation of theirs would end."""
    if in_open_mediation(turn):
        turn.say("privacy.forget_mediation")
    return None


def forget(turn: Turn, call: ActionCall) -> str | None:
    """Erase the member; first, nothing that waits on them is left waiting."""
    withdraw_from_cases(turn)
    turn.conversation.frames.clear()
    turn.forget = True
    turn.say_text(turn.text("privacy.forgotten"), place=Place.direct(turn.member))
    return None


ACTIONS: dict[str, ActionFunction] = {
    "privacy_forget": forget,
    "privacy_forget_what_ends": what_ends,
}
