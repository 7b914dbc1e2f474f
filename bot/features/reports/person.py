"""Telling the moderators that a member would like to talk to a person.

The notice says who the member is, in which language they read, and where they are,
in words a moderator understands. A member writing or answering a report that does
not name them is asked first: a person can write to them only if the moderators know
who they are. Unless they agree, the moderators hear of the request under the report's
alias (or, before the report is sent, with no name at all), and nothing else about
them.
"""

from __future__ import annotations

from bot.core.actions import NotifyModerators
from bot.core.events import Place
from bot.core.state import Frame
from bot.dialogs.model import ActionCall
from bot.engine.flows import start_dialog
from bot.engine.turn import Action, Turn
from bot.features.reports import cases as reports
from bot.i18n import N_
from bot.i18n.catalogs import Translator
from bot.i18n.locales import clean_user_text, language_name

CONSENT_DIALOG = "person_consent"
REPORT_DIALOGS = ("report", "report_answer")

# Where a member is, for the moderators: one plain description per dialog.
WHERE = {
    "onboarding": N_("where.onboarding"),
    "coc": N_("where.coc"),
    "language": N_("where.language"),
    "checkin": N_("where.checkin"),
    "reacknowledge": N_("where.reacknowledge"),
    "report": N_("where.report"),
    "report_answer": N_("where.report_answer"),
    "mediation_request": N_("where.mediation_request"),
    "mediation_consent": N_("where.mediation_consent"),
    "mediation_statement": N_("where.mediation_statement"),
    "mediation_relay": N_("where.mediation_relay"),
    "mediation_confirm": N_("where.mediation_confirm"),
    "mediation_followup": N_("where.mediation_followup"),
    "appeal": N_("where.appeal"),
    "forget": N_("where.forget"),
}
NOWHERE = N_("where.none")
ELSEWHERE = N_("where.other")


def where(frame: Frame | None, translator: Translator) -> str:
    """Where the member is, as a moderator reads it ("reading the code of conduct")."""
    if frame is None:
        return translator.gettext(NOWHERE)
    return translator.gettext(WHERE.get(frame.dialog, ELSEWHERE))


def unnamed_report(turn: Turn) -> dict[str, str] | None:
    """When the member is writing or answering a report that does not name them: the
    report's number and alias (empty before it is sent). Otherwise None."""
    frame = turn.frame
    if frame is None or frame.dialog not in REPORT_DIALOGS:
        return None
    number = frame.values.get("case", "")
    case = reports.load(turn, number) if number else None
    if case is not None:
        if case.data.get("named") or case.data.get("revealed"):
            return None
        return {"case": str(case.shown), "alias": str(case.data.get("alias", ""))}
    if frame.values.get("identity") == "named":
        return None  # they chose to be named in this report
    return {"case": "", "alias": ""}


def notify_named(turn: Turn, frame: Frame | None) -> None:
    """The moderators hear who would like a person, their language and where they are."""
    services = turn.services
    default = services.config.default_language
    translator = services.catalogs.translator(default)
    text = translator.format(
        "moderators.person_requested",
        name=clean_user_text(turn.member.name or turn.member.id, 80),
        member=turn.member.key,
        language=language_name(turn.locale, default),
        dialog=where(frame, translator),
    )
    turn.outbox.append(NotifyModerators(turn.member.platform, text))
    turn.record("talk_to_person", turn.member.key, frame.dialog if frame else "-")
    turn.say("common.person_notified")


def notify_unnamed(turn: Turn, case: str, alias: str) -> None:
    """The moderators hear of the request under the report's alias only: no name, no
    language, nothing that would single the reporter out."""
    services = turn.services
    translator = services.catalogs.translator(services.config.default_language)
    report = reports.load(turn, case) if case else None
    if report is not None:
        text = translator.format("moderators.person_requested_alias", alias=alias, case=case)
        reports.audit(turn, report, "talk_to_person")  # in the report's log, by alias
    else:
        # Not in the community's log either: it would tie their key to the request.
        text = translator.format("moderators.person_requested_unnamed")
    turn.outbox.append(NotifyModerators(turn.member.platform, text))
    turn.say("common.person_notified_unnamed")


def consented(turn: Turn, call: ActionCall) -> str | None:
    """The answer to "may the moderators know who you are?"."""
    assert turn.frame is not None
    values = turn.frame.values
    below = turn.conversation.interrupted(turn.frame)
    if values.get("consent") == "named":
        notify_named(turn, below)
    else:
        notify_unnamed(turn, values.get("case", ""), values.get("alias", ""))
    return None


ACTIONS: dict[str, Action] = {"person_notify": Action(consented)}


def talk_to_person(turn: Turn) -> bool:
    """Always possible: tell the moderators a member wants a human, and tell the member.
    In a report that does not name them, the member is asked first whether the
    moderators may know who they are; True when that question was asked."""
    frame = turn.frame
    if frame is not None and frame.dialog == CONSENT_DIALOG:
        return False  # that very question waits: it is asked again
    unnamed = unnamed_report(turn)
    if unnamed is not None:
        place = frame.place if frame is not None and frame.place else Place.direct(turn.member)
        start_dialog(turn, CONSENT_DIALOG, place, unnamed, asked_for=True)
        return True
    notify_named(turn, frame)
    return False
