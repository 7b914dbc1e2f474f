"""Named actions of the report dialogs."""

from __future__ import annotations

from bot.conduct.document import section_texts
from bot.core.actions import Choice
from bot.dialogs.model import ActionCall
from bot.engine.people import member_ref, notify_moderators, tell
from bot.engine.turn import Action, ChoiceSource, Turn
from bot.features.reports import cases as reports
from bot.i18n.catalogs import Translator
from bot.store.cases import Case


def report_sections(turn: Turn) -> list[Choice]:
    """The code of conduct's parts, in the member's language, plus "I am not sure"."""
    lookup = turn.translator.lookup
    choices = [Choice(s.id, section_texts(s, lookup)["title"]) for s in turn.services.coc.sections]
    return [*choices, Choice("unsure", turn.text("report.section_unsure"))]


def emergency(turn: Turn, call: ActionCall) -> str | None:
    case = reports.emergency(turn)
    assert turn.frame is not None
    turn.frame.values["case"] = str(case.shown)
    turn.frame.values["resources"] = reports.resources_for(turn)
    return None


def emergency_details(turn: Turn, call: ActionCall) -> str | None:
    assert turn.frame is not None
    case = reports.load(turn, turn.frame.values.get("case", ""))
    if case is None:
        return None
    reports.add_text(turn, case, "details", turn.frame.values.get("details", ""))
    notify_moderators(turn, "report.emergency_details", case=str(case.shown))
    for key in turn.services.config.reports.emergency_contacts:
        tell(turn, member_ref(key), "report.emergency_details", case=str(case.shown))
    return None


def submit(turn: Turn, call: ActionCall) -> str | None:
    if reports.may_report(turn) is not None:
        return "limited"
    assert turn.frame is not None
    values = turn.frame.values
    named = values.get("identity") == "named"
    case = reports.open_report(turn, {"section": values.get("section", "unsure"), "named": named})
    for kind in ("what", "who", "when", "evidence"):
        reports.add_text(turn, case, kind, values.get(kind, ""))
    values["case"] = str(case.shown)
    notify_moderators(
        turn,
        "report.new",
        case=str(case.shown),
        section=section_title(
            turn, case, turn.services.catalogs.translator(turn.services.config.default_language)
        ),
        reporter=reports.shown_reporter(case),
    )
    return None


def section_title(turn: Turn, case: Case, translator: Translator | None = None) -> str:
    """The part of the code of conduct a report names, in the reader's language."""
    lookup = (translator or turn.translator).lookup
    section = case.data.get("section", "unsure")
    found = next((s for s in turn.services.coc.sections if s.id == section), None)
    if found is None:
        return (translator or turn.translator).gettext("report.section_unsure")
    return f"{found.number}. {section_texts(found, lookup)['title']}"


def save_answer(turn: Turn, call: ActionCall) -> str | None:
    assert turn.frame is not None
    case = reports.load(turn, turn.frame.values.get("case", ""))
    if case is None:
        return None
    reports.add_text(turn, case, "answer", turn.frame.values.get("answer", ""))
    reports.set_status(turn, case, "in_review")
    notify_moderators(
        turn, "report.answered", case=str(case.shown), reporter=reports.shown_reporter(case)
    )
    return None


ACTIONS: dict[str, Action] = {
    "report_emergency": Action(emergency),
    "report_emergency_details": Action(emergency_details),
    "report_submit": Action(submit, results=("limited",)),
    "report_save_answer": Action(save_answer),
}

CHOICE_SOURCES: dict[str, ChoiceSource] = {"report_sections": report_sections}
