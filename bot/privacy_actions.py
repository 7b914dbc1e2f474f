"""The named action of the ``/forget`` dialog."""

from __future__ import annotations

from bot.dialogs.model import ActionCall
from bot.events import Place
from bot.turn import ActionFunction, Turn


def forget(turn: Turn, call: ActionCall) -> str | None:
    turn.conversation.frames.clear()
    turn.forget = True
    turn.say_text(turn.text("privacy.forgotten"), place=Place.direct(turn.member))
    return None


ACTIONS: dict[str, ActionFunction] = {"privacy_forget": forget}
