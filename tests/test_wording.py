"""Words that can mislead someone at risk, read beside the English: each corrected term
is pinned here so a later edit cannot bring the old one back. Every other catalog stays
a draft until a native speaker reviews it."""

from __future__ import annotations

import re

import pytest

from bot.core.resources import locales_dir
from bot.i18n.catalogs import Catalogs, Translator
from bot.i18n.locales import FSI, PDI, display_name, sentence_name

CATALOGS = Catalogs.load([locales_dir()])


def tr(code: str) -> Translator:
    return CATALOGS.translator(code)


def text(code: str, msgid: str) -> str:
    found = tr(code).gettext(msgid)
    assert found != msgid, f"{code}: {msgid} is missing"
    return found


# The code of conduct's "nickname" (people use one to stay safe) and the report's own
# term for an alias, in the languages where both were once the same word.
NICKNAME_AND_ALIAS = {
    "ar": ("مستعار", "رمز"),
    "sw": ("jina la utani", "jina la msimbo"),
    "pt-BR": ("apelido", "codinome"),
    "id": ("nama samaran", "nama kode"),
    "ckb": ("خوازراو", "کۆدی ڕاپۆرت"),
    "el": ("ψευδώνυμ", "κωδικό όνομα"),
    "fa": ("نام مستعار", "کد گزارش"),
    "he": ("כינוי", "שם קוד"),
    "ro": ("pseudonim", "nume de cod"),
    "ta": ("புனைப்பெயர", "குறியீட்டுப் பெயர"),
    "tr": ("takma ad", "kod adı"),
    "ur": ("فرضی نام", "رپورٹ کوڈ"),
    "fr": ("pseudo", "nom de code"),
}


@pytest.mark.parametrize("code", sorted(NICKNAME_AND_ALIAS))
def test_a_report_alias_is_not_called_a_nickname(code: str) -> None:
    nickname, alias = NICKNAME_AND_ALIAS[code]
    assert nickname in text(code, "coc.privacy.not_ok.2").lower()
    for msgid in ("report.identity", "report.identity_pseudonymous"):
        offered = text(code, msgid).lower()
        assert nickname not in offered and alias in offered, (code, msgid, offered)


def test_the_alias_is_explained_where_it_is_offered() -> None:
    assert "a code made only for this report" in text("en", "report.identity")
    for code, (_, alias) in NICKNAME_AND_ALIAS.items():
        # Named, then defined: "... or a report code? A report code is ..."
        assert text(code, "report.identity").lower().count(alias) >= 2, code


def test_central_kurdish_says_emergency_not_sudden() -> None:
    assert all("لەناکاو" not in tr("ckb").gettext(m) for m in CATALOGS.message_ids("en"))
    for msgid in ("report.kind_emergency", "coc.safety.title", "coc.safety.details"):
        assert "فریاکەوتن" in text("ckb", msgid)


def test_russian_says_confidential_not_personally_and_one_word_for_emergency() -> None:
    for msgid in ("report.intro", "command.report", "mediation.to_report", "coc.report.summary"):
        found = text("ru", msgid)
        assert not re.search(r"(?i)\bличн", found) and "конфиденциальн" in found.lower(), msgid
    for msgid in ("coc.safety.summary", "coc.safety.details"):
        assert "срочное обращение" not in text("ru", msgid)
        assert "экстренное обращение" in text("ru", msgid)


def test_privately_is_never_personally_in_russian_or_ukrainian() -> None:
    """ "Privately" (only the member and the team) is not "personally" (лично, особисто,
    особисте): a member could think they must speak to a moderator in person. The plural
    (особисті повідомлення) stays allowed: it names direct messages."""
    for language, personally in (("ru", r"(?i)\bлично\b"), ("uk", r"(?i)\bособист(о|е|ий|а)\b")):
        for msgid in (
            "common.answered_privately",
            "mediation.to_report",
            "mediation.private_usage",
            "command.report",
            "report.intro",
        ):
            assert not re.search(personally, text(language, msgid)), (language, msgid)
    for msgid in ("command.report", "report.intro"):
        assert "конфіденційн" in text("uk", msgid).lower(), msgid


def test_the_german_emergency_alert_says_what_is_at_stake() -> None:
    alert = text("de", "report.emergency_notice")
    assert "vielleicht verletzt" not in alert and "in Gefahr" in alert


def test_swahili_not_quite_does_not_read_completely_wrong() -> None:
    for msgid in ("onboarding.check_wrong", "onboarding.check_wrong.plain"):
        assert "kabisa" not in text("sw", msgid) and text("sw", msgid).startswith("Bado kidogo")


def test_indonesian_ban_and_block_are_different_words() -> None:
    assert "Blokir" in text("id", "coc.no-harassment.ok.2")  # a member's own block
    consequences = text("id", "coc.fair-consequences.details")  # a moderator's ban
    assert "blokir" not in consequences.lower() and "dikeluarkan" in consequences


def test_the_public_welcome_names_the_typed_way_in() -> None:
    assert "Press the button" not in text("en", "onboarding.welcome_public")
    for code in CATALOGS.available:
        welcome = text(code, "onboarding.welcome_public")
        assert "/start" in welcome, code  # the typed way
        # The button is named by its label, so a reader who cannot press it knows
        # what it is.
        assert text(code, "onboarding.open_private").casefold() in welcome.casefold(), code


def test_reporting_is_named_by_its_command_where_members_learn_it() -> None:
    for code in CATALOGS.available:
        for msgid in ("coc.report.summary", "coc.safety.details"):
            assert "/report" in text(code, msgid), (code, msgid)


def test_language_names_inside_sentences_follow_cldr_case() -> None:
    assert (display_name("es"), sentence_name("es")) == ("Español", "español")
    assert sentence_name("fr") == "français" and sentence_name("pt-BR").startswith("português")
    assert sentence_name("de") == "Deutsch" and sentence_name("id") == "Bahasa Indonesia"


def test_arabic_number_examples_are_isolated() -> None:
    for msgid in ("onboarding.interests_question", "onboarding.interests_question.plain"):
        assert f"{FSI}1 3{PDI}" in tr("ar").format(msgid), msgid
    assert f"{FSI}1 3{PDI}" not in tr("en").format("onboarding.interests_question")


def test_every_catalog_but_english_is_still_a_draft() -> None:
    for code in CATALOGS.available:
        assert tr(code).review_status == ("reviewed" if code == "en" else "draft"), code
