"""Choosing a language: a short list to pick from, any language by its typed name.

Thirty-five languages do not fit one readable question (nor Discord's 25 buttons), so
the list shows the few most likely ones, each by its own name, and "another
language" asks for the name instead; a name is found in any spelling a member would
type: its own name, its name in English or in the current language, or its code.
"""

from __future__ import annotations

from functools import lru_cache

from bot.core.actions import Choice
from bot.core.choices import fold
from bot.dialogs.model import ActionCall
from bot.engine.draft_notice import tell_if_draft
from bot.engine.turn import Action, ChoiceResolver, ChoiceSource, Turn
from bot.i18n.locales import (
    SOURCE_LOCALE,
    display_name,
    isolate,
    language_name,
    negotiate,
    normalize_tag,
)

SHORT_LIST = 6
OTHER = "other"


def _shown(turn: Turn) -> tuple[Choice, ...]:
    """The member's own choice, their platform's language, the community's default,
    then the community's languages in its order: at most ``SHORT_LIST``."""
    services, profile = turn.services, turn.profile
    return _likely(
        profile.chosen_locale,
        profile.platform_locale,
        services.config.default_language,
        services.languages,
    )


@lru_cache(maxsize=1024)  # asked wherever a language question is numbered: tags repeat
def _likely(
    chosen: str | None, platform: str | None, default: str, available: tuple[str, ...]
) -> tuple[Choice, ...]:
    """``_shown``'s list, each by its own name (a pure function of its arguments)."""
    first = [negotiate([tag], available, "") if tag else "" for tag in (chosen, platform)]
    ordered = [*first, default, *available]
    shown = list(dict.fromkeys(code for code in ordered if code))[:SHORT_LIST]
    return tuple(Choice(code, display_name(code)) for code in shown)


def language_choices(turn: Turn) -> list[Choice]:
    shown = _shown(turn)
    choices = list(shown)
    if len(turn.services.languages) > len(shown):
        choices.append(Choice(OTHER, turn.text("language.other")))
    return choices


def typed_language(turn: Turn, typed: str) -> Choice | None:
    """Any of the community's languages typed by name or code, listed or not."""
    found = match_language(typed, turn.services.languages, turn.locale)
    return Choice(found, display_name(found)) if found else None


def set_language(turn: Turn, call: ActionCall) -> str | None:
    """Take the picked language; ``other`` when the member wants one not listed."""
    chosen = turn.frame.values.get("choice") if turn.frame else None
    if chosen == OTHER:
        return OTHER
    if chosen and chosen in turn.services.languages:
        _use(turn, chosen)
    return None


def find_language(turn: Turn, call: ActionCall) -> str | None:
    """The language a member typed by name or code; ``unknown`` when none matches
    (the dialog then says so and asks again, listing every language)."""
    typed = turn.frame.values.get("typed_language", "") if turn.frame else ""
    found = match_language(typed, turn.services.languages, turn.locale)
    if found is None:
        return "unknown"
    _use(turn, found)
    return None


def language_list(turn: Turn, call: ActionCall) -> str | None:
    """``{languages}``: every language of the community by its own name."""
    if turn.frame is not None:
        names = (isolate(display_name(code), turn.locale) for code in turn.services.languages)
        turn.frame.values["languages"] = ", ".join(names)
    return None


def match_language(typed: str, available: tuple[str, ...], reader: str) -> str | None:
    wanted = fold(typed)
    if not wanted:
        return None
    tag = normalize_tag(typed.strip())
    if tag is not None:
        negotiated = negotiate([tag], available, "")
        if negotiated:
            return negotiated
    for code in available:
        names = {
            display_name(code),
            language_name(code, reader),
            language_name(code, SOURCE_LOCALE),
        }
        if wanted in {fold(name) for name in names}:
            return code
    return None


def _use(turn: Turn, code: str) -> None:
    turn.profile.chosen_locale = code
    turn.set_locale(code)
    tell_if_draft(turn)


ACTIONS: dict[str, Action] = {
    "set_language": Action(set_language, results=("other",)),
    "find_language": Action(find_language, results=("unknown",)),
    "language_list": Action(language_list),
}

CHOICE_SOURCES: dict[str, ChoiceSource] = {"languages": language_choices}
CHOICE_RESOLVERS: dict[str, ChoiceResolver] = {"languages": typed_language}
