"""What a mediation signal means for the member who receives it: an invitation to
answer, a statement to give, a session to join, an agreement to confirm."""

from __future__ import annotations

from bot.core.events import Place, TimerFired
from bot.engine.flows import DEADLINE_AT, drop_flows, resume, start_dialog
from bot.engine.people import display
from bot.engine.turn import Turn
from bot.features.mediation import cases as med
from bot.i18n import N_
from bot.store.cases import Case
from bot.store.types import iso

# The questions of a case that mean nothing once it has ended.
ENDED = (med.CONSENT, med.STATEMENT, med.CONFIRM, med.RELAY)
UNSEEN = N_("mediation.unseen_question_gone")
EXPIRED, WITHDRAWN = N_("mediation.expired_ack"), N_("mediation.withdrawn")


def show_invitation(turn: Turn, case: Case) -> None:
    """The invitation, at once or queued behind a question already waiting; its
    deadline is said as it stands when the question is asked (``DEADLINE_AT``)."""
    opener = case.member(case.opened_by)
    name = display(opener.member) if opener else (med.mediator_name(turn, case) or "")
    member = case.member(turn.member.key)
    expires = member.state.get("expires_at", "") if member else ""
    if not expires:  # invited before the deadline was kept with the invitation
        expires = iso(turn.now + turn.services.config.mediation.consent_timeout)
    values = {"case": str(case.shown), "requester": name, DEADLINE_AT: expires}
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
        ended = [
            f
            for f in turn.conversation.frames
            if f.dialog in drop and f.values.get("case") == number
        ]
        places = drop_flows(turn, lambda f: f in ended)
        # An invitation still queued behind another question was never shown: the
        # member heard only "I have another question for you". "The invitation for
        # case 2 has expired" would speak of something they never saw (and that someone
        # asked to mediate with them, which they were never asked about); silence would
        # leave them waiting for a question that never comes. What they expect is to
        # hear that the question they were promised is no longer needed.
        unseen = bool(ended) and all(f.queued for f in ended)
        if what == "expire":
            member = case.member(turn.member.key)
            if member is not None and member.state.get("consent") == "pending" and case.is_open:
                med.answer_invitation(turn, case, "expired")
                turn.say(UNSEEN if unseen else EXPIRED, case=number)
        elif what == "withdrawn":
            turn.cancel(f"case:expire:{number}")  # nothing left to expire
            if ended:
                turn.say(UNSEEN if unseen else WITHDRAWN, case=number)
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
