"""Agreement and close of a mediation case: the mediator writes the agreement, each
party confirms it, and a close deletes private statements unless policy keeps them."""

from __future__ import annotations

from bot.engine.people import display, tell
from bot.engine.turn import Turn
from bot.features.mediation.cases import (
    STATEMENT_KINDS,
    announce,
    assign_mediator,
    audit,
    mediator_of,
    participants,
    save,
    start_session,
)
from bot.i18n.locales import clean_user_text
from bot.store.cases import Case, delete_texts


def propose_agreement(turn: Turn, case: Case, text: str) -> None:
    case.data["agreement"] = clean_user_text(text, 4000)
    case.status = "agreement"
    for member in case.members:
        member.state["confirmed"] = "pending"
        turn.signal(member.member, f"case:confirm:{case.shown}", str(case.shown))
    audit(turn, case, "agreement_written")


def confirm_agreement(turn: Turn, case: Case, agreed: bool) -> None:
    member = case.member(turn.member.key)
    if member is None or case.status != "agreement":
        return
    member.state["confirmed"] = "yes" if agreed else "no"
    audit(turn, case, "agreement_confirmed" if agreed else "agreement_not_confirmed")
    mediator = mediator_of(turn, case)
    if not agreed and mediator is not None:
        tell(
            turn,
            mediator,
            "mediation.agreement_refused",
            case=str(case.shown),
            name=display(turn.member),
        )
    if all(m.state.get("confirmed") == "yes" for m in case.members):
        close(turn, case, "agreement", agreed=True)
    save(turn, case)


def close(turn: Turn, case: Case, reason: str, *, agreed: bool = False) -> None:
    case.status = "closed"
    case.data["closed"] = {"reason": clean_user_text(reason, 500), "agreed": agreed}
    if agreed:
        turn.count("mediation_agreements")
    if not turn.services.config.mediation.keep_statements:
        turn.writes.append(delete_texts(case.id, STATEMENT_KINDS))
    agreement = str(case.data.get("agreement", ""))
    followup = turn.services.config.mediation.followup_after
    for member in case.members:
        if agreed:
            tell(
                turn,
                member.member,
                "mediation.closed_agreed",
                case=str(case.shown),
                agreement=agreement,
            )
            if followup is not None:
                turn.schedule(
                    f"case:followup:{case.shown}",
                    turn.now + followup,
                    str(case.shown),
                    member.member,
                )
        else:
            tell(turn, member.member, "mediation.closed_no_agreement", case=str(case.shown))
    relayed = case.data.pop("relay", False)
    if case.space and not relayed:
        announce(turn, case, "mediation.session_closed")
    for person in participants(turn, case):  # no question of this case stays open
        turn.signal(person, f"case:end:{case.shown}", str(case.shown))
    audit(turn, case, "closed", case.data["closed"]["reason"])


def reopen(turn: Turn, case: Case) -> None:
    case.data.pop("closed", None)
    if case.mediator is None:
        assign_mediator(turn, case)
    else:
        start_session(turn, case, {})
        mediator = mediator_of(turn, case)
        if mediator is not None and mediator.key != turn.member.key:
            tell(
                turn,
                mediator,
                "mediation.reopened",
                case=str(case.shown),
                name=display(turn.member),
            )
    audit(turn, case, "reopened")
