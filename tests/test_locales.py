"""Locale tags as platforms send them, and text that must stay readable."""

from __future__ import annotations

import pytest

from bot.i18n.locales import (
    clean_user_text,
    display_name,
    fallback_chain,
    is_rtl,
    isolate,
    negotiate,
    normalize_tag,
    text_direction,
)

AVAILABLE = ["en", "ar", "es-419", "gsw", "he", "id", "nb", "pt-BR", "zh-Hans", "zh-Hant"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("pt_br", "pt-BR"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("EN-us", "en-US"),
        (" es-419 ", "es-419"),
        ("zh-CN", "zh-Hans"),
        ("zh-SG", "zh-Hans"),
        ("zh-TW", "zh-Hant"),
        ("zh-HK", "zh-Hant"),
        ("zh-MO", "zh-Hant"),
        ("zh", "zh-Hans"),
        ("no", "nb"),
        ("iw", "he"),
        ("in", "id"),
        ("tl", "fil"),
        ("als", "gsw"),
        ("simple", "en"),
        ("sr-ec", "sr-Cyrl"),
        ("sr-el", "sr-Latn"),
        ("zh-yue", "yue"),
        ("be-x-old", "be-tarask"),
        ("pt", "pt"),
    ],
)
def test_normalize_tag_spells_platform_tags_canonically(raw: str, expected: str) -> None:
    assert normalize_tag(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [None, "", "   ", "e", "123", "en US", "en--US", "-en", "ënglish", "en-x", "x" * 36, "a" * 9],
)
def test_normalize_tag_refuses_garbage_without_raising(raw: str | None) -> None:
    assert normalize_tag(raw) is None


def test_als_is_alemannic_not_albanian() -> None:
    assert normalize_tag("als") == "gsw"
    assert display_name("als") == "Schwiizertüütsch"
    assert negotiate(["als"], ["en", "sq", "gsw"], "en") == "gsw"
    assert negotiate(["als"], ["en", "sq"], "en") == "en"


@pytest.mark.parametrize(
    ("tag", "chain"),
    [
        ("pt-BR", ["pt-BR", "pt"]),
        ("zh-Hant-TW", ["zh-Hant-TW", "zh-Hant", "zh"]),
        ("es-419", ["es-419", "es"]),
        ("en-US-x-discord", ["en-US-x-discord", "en-US", "en"]),
        ("garbage tag", []),
    ],
)
def test_fallback_chain(tag: str, chain: list[str]) -> None:
    assert fallback_chain(tag) == chain


def test_explicit_choice_beats_platform_locale() -> None:
    assert negotiate(["ar", "en-US"], AVAILABLE, "en") == "ar"
    assert negotiate([None, "he"], AVAILABLE, "en") == "he"


def test_regional_tag_falls_back_to_its_language() -> None:
    assert negotiate(["pt-BR"], ["en", "pt"], "en") == "pt"
    assert negotiate(["es-MX"], ["en", "es"], "en") == "es"


def test_discord_locales_reach_the_right_catalog() -> None:
    assert negotiate(["zh-CN"], AVAILABLE, "en") == "zh-Hans"
    assert negotiate(["zh-TW"], AVAILABLE, "en") == "zh-Hant"
    assert negotiate(["no"], AVAILABLE, "en") == "nb"
    assert negotiate(["iw"], AVAILABLE, "en") == "he"
    assert negotiate(["es-ES"], AVAILABLE, "en") == "es-419"


def test_bare_language_finds_the_preferred_regional_catalog() -> None:
    assert negotiate(["pt"], AVAILABLE, "en") == "pt-BR"
    assert negotiate(["pt"], ["en", "pt-PT", "pt-BR"], "en") == "pt-BR"
    assert negotiate(["pt-PT"], ["en", "pt-BR"], "en") == "pt-BR"


def test_traditional_chinese_reader_is_not_sent_to_simplified() -> None:
    assert negotiate(["zh-Hant-TW", "ja"], ["en", "ja", "zh-Hans"], "en") == "ja"


def test_garbage_candidates_are_skipped_and_default_used() -> None:
    assert negotiate(["!!", "", None, "xx-Zzzz-99999999999"], AVAILABLE, "en") == "en"
    assert negotiate(["!!", "fr"], AVAILABLE, "en") == "en"
    assert negotiate(["!!", "he"], AVAILABLE, "en") == "he"


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("es", "Español"),
        ("fr", "Français"),
        ("ar", "العربية"),
        ("fa", "فارسی"),
        ("hi", "हिन्दी"),
        ("sw", "Kiswahili"),
        ("id", "Bahasa Indonesia"),
        ("pt-BR", "Português (Brasil)"),
        ("zh-Hans", "中文 (简体)"),
        ("ka", "ქართული"),
        ("no", "Norsk bokmål"),
    ],
)
def test_display_name_in_own_script(code: str, name: str) -> None:
    assert display_name(code) == name


def test_display_name_of_unknown_code_is_the_code() -> None:
    assert display_name("qq") == "qq"
    assert display_name("not a code") == "not a code"


@pytest.mark.parametrize("code", ["ar", "fa", "he", "ur", "ckb", "ps", "sd", "ug", "yi", "dv"])
def test_right_to_left_languages(code: str) -> None:
    assert text_direction(code) == "rtl"
    assert is_rtl(code)


@pytest.mark.parametrize("code", ["en", "es", "zh-Hant", "hi", "tr", "", "garbage!!", "qq"])
def test_left_to_right_and_unknown(code: str) -> None:
    assert text_direction(code) == "ltr"


def test_explicit_arabic_script_is_rtl_even_where_babel_drops_it() -> None:
    assert text_direction("ku-Arab") == "rtl"
    assert text_direction("ku") == "ltr"


def test_isolate_wraps_only_in_rtl() -> None:
    assert isolate("/continue", "ar") == "\u2068/continue\u2069"
    assert isolate("Sam 42", "he-IL") == "\u2068Sam 42\u2069"
    assert isolate("/continue", "en") == "/continue"


def test_clean_user_text_removes_bidi_override() -> None:
    spoofed = "invoice\u202egnp.exe"
    cleaned = clean_user_text(spoofed)
    assert cleaned == "invoicegnp.exe"
    for control in "\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069":
        assert control not in clean_user_text(f"a{control}b")


def test_clean_user_text_removes_controls_but_keeps_lines_and_tabs() -> None:
    assert clean_user_text("  a\x00b\x07c\x1b[31m\x85d\x7f\n\te\r\nf  ") == "abc[31md\n\te\nf"


def test_clean_user_text_keeps_right_to_left_marks_and_normalizes() -> None:
    assert clean_user_text("שלום\u200f") == "שלום\u200f"
    assert clean_user_text("Jose\u0301") == "José"


def test_clean_user_text_truncates_with_ellipsis() -> None:
    assert clean_user_text("abcdefgh", limit=5) == "abcd…"
    assert len(clean_user_text("x" * 5000)) == 2000
    assert clean_user_text("short", limit=5) == "short"
