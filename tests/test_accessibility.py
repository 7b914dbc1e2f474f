"""Accessibility by measure, in the core: time limits, labels, emoji, reading level,
plain words and finding one's language (see languages.md, "Requirements")."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

import pytest
import textstat  # type: ignore[import-untyped]

from bot.core.actions import Ask
from bot.core.clock import ManualClock
from bot.core.resources import locales_dir
from bot.engine.engine import Engine
from bot.i18n.catalogs import Catalogs
from bot.i18n.locales import display_name
from bot.i18n.plain import PLAIN_WORDINGS
from tests.conftest import RecordingAdapter, command, joined, says

CATALOGS = Catalogs.load([locales_dir()])
LOWER_SECONDARY_GRADE = 9.0  # Flesch-Kincaid grade at the end of lower secondary school


def grade(text: str) -> float:
    """Flesch-Kincaid grade; each line of a list is read as a sentence of its own."""
    return float(textstat.flesch_kincaid_grade(text.replace("\n", ".\n")))


def is_emoji(char: str) -> bool:
    return unicodedata.category(char) == "So" and ord(char) >= 0x2190


def forms(text: str | tuple[str, ...]) -> tuple[str, ...]:
    return (text,) if isinstance(text, str) else text


def last_question(adapter: RecordingAdapter) -> Ask:
    asks = [a for a in adapter.sent if isinstance(a, Ask)]
    assert asks, "no question was asked"
    return asks[-1]


@pytest.mark.parametrize("code", CATALOGS.available)
def test_at_most_one_emoji_per_message_and_never_first(code: str) -> None:
    """Screen readers read every emoji by name; one at most, never before the words."""
    for msgid, text in CATALOGS.entries(code).items():
        for form in forms(text):
            assert sum(map(is_emoji, form)) <= 1, f"{code} {msgid}"
            assert not (form and is_emoji(form.lstrip()[:1] or " ")), f"{code} {msgid}"


@pytest.mark.parametrize("code", CATALOGS.available)
def test_every_button_label_has_a_word(code: str, engine: Engine) -> None:
    """No emoji-only or number-only labels: every choice in every dialog, in every
    language, has a letter a screen reader can say."""
    translator = CATALOGS.translator(code)
    labels = [
        translator.format(choice.label)
        for dialog in engine.services.dialogs.values()
        for step in dialog.steps.values()
        if step.ask is not None
        for choice in step.ask.choices
    ]
    labels += [translator.format(m) for m in ("common.talk_to_person", "language.other")]
    labels += [display_name(c) for c in engine.services.languages]
    for label in labels:
        assert any(unicodedata.category(ch).startswith("L") for ch in label), (code, label)


def test_code_of_conduct_summaries_read_at_lower_secondary_level(engine: Engine) -> None:
    """WCAG 3.1.5: the plain summary of each section reads at lower-secondary level.
    The figures (Flesch-Kincaid grade, Flesch reading ease) are printed with -s."""
    english = CATALOGS.translator("en")
    for section in engine.services.coc.sections:
        summary = english.gettext(f"coc.{section.id}.summary")
        level = grade(summary)
        ease = textstat.flesch_reading_ease(summary)
        print(f"{section.id}: grade {level}, reading ease {ease}")
        assert level <= LOWER_SECONDARY_GRADE, (section.id, level)


def test_plain_wordings_are_easier_and_shorter() -> None:
    english = CATALOGS.translator("en")
    for plain in PLAIN_WORDINGS:
        usual = english.ngettext(plain.removesuffix(".plain"), "", 2)
        simple = english.gettext(plain)
        assert len(simple) < len(usual), plain
        assert grade(simple) <= LOWER_SECONDARY_GRADE, plain
    for code in CATALOGS.available:
        entries = CATALOGS.entries(code)
        for plain in PLAIN_WORDINGS & set(entries):
            usual = forms(entries.get(plain.removesuffix(".plain"), ""))[-1]
            assert len(forms(entries[plain])[0]) < len(usual) or not usual, (code, plain)


async def test_plain_mode_uses_the_short_wording_until_turned_off(
    engine: Engine, adapter: RecordingAdapter
) -> None:
    english = CATALOGS.translator("en")
    await engine.handle(joined("ana"))
    await engine.handle(command("ana", "/plain"))
    await engine.handle(command("ana", "/help"))
    first_line = english.gettext("common.help.plain").split("\n")[0]
    assert adapter.texts("ana")[-1].split("\n")[0] == first_line
    await engine.handle(command("ana", "/plain"))
    await engine.handle(command("ana", "/help"))
    assert adapter.texts("ana")[-1].split("\n")[0] == english.gettext("common.help").split("\n")[0]


async def test_a_step_never_expires_and_continue_resumes_it(
    engine: Engine, adapter: RecordingAdapter, clock: ManualClock
) -> None:
    """WCAG 2.2.1: no time limit on answering; after two months the question waits."""
    await engine.handle(joined("ana"))
    await engine.handle(says("ana", "1"))  # English; the walkthrough begins
    asked = last_question(adapter).text
    clock.advance(timedelta(days=60))
    adapter.take()
    await engine.handle(command("ana", "/continue"))
    assert last_question(adapter).text == asked


async def test_languages_by_own_name_and_any_language_by_typing(
    engine: Engine, adapter: RecordingAdapter
) -> None:
    """The list shows the likely languages by their own names; any other is found by
    its name in any spelling, listed or not, and the choice beats the platform."""
    await engine.handle(joined("ana", locale="en-US"))
    shown = last_question(adapter).choices
    keys = [c.key.partition("~")[0] for c in shown]  # a key, then its question's mark
    languages = [(k, c) for k, c in zip(keys, shown, strict=True) if k in engine.services.languages]
    assert [c.label for _, c in languages] == [display_name(k) for k, _ in languages]
    assert len(shown) <= 8  # a short list: the rest by name
    assert "sw" not in keys
    await engine.handle(says("ana", "kiswahili", locale="en-US"))  # not listed, typed
    swahili = CATALOGS.translator("sw")
    assert swahili.format("onboarding.walk_question") in last_question(adapter).text

    await engine.handle(joined("ben", locale="en-US"))
    other = next(c for c in last_question(adapter).choices if c.key.startswith("other~"))
    await engine.handle(says("ben", other.label))
    assert "Deutsch" in last_question(adapter).text  # every language by its own name
    await engine.handle(says("ben", "Klingon"))
    assert CATALOGS.translator("en").gettext("language.not_found") in adapter.texts("ben")
    await engine.handle(says("ben", "german"))
    german = CATALOGS.translator("de")
    assert german.format("onboarding.walk_question") in last_question(adapter).text
