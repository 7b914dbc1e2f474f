"""What a mediation signal means for the member who receives it: an invitation to
answer, a statement to give, a session to join, an agreement to confirm."""

from __future__ import annotations

from bot import mediation as med
from bot.events import Place, TimerFired
from bot.people import display
from bot.runner import drop_flows, resume, start_dialog
from bot.store.cases import Case
from bot.turn import Turn

# The questions of a case that mean nothing once it has ended.
ENDED = (med.CONSENT, med.STATEMENT, med.CONFIRM, med.RELAY)


def show_invitation(turn: Turn, case: Case) -> None:
    opener = case.member(case.opened_by)
    name = display(opener.member) if opener else (med.mediator_name(turn, case) or "")
    deadline = turn.services.config.mediation.consent_timeout
    values = {
        "case": str(case.shown),
        "requester": name,
        "deadline": turn.translator.format_timedelta(deadline),
    }
    start_dialog(turn, med.CONSENT, Place.direct(turn.member), values)


def join_relay(turn: Turn, case: Case) -> None:
    start_dialog(turn, med.RELAY, Place.direct(turn.member), {"case": str(case.shown)})
    for text in med.shared_statements(turn, case, {}):
        turn.say_text(text)


def on_case_signal(turn: Turn, event: TimerFired) -> None:
    """``case:<what>:<number>``: a step of a case that concerns this member."""
    _, what, number = event.kind.split(":", 2)
    case = med.load(turn, number)
    if case is None:
        return
    drop = {"withdrawn": ENDED, "expire": (med.CONSENT,), "end": ENDED}.get(what)
    if drop:
        before = len(turn.conversation.frames)
        places = drop_flows(turn, lambda f: f.dialog in drop and f.values.get("case") == number)
        dropped = before != len(turn.conversation.frames)
        if what == "expire":
            member = case.member(turn.member.key)
            if member is not None and member.state.get("consent") == "pending" and case.is_open:
                med.answer_invitation(turn, case, "expired")
                turn.say("mediation.expired_ack", case=number)
        elif what == "withdrawn":
            turn.cancel(f"case:expire:{number}")  # nothing left to expire
            if dropped:
                turn.say("mediation.withdrawn", case=number)
        for place in places:
            resume(turn, place)
        return
    if what == "invite" and case.status == "consent":
        show_invitation(turn, case)
    elif what == "statement" and case.status == "statements":
        start_dialog(turn, med.STATEMENT, Place.direct(turn.member), {"case": number})
    elif what == "relay" and case.status in ("joint", "agreement"):
        join_relay(turn, case)
    elif what == "confirm" and case.status == "agreement":
        values = {"case": number, "agreement": str(case.data.get("agreement", ""))}
        start_dialog(turn, med.CONFIRM, Place.direct(turn.member), values)
    elif what == "followup" and case.status == "closed":
        start_dialog(turn, med.FOLLOWUP, Place.direct(turn.member), {"case": number})
