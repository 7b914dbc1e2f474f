"""What a member controls about their own data: see it (``/mydata``), erase it
(``/forget``), and ask never to be written to first (``/quiet``)."""

from __future__ import annotations

import json
from typing import Any

from bot.core.actions import DeleteRecentMessages, SendFile
from bot.core.events import Place
from bot.core.state import profile_to_dict
from bot.engine.turn import Command, Turn
from bot.i18n import N_
from bot.i18n.locales import language_name
from bot.store.types import iso

SOMEONE_ELSE = "someone else"


def my_data(turn: Turn) -> dict[str, Any]:
    """Everything stored about the member, and nothing about anyone else: their own
    texts in cases, never the other parties'."""
    services = turn.services
    store, community, key = services.store, services.config.community_id, turn.member.key
    cases = []
    for case in store.cases.of_member(community, key):
        own_names = {key}
        if case.kind == "report":
            own_names.add(str(case.data.get("alias", "")))
        cases.append(
            {
                "case": case.shown,
                "kind": case.kind,
                "status": case.status,
                "opened": iso(case.created_at),
                "your_texts": [
                    {"kind": t.kind, "text": t.text, "at": iso(t.at)}
                    for t in store.cases.texts(case.id)
                    if t.author in own_names
                ],
            }
        )
    return {
        "member": key,
        "profile": profile_to_dict(turn.profile),
        "conversation": [
            {"dialog": f.dialog, "step": f.step, "answers": f.values}
            for f in turn.conversation.frames
        ],
        "acknowledgements": [
            {"version": version, "at": iso(at)}
            for version, at in store.acknowledgements(community, key)
        ],
        "cases": cases,
        "linked_accounts": [
            {"account": a.member, "since": iso(a.linked_at), "shares_its_cases": a.share_cases}
            for a in store.links.accounts(community, key)
            if a.member != key
        ],
        "shared_with_moderators": _disclosures(turn),
        "log": [
            _own_view(entry, key)
            for entry in store.audit_log(community)
            if key in (entry["actor"], entry["subject"])
        ],
    }


def _disclosures(turn: Turn) -> list[dict[str, str]]:
    """Which linked accounts the moderators of which case see as the member's."""
    services = turn.services
    community, key = services.config.community_id, turn.member.key
    shown = []
    for d in services.store.links.disclosures_of(community, key):
        case = services.store.cases.load(community, d.case_id)
        named = f"{case.kind} {case.shown}" if case else str(d.case_id)
        shown.append({"case": named, "shared_by": d.member, "account": d.account, "at": iso(d.at)})
    return shown


def _own_view(entry: dict[str, str], key: str) -> dict[str, str]:
    """What someone else did about the member (a moderator pausing their reports) does
    not name who: the member's notices say only "a moderator" either."""
    if entry["actor"] == key:
        return entry
    return {**entry, "actor": SOMEONE_ELSE}


def run_mydata(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    data = my_data(turn)
    summary = turn.text(
        "privacy.mydata_summary",
        language=language_name(turn.locale, turn.locale),
        version=str(data["profile"]["acknowledged_version"] or "-"),
        cases=str(len(data["cases"])),
    )
    body = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
    direct = Place.direct(turn.member)
    if turn.services.can(turn.member.platform).files:
        turn.say_text(summary, place=direct)
        turn.outbox.append(SendFile(direct, "concord-mydata.json", body))
    else:
        turn.say_text(f"{summary}\n{body}", place=direct)


def run_quiet(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    """The bot will never start a conversation with this member again (no reminders,
    check-ins or invitations), and leaves them out of the health counts; it still
    answers when they write."""
    turn.profile.extra["quiet"] = not bool(turn.profile.extra.get("quiet"))
    # Not counted either: nothing of theirs waits to be counted.
    turn.drop_health_marks()
    turn.record("quiet", turn.member.key, str(turn.profile.extra["quiet"]))
    quiet = bool(turn.profile.extra["quiet"])
    message = N_("privacy.quiet_on") if quiet else N_("privacy.quiet_off")
    turn.say(message, place=Place.direct(turn.member))


def run_clear(turn: Turn, args: tuple[str, ...], place: Place) -> None:
    """Safety exit: end every flow and delete the bot's recent messages in the direct
    messages, leaving nothing new behind; where the platform does not allow deleting,
    say how to delete the chat instead."""
    turn.conversation.frames.clear()
    turn.conversation.focus = None
    direct = Place.direct(turn.member)
    if turn.services.can(turn.member.platform).delete_messages:
        turn.outbox.append(DeleteRecentMessages(direct))
    else:
        turn.say("privacy.cannot_delete", place=direct)
    turn.record("cleared", turn.member.key)


COMMANDS: tuple[Command, ...] = (
    Command("mydata", run_mydata, private=True, help=N_("command.mydata")),
    Command("quiet", run_quiet, private=True, help=N_("command.quiet")),
    Command("clear", run_clear, private=True, help=N_("command.clear")),
)
