"""Talking to a person: the moderators hear that a member would like one."""

from __future__ import annotations

from bot.actions import NotifyModerators
from bot.dialogs.model import ActionCall
from bot.i18n.locales import clean_user_text
from bot.turn import ActionFunction, Turn

# Asks a member whose flow keeps them unnamed whether the team may know who they are.
PERSON_DIALOG = "person"


def notify(turn: Turn, where: str) -> None:
    """Tell the moderators who would like a person, and where they are."""
    services = turn.services
    moderators_text = services.catalogs.translator(services.config.default_language).format(
        "moderators.person_requested",
        name=clean_user_text(turn.member.name or turn.member.id, 80),
        member=turn.member.key,
        language=turn.locale,
        dialog=where,
    )
    turn.outbox.append(NotifyModerators(turn.member.platform, moderators_text))
    turn.record("talk_to_person", turn.member.key, where)


def named_request(turn: Turn, call: ActionCall) -> str | None:
    """The member agreed to be named: the request goes to the moderators."""
    notify(turn, turn.frame.values.get("where", "-") if turn.frame else "-")
    return None


ACTIONS: dict[str, ActionFunction] = {"person_notify": named_request}
