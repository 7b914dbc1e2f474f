"""Both sides confirm: the account that sent the code answers first, then the account
that asked for it is asked, in its own language; its yes links them. Every step is in
the store (the taken code, the signal to the other account, each side's question), so
a restart between the two answers loses nothing."""

from __future__ import annotations

import json
import uuid

from bot.core.events import Place, TimerFired
from bot.dialogs.model import ActionCall
from bot.engine.flows import start_dialog
from bot.engine.people import profile_of
from bot.engine.turn import Turn
from bot.features.identity.codes import linked_problem, member_ref, platform_name
from bot.features.identity.shared import apply_shared, merged, shared_values
from bot.store.types import iso
from bot.store.writes import DropLinkCode, SetLink

CONFIRM_DIALOG = "link_confirm"


def _values(turn: Turn) -> dict[str, str]:
    return turn.frame.values if turn.frame is not None else {}


def _still_waiting(turn: Turn, claimer: str) -> bool:
    """The code is still taken by ``claimer``, and the confirmations are in time."""
    values = _values(turn)
    found = turn.services.store.links.code(turn.services.config.community_id, values["code"])
    return (
        found is not None
        and not found.burnt
        and found.claimed_by == claimer
        and found.expires_at > turn.now
    )


def claimer_agrees(turn: Turn, call: ActionCall) -> str | None:
    """The account that sent the code said yes: the other account is asked."""
    if not _still_waiting(turn, turn.member.key):
        return "gone"
    values = _values(turn)
    payload = {"code": values["code"], "other": turn.member.key, "cases": call.args["cases"]}
    turn.signal(member_ref(values["other"]), "identity:ask", json.dumps(payload))
    return None


def claimer_declines(turn: Turn, call: ActionCall) -> str | None:
    turn.writes.append(DropLinkCode(turn.services.config.community_id, _values(turn)["code"]))
    return None


def on_ask(turn: Turn, event: TimerFired) -> None:
    payload = json.loads(event.payload)
    values = {
        "code": payload["code"],
        "other": payload["other"],
        "other_cases": payload["cases"],
        "platform": platform_name(payload["other"]),
    }
    turn.conversation.frames = [f for f in turn.conversation.frames if f.dialog != CONFIRM_DIALOG]
    # The member asked for the code: the question comes at once, not after another.
    start_dialog(turn, CONFIRM_DIALOG, Place.direct(turn.member), values, asked_for=True)


def issuer_agrees(turn: Turn, call: ActionCall) -> str | None:
    """The account that asked for the code said yes: the two are linked now, share what
    they share, and the other account hears so in its own language."""
    values = _values(turn)
    other = values["other"]
    if not _still_waiting(turn, other):
        return "gone"
    if linked_problem(turn, other) is not None:
        return "taken"
    services = turn.services
    community, key = services.config.community_id, turn.member.key
    links = services.store.links
    groups = links.accounts(community, key) or links.accounts(community, other)
    person = groups[0].person if groups else uuid.uuid4().hex
    at = iso(turn.now)
    turn.writes += [
        SetLink(community, key, person, call.args["cases"] == "yes", at),
        SetLink(community, other, person, values["other_cases"] == "yes", at),
        DropLinkCode(community, values["code"]),
    ]
    theirs = profile_of(services, other)
    shared = merged(
        shared_values(turn.profile), shared_values(theirs) if theirs else None, services
    )
    apply_shared(turn, shared)
    payload = {"shared": shared, "other": key}
    turn.signal(member_ref(other), "identity:linked", json.dumps(payload))
    turn.record("linked", key)
    return None


def issuer_declines(turn: Turn, call: ActionCall) -> str | None:
    values = _values(turn)
    turn.writes.append(DropLinkCode(turn.services.config.community_id, values["code"]))
    turn.signal(member_ref(values["other"]), "identity:declined")
    return None


def on_linked(turn: Turn, event: TimerFired) -> None:
    payload = json.loads(event.payload)
    apply_shared(turn, payload["shared"])
    turn.record("linked", turn.member.key)
    turn.say(
        "identity.linked", place=Place.direct(turn.member), platform=platform_name(payload["other"])
    )


def on_declined(turn: Turn, event: TimerFired) -> None:
    turn.say("identity.other_declined", place=Place.direct(turn.member))
