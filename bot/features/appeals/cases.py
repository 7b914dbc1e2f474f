"""Moderation actions on record, and appeals against them.

Moderators record what they did (``/sanction``) so the member can see the reason; the
member may ``/appeal`` in a direct message (which still works after a channel ban where
the platform allows). An appeal is decided by a moderator other than the one who acted,
with a reason; one open appeal at a time, and a cooldown after a decision.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.actions import Choice
from bot.dialogs.model import ActionCall
from bot.engine.people import notify_moderators
from bot.engine.turn import Action, ChoiceSource, Turn
from bot.store.cases import Case, CaseMember, add_audit, save_case

SANCTION, APPEAL = "sanction", "appeal"
COOLDOWN = timedelta(days=30)
OUTCOMES = ("upheld", "lifted")


def member_cases(turn: Turn, kind: str) -> list[Case]:
    records = turn.services.store.cases
    return [
        c
        for c in records.of_member(turn.services.config.community_id, turn.member.key)
        if c.kind == kind
    ]


def appealable(turn: Turn) -> list[Case]:
    """The member's recorded actions still open to appeal (``reports.appeal_window``,
    six months at least)."""
    since = turn.now - turn.services.config.reports.appeal_window
    return [c for c in member_cases(turn, SANCTION) if c.created_at >= since]


def new_case(turn: Turn, kind: str, member: CaseMember, data: dict[str, object]) -> Case:
    community = turn.services.config.community_id
    case_id, number = turn.new_case_numbers(kind)
    case = Case(
        case_id, community, kind, "open", turn.member.key, turn.now, members=[member], data=data
    )
    case.number = number  # sanction 1, appeal 1: each kind counts on its own
    turn.writes.append(save_case(case, turn.now))
    turn.writes.append(add_audit(case_id, turn.member.key, "opened", kind, turn.now))
    return case


def sanction_choices(turn: Turn) -> list[Choice]:
    return [
        Choice(str(c.shown), f"{c.data.get('type')}: {c.data.get('reason')}")
        for c in appealable(turn)
    ]


def file_appeal(turn: Turn, call: ActionCall) -> str | None:
    assert turn.frame is not None
    values = turn.frame.values
    sanction = next((c for c in appealable(turn) if str(c.shown) == values.get("choice")), None)
    if sanction is None:
        return "gone"
    decided = [
        c
        for c in member_cases(turn, APPEAL)
        if c.data.get("sanction") == sanction.id and c.status == "decided"
    ]
    if decided and turn.now - max(c.created_at for c in decided) < COOLDOWN:
        return "cooldown"
    case = new_case(
        turn,
        APPEAL,
        CaseMember(turn.member, "appellant"),
        {"sanction": sanction.id, "acted_by": sanction.data.get("by", "")},
    )
    turn.writes.append(
        turn.services.store.cases.add_text(
            case.id, turn.member.key, "appeal", values.get("appeal", ""), False, turn.now
        )
    )
    values["case"] = str(case.shown)
    turn.count("appeals", always=True)
    notify_moderators(
        turn, "appeal.new", case=str(case.shown), moderator=str(sanction.data.get("by", ""))
    )
    return None


ACTIONS: dict[str, Action] = {"appeal_file": Action(file_appeal, results=("cooldown", "gone"))}
CHOICE_SOURCES: dict[str, ChoiceSource] = {"sanctions": sanction_choices}
