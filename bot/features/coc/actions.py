"""Named actions that show the code of conduct in the member's language."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from bot.conduct.document import Section, coc_title, find_section, search, section_texts
from bot.core.actions import Choice
from bot.dialogs.model import ActionCall
from bot.engine.turn import Action, ChoiceSource, Turn
from bot.i18n.catalogs import Translator
from bot.i18n.filling import placeholders
from bot.i18n.plain import is_plain, wording


def section_choices(turn: Turn) -> list[Choice]:
    lookup = turn.translator.lookup
    return [Choice(s.id, section_texts(s, lookup)["title"]) for s in turn.services.coc.sections]


def render_section(turn: Turn, section: Section, *, full: bool = True) -> str:
    """A section as plain text: heading, summary, details, examples of OK and not OK.
    Made once per catalog where its headings name nothing but the section: each
    walkthrough step shows one."""
    memo = _RENDERED.setdefault(turn.translator, {})
    key = (section, full, is_plain(turn.profile))
    found = memo.get(key)
    if found is None:
        found = _render_section(turn, section, full)
        if _fixed_headings(turn):
            memo[key] = found
    return found


# Sections as rendered, by translator (a catalog): texts of that catalog alone.
_RENDERED: WeakKeyDictionary[Translator, dict[tuple[Section, bool, bool], str]] = (
    WeakKeyDictionary()
)
_HEADINGS = ("coc.section_heading", "coc.ok_heading", "coc.not_ok_heading")


def _fixed_headings(turn: Turn) -> bool:
    """Whether the headings, as this member's catalog words them, name only the
    section (its number and title): the same text for every member then."""
    gettext, profile = turn.translator.gettext, turn.profile
    named = (placeholders(gettext(wording(msgid, profile))) for msgid in _HEADINGS)
    return all(names <= {"number", "title"} for names in named)


def _render_section(turn: Turn, section: Section, full: bool) -> str:
    texts = section_texts(section, turn.translator.lookup)
    parts = [
        turn.text("coc.section_heading", number=str(section.number), title=texts["title"]),
        texts["summary"],
    ]
    if full and texts["details"]:
        parts.append(texts["details"])
    ok = texts["ok"] if full else texts["ok"][:1]
    not_ok = texts["not_ok"] if full else texts["not_ok"][:1]
    parts.append(turn.text("coc.ok_heading") + "\n" + "\n".join(f"- {e}" for e in ok))
    parts.append(turn.text("coc.not_ok_heading") + "\n" + "\n".join(f"- {e}" for e in not_ok))
    return "\n\n".join(parts)


def walkthrough_intro(turn: Turn, call: ActionCall) -> str | None:
    count = sum(1 for s in turn.services.coc.sections if s.walkthrough)
    turn.say_text(turn.ntext("onboarding.intro", "onboarding.intro.plural", count))
    return None


def walkthrough_next(turn: Turn, call: ActionCall) -> str | None:
    """Show the next key section of the walkthrough, or say it is done."""
    frame = turn.frame
    assert frame is not None
    sections = [s for s in turn.services.coc.sections if s.walkthrough]
    index = int(frame.values.get("walk", "0"))
    if index >= len(sections):
        return "done"
    frame.values["walk"] = str(index + 1)
    frame.values["walk_section"] = sections[index].id
    heading = turn.text("onboarding.walk_position", k=str(index + 1), n=str(len(sections)))
    turn.say_text(heading + "\n\n" + render_section(turn, sections[index], full=False))
    return "more"


def walkthrough_details(turn: Turn, call: ActionCall) -> str | None:
    _show_section_named_by(turn, "walk_section")
    return None


def show_all(turn: Turn, call: ActionCall) -> str | None:
    lookup = turn.translator.lookup
    lines = [turn.text("coc.all_heading", title=coc_title(turn.services.coc, lookup))]
    for section in turn.services.coc.sections:
        texts = section_texts(section, lookup)
        lines.append(f"{section.number}. {texts['title']}: {texts['summary']}")
    turn.say_text("\n\n".join(lines))
    return None


def route(turn: Turn, call: ActionCall) -> str | None:
    """``/coc`` lists; ``/coc 3`` or ``/coc privacy`` explains one; other words search."""
    frame = turn.frame
    assert frame is not None
    query = frame.values.pop("args", "").strip()
    if not query:
        return "list"
    coc, lookup = turn.services.coc, turn.translator.lookup
    section = find_section(coc, query, lookup)
    if section is not None:
        turn.say_text(render_section(turn, section))
        return "shown"
    found = search(coc, query, lookup, limit=3, locale=turn.locale)
    if not found:
        turn.say("coc.search_none")
        return "list"
    lines = [turn.text("coc.search_results")]
    for hit in found:
        texts = section_texts(hit, lookup)
        lines.append(f"{hit.number}. {texts['title']}: {texts['summary']}")
    lines.append(turn.text("coc.search_more"))
    turn.say_text("\n\n".join(lines))
    return "shown"


def show_choice(turn: Turn, call: ActionCall) -> str | None:
    _show_section_named_by(turn, "choice")
    return None


def _show_section_named_by(turn: Turn, value: str) -> None:
    """The whole section whose id the dialog keeps under ``value``."""
    assert turn.frame is not None
    section = _by_id(turn, turn.frame.values.get(value, ""))
    if section is not None:
        turn.say_text(render_section(turn, section))


def _by_id(turn: Turn, section_id: str) -> Section | None:
    return next((s for s in turn.services.coc.sections if s.id == section_id), None)


ACTIONS: dict[str, Action] = {
    "coc_walkthrough_intro": Action(walkthrough_intro),
    "coc_walkthrough_next": Action(walkthrough_next, results=("done", "more")),
    "coc_walkthrough_details": Action(walkthrough_details),
    "coc_show_all": Action(show_all),
    "coc_route": Action(route, results=("list", "shown")),
    "coc_show_choice": Action(show_choice),
}

CHOICE_SOURCES: dict[str, ChoiceSource] = {"coc_sections": section_choices}
