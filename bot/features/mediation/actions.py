"""Named actions of the mediation dialogs, and what a mediation signal means for the
member who receives it."""

from __future__ import annotations

from bot.dialogs.model import ActionCall
from bot.engine.turn import Action, ActionFunction, ChoiceSource, Turn
from bot.features.mediation import cases as med
from bot.features.mediation.agreement import confirm_agreement, reopen
from bot.i18n.locales import clean_user_text
from bot.store.cases import Case


def _case(turn: Turn) -> Case | None:
    return med.load(turn, turn.frame.values.get("case", "")) if turn.frame else None


def send_request(turn: Turn, call: ActionCall) -> str | None:
    """The requester confirmed: keep the description for the mediator, invite."""
    case = _case(turn)
    if case is None or case.status != "screening":
        return "gone"
    assert turn.frame is not None
    description = clean_user_text(turn.frame.values.get("description", ""), 4000)
    turn.writes.append(
        turn.services.store.cases.add_text(
            case.id, turn.member.key, "description", description, False, turn.now
        )
    )
    med.send_invitations(turn, case)
    return None


def screened_out(turn: Turn, call: ActionCall) -> str | None:
    """Harassment, threats or a safety risk are not for mediation: nothing is sent to
    the other member, and the description is not kept."""
    case = _case(turn)
    if case is not None:
        case.status = "screened_out"
        med.audit(turn, case, "screened_out")
        med.save(turn, case)
    return None


def cancel_request(turn: Turn, call: ActionCall) -> str | None:
    case = _case(turn)
    if case is not None and case.status == "screening":
        case.status = "cancelled"
        med.audit(turn, case, "cancelled")
        med.save(turn, case)
    return None


def _answer(outcome: str) -> ActionFunction:
    def action(turn: Turn, call: ActionCall) -> str | None:
        case = _case(turn)
        if case is None or not case.is_open:
            return "gone"
        if med.someone_erased(case):  # the requester (or another party) is gone
            case.status = "cancelled"
            med.audit(turn, case, "withdrawn")
            med.save(turn, case)
            return "gone"
        med.answer_invitation(turn, case, outcome)
        return None

    return action


def save_statement(turn: Turn, call: ActionCall) -> str | None:
    case = _case(turn)
    if case is None or not case.is_open:
        return "gone"
    assert turn.frame is not None
    values = turn.frame.values
    answers = {kind: values.get(kind, "") for kind in med.STATEMENT_KINDS}
    med.save_statement(turn, case, answers, values.get("share") == "share")
    return "started" if case.status == "joint" else None


def _confirm(agreed: bool) -> ActionFunction:
    def action(turn: Turn, call: ActionCall) -> str | None:
        case = _case(turn)
        if case is None or case.status != "agreement":
            return "gone"
        confirm_agreement(turn, case, agreed)
        return "closed" if case.status == "closed" else None

    return action


def agreement_held(turn: Turn, call: ActionCall) -> str | None:
    """A party says the agreement is holding: counted, nothing else changes."""
    turn.count("mediation_held")
    return None


def request_reopen(turn: Turn, call: ActionCall) -> str | None:
    case = _case(turn)
    if case is None or case.status != "closed":
        return "gone"
    turn.count("mediation_not_held")
    reopen(turn, case)
    med.save(turn, case)
    return None


ACTIONS: dict[str, Action] = {
    "mediation_send_request": Action(send_request, results=("gone",)),
    "mediation_screened_out": Action(screened_out),
    "mediation_cancel": Action(cancel_request),
    "mediation_accept": Action(_answer("accepted"), results=("gone",)),
    "mediation_decline": Action(_answer("declined"), results=("gone",)),
    "mediation_block": Action(_answer("blocked"), results=("gone",)),
    "mediation_save_statement": Action(save_statement, results=("gone", "started")),
    "mediation_confirm": Action(_confirm(True), results=("gone", "closed")),
    "mediation_not_confirmed": Action(_confirm(False), results=("gone", "closed")),
    "mediation_reopen": Action(request_reopen, results=("gone",)),
    "mediation_held": Action(agreement_held),
}

CHOICE_SOURCES: dict[str, ChoiceSource] = {}
