"""The code of conduct: loading, mistakes named precisely, finding and searching sections."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.conduct.document import (
    CodeOfConduct,
    Lookup,
    Section,
    catalog_entries,
    coc_title,
    find_section,
    forget_search_indexes,
    load_coc,
    load_coc_text,
    localized,
    no_translation,
    search,
    section_texts,
)
from bot.core.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "community" / "code-of-conduct.yaml"

MINIMAL = """\
title: Rules
version: "1"
language: en
sections:
  - id: be-kind
    title: Be kind
    summary: Treat people well.
    ok: [Say thanks.]
    not_ok: [Insults.]
    walkthrough: true
  - id: privacy
    title: Privacy
    summary: Keep secrets.
    ok: [Ask first.]
    not_ok: [Posting addresses.]
"""


@pytest.fixture(scope="module")
def coc() -> CodeOfConduct:
    return load_coc(EXAMPLE)


@pytest.fixture(autouse=True)
def _fresh_indexes() -> None:
    forget_search_indexes()


def ids(sections: list[Section]) -> list[str]:
    return [section.id for section in sections]


# --- the shipped example ------------------------------------------------------------


def test_example_loads_with_a_short_walkthrough(coc: CodeOfConduct) -> None:
    assert coc.version == "2026-11"
    assert coc.language == "en"
    assert 7 <= len(coc.sections) <= 8
    assert [section.number for section in coc.sections] == list(range(1, len(coc.sections) + 1))
    assert 2 <= len(coc.walkthrough_sections()) <= 4
    for section in coc.sections:
        assert len(section.summary) <= 300, section.id
        assert 2 <= len(section.ok) <= 3, section.id
        assert 2 <= len(section.not_ok) <= 3, section.id


def _syllables(word: str) -> int:
    count = len(re.findall(r"[aeiouy]+", word.lower()))
    if word.lower().endswith("e") and not word.lower().endswith(("le", "ee")) and count > 1:
        count -= 1
    return max(1, count)


def test_example_reads_at_lower_secondary_level(coc: CodeOfConduct) -> None:
    """Many members read in a second language: short sentences, short words."""
    sentences = [
        part
        for _, _, text in catalog_entries(coc)
        for part in re.split(r"[.!?]+", text)
        if part.strip()
    ]
    all_words = [word for part in sentences for word in re.findall(r"[A-Za-z']+", part)]
    grade = (
        0.39 * len(all_words) / len(sentences)
        + 11.8 * sum(map(_syllables, all_words)) / len(all_words)
        - 15.59
    )
    assert grade <= 8.0
    assert max(len(re.findall(r"[A-Za-z']+", part)) for part in sentences) <= 20


def test_example_covers_the_topics_members_ask_about(coc: CodeOfConduct) -> None:
    assert {"be-kind", "no-harassment", "privacy", "safety", "report"} <= {
        section.id for section in coc.sections
    }


# --- validation: every mistake names file, line and key ----------------------------


@pytest.mark.parametrize(
    ("old", "new", "line", "key", "words"),
    [
        ('version: "1"\n', "", 1, "version", "missing"),
        ('version: "1"\n', "version: 2026\n", 2, "version", "quoted"),
        ("language: en\n", "language: en\ncolour: blue\n", 4, "colour", "unknown key"),
        ("    title: Privacy\n", "", 11, "sections[1].title", "missing"),
        ("    summary: Keep secrets.\n", "    summary: '  '\n", 13, "sections[1].summary", "empty"),
        ("    summary: Keep secrets.\n", "    summary: [a]\n", 13, "sections[1].summary", "text"),
        ("id: privacy", "id: Privacy!", 11, "sections[1].id", "a-z"),
        ("id: privacy", "id: be-kind", 11, "sections[1].id", "duplicate"),
        ("id: privacy", "id: '42'", 11, "sections[1].id", "digits"),
        ("[Ask first.]", "[]", 14, "sections[1].ok", "at least one"),
        ("[Ask first.]", "[Ask first., 7]", 14, "sections[1].ok[1]", "text"),
        ("[Insults.]", '["Insults of {name}"]', 9, "sections[0].not_ok[0]", "{ or }"),
        ("    walkthrough: true\n", "", 4, "sections", "walkthrough"),
        (
            "    walkthrough: true\n",
            "    walkthrough: maybe\n",
            10,
            "sections[0].walkthrough",
            "true",
        ),
        (
            "    walkthrough: true\n",
            "    walkthrough: true\n    colour: red\n",
            11,
            "sections[0].colour",
            "unknown",
        ),
    ],
)
def test_mistakes_name_file_line_and_key(
    old: str, new: str, line: int, key: str, words: str
) -> None:
    assert old in MINIMAL
    text = MINIMAL.replace(old, new, 1)
    with pytest.raises(ConfigError) as caught:
        load_coc_text(text, "rules.yaml")
    error = caught.value
    assert (error.file, error.line, error.key) == ("rules.yaml", line, key)
    assert words in error.message
    assert str(error).startswith(f"rules.yaml:{line}: {key}:")


def test_no_sections_is_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        load_coc_text('title: Rules\nversion: "1"\nlanguage: en\nsections: []\n', "rules.yaml")
    assert (caught.value.line, caught.value.key) == (4, "sections")


def test_broken_file_on_disk_is_named(tmp_path: Path) -> None:
    path = tmp_path / "code-of-conduct.yaml"
    path.write_text(MINIMAL.replace("title: Be kind", "title: 5"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_coc(path)
    assert (caught.value.file, caught.value.line) == (str(path), 6)
    assert caught.value.key == "sections[0].title"


# --- translations and fallback ------------------------------------------------------

SPANISH = {
    "coc.title": "Nuestro código de conducta",
    "coc.be-kind.title": "Sé amable",
    "coc.no-harassment.title": "Nada de acoso",
    "coc.no-harassment.summary": (
        "No acoses a nadie. El acoso es atención no deseada, insultos o presión que siguen "
        "después de que la persona pidió que pararas, en público o en mensajes privados."
    ),
    "coc.no-harassment.not_ok.1": (
        "Enviar mensajes privados una y otra vez después de que la persona dijo que no."
    ),
    "coc.privacy.title": "Respeta la privacidad",
    "coc.privacy.summary": (
        "No compartas datos personales de nadie sin su permiso: nombre real, dirección, "
        "fotos, trabajo o mensajes privados."
    ),
    "coc.report.title": "Cómo denunciar y qué pasa después",
    "coc.report.summary": "Si ves algo que rompe estas reglas, envía una denuncia privada al bot.",
}

JAPANESE = {
    "coc.no-harassment.title": "嫌がらせの禁止",
    "coc.no-harassment.summary": (
        "誰にも嫌がらせをしないでください。やめてと言われた後も続く、望まれない接触、侮辱、"
        "圧力は嫌がらせです。公開の場でも個人メッセージでも同じです。"
    ),
    "coc.no-harassment.not_ok.1": "断られた後も何度も個人メッセージを送ること。",
    "coc.privacy.title": "プライバシーを守る",
    "coc.privacy.summary": (
        "本人の許可なく、本名、住所、写真、職場などの個人情報を共有しないでください。"
    ),
    "coc.safety.title": "安全と緊急時",
    "coc.safety.summary": (
        "暴力の脅しは許されません。命の危険があるときは、まず緊急番号に電話してください。"
    ),
}


ARABIC = {
    "coc.no-harassment.title": "لا للتحرش",
    "coc.no-harassment.summary": (
        "لا تتحرش بأحد. التحرش هو اهتمام غير مرغوب فيه أو إهانات أو ضغط يستمر بعد أن طلب "
        "الشخص منك التوقف، في العلن أو في الرسائل الخاصة."
    ),
    "coc.privacy.title": "احترم الخصوصية",
    "coc.privacy.summary": (
        "لا تشارك المعلومات الشخصية لأي أحد دون إذنه: الاسم الحقيقي، العنوان، الصور، مكان العمل."
    ),
}

HINDI = {
    "coc.no-harassment.title": "उत्पीड़न नहीं",
    "coc.no-harassment.summary": (
        "किसी को परेशान न करें। उत्पीड़न का मतलब है अनचाहा ध्यान, अपमान या दबाव जो व्यक्ति के "
        "रोकने के लिए कहने के बाद भी जारी रहे, सार्वजनिक रूप से या निजी संदेशों में।"
    ),
    "coc.safety.title": "सुरक्षा और आपात स्थिति",
    "coc.safety.summary": (
        "हिंसा की धमकी कभी ठीक नहीं है। अगर किसी की जान खतरे में है, तो पहले आपातकालीन नंबर पर फ़ोन करें।"
    ),
}


def as_lookup(table: dict[str, str]) -> Lookup:
    return table.get


def test_untranslated_text_falls_back_to_the_written_text(coc: CodeOfConduct) -> None:
    spanish = as_lookup(SPANISH)
    harassment = find_section(coc, "no-harassment", spanish)
    assert harassment is not None
    texts = section_texts(harassment, spanish)
    assert texts["title"] == "Nada de acoso"
    assert texts["not_ok"][0].startswith("Enviar mensajes privados")
    assert texts["not_ok"][1] == harassment.not_ok[1]  # not translated yet: English
    assert texts["details"] == harassment.details
    assert len(texts["ok"]) == len(harassment.ok)
    assert coc_title(coc, spanish) == "Nuestro código de conducta"
    assert coc_title(coc, no_translation) == coc.title


def test_a_gettext_style_lookup_never_shows_a_raw_message_id(coc: CodeOfConduct) -> None:
    """gettext returns the msgid itself when a message is missing."""
    section = coc.sections[0]
    assert localized(section, "title", lambda msgid: msgid) == section.title
    assert localized(section, "ok", lambda msgid: "", n=1) == section.ok[0]
    with pytest.raises(ValueError):
        localized(section, "ok", no_translation, n=len(section.ok) + 1)


def test_catalog_entries_point_translators_at_the_right_lines(coc: CodeOfConduct) -> None:
    from bot.core.yamlsource import load_yaml_file

    doc = load_yaml_file(EXAMPLE)
    entries = catalog_entries(coc, doc)
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    msgids = [msgid for _, msgid, _ in entries]
    assert len(set(msgids)) == len(msgids)
    assert msgids[:3] == ["coc.title", "coc.be-kind.title", "coc.be-kind.summary"]
    assert "coc.be-kind.ok.1" in msgids and "coc.privacy.not_ok.3" in msgids
    assert not any(".keywords" in msgid for msgid in msgids)
    assert [line for line, _, _ in entries] == sorted(line for line, _, _ in entries)
    for line, msgid, text in entries:
        if msgid.endswith(".title") or ".ok." in msgid or ".not_ok." in msgid:
            assert text in lines[line - 1], msgid


# --- find_section -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("3", 3),
        ("#3", 3),
        (" 1 ", 1),
        ("٣", 3),  # Arabic-Indic digit
        ("privacy", 5),
        ("be-kind", 1),
        ("Be Kind", 1),
        ("harass", 4),
        ("welcome new", 2),
        ("SAFETY", 6),
    ],
)
def test_find_section_by_number_id_or_title_words(
    coc: CodeOfConduct, query: str, expected: int
) -> None:
    section = find_section(coc, query, no_translation)
    assert section is not None and section.number == expected


@pytest.mark.parametrize("query", ["0", "9", "99", "", "  ", "b", "zebra crossing"])
def test_find_section_without_a_match_is_none(coc: CodeOfConduct, query: str) -> None:
    assert find_section(coc, query, no_translation) is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("se amable", "be-kind"),  # no accent typed, title is "Sé amable"
        ("PRIVACIDAD", "privacy"),
        ("acos", "no-harassment"),  # start of "acoso"
        ("Respect privacy", "privacy"),  # the written English title still works
    ],
)
def test_find_section_by_title_in_the_members_language(
    coc: CodeOfConduct, query: str, expected: str
) -> None:
    found = find_section(coc, query, as_lookup(SPANISH))
    assert found is not None and found.id == expected


def test_find_section_by_a_japanese_title_without_spaces(coc: CodeOfConduct) -> None:
    found = find_section(coc, "プライバシー", as_lookup(JAPANESE))
    assert found is not None and found.id == "privacy"


# --- search ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("someone keeps sending me nasty private messages", "no-harassment"),
        ("somebody DMs me creepy stuff every day", "no-harassment"),
        ("someone posted my home address in the chat", "privacy"),
        ("Is it ok to share a screenshot of a chat?", "privacy"),
        ("he threatened to kill me", "safety"),
        ("how do I complain about a mod", "report"),
        ("I got banned and I think it is unfair", "fair-consequences"),
        ("people laugh at my english", "be-kind"),
        ("we keep arguing about the article", "disagree-well"),
        ("I'm new and nobody answers my questions", "welcome-newcomers"),
    ],
)
def test_search_finds_the_section_a_member_means(
    coc: CodeOfConduct, question: str, expected: str
) -> None:
    results = search(coc, question, no_translation, locale="en")
    assert results and results[0].id == expected
    assert len(results) <= 3


def test_search_in_spanish_with_accents_and_capitals(coc: CodeOfConduct) -> None:
    spanish = as_lookup(SPANISH)
    results = search(coc, "Alguien me envía MENSAJES privados y no para", spanish, locale="es")
    assert ids(results)[0] == "no-harassment"
    results = search(coc, "publicaron mi direccion y mis fotos", spanish, locale="es")
    assert ids(results)[0] == "privacy"


def test_search_in_japanese_without_spaces(coc: CodeOfConduct) -> None:
    japanese = as_lookup(JAPANESE)
    results = search(coc, "何度も個人メッセージが来て困っています", japanese, locale="ja")
    assert ids(results)[0] == "no-harassment"
    results = search(coc, "住所を勝手に共有された", japanese, locale="ja")
    assert ids(results)[0] == "privacy"


def test_search_in_arabic_ignores_short_vowels_and_the_article(coc: CodeOfConduct) -> None:
    arabic = as_lookup(ARABIC)
    # "someone sends me annoying private messages", written with vowel marks
    results = search(coc, "شخصٌ يرسل لي رسائلَ خاصّة مزعجة", arabic, locale="ar")
    assert ids(results)[0] == "no-harassment"
    # "someone published my address"
    assert ids(search(coc, "نشر أحدهم عنواني", arabic, locale="ar"))[0] == "privacy"


def test_search_in_hindi_keeps_vowel_signs_working(coc: CodeOfConduct) -> None:
    hindi = as_lookup(HINDI)
    # "someone keeps sending me private messages"
    results = search(coc, "कोई मुझे बार बार निजी संदेश भेज रहा है", hindi, locale="hi")
    assert ids(results)[0] == "no-harassment"
    # "someone threatened me"
    assert ids(search(coc, "किसी ने मुझे धमकी दी", hindi, locale="hi"))[0] == "safety"


def test_cached_indexes_do_not_mix_languages(coc: CodeOfConduct) -> None:
    japanese, spanish = as_lookup(JAPANESE), as_lookup(SPANISH)
    assert ids(search(coc, "個人メッセージ", japanese, locale="ja"))[0] == "no-harassment"
    assert search(coc, "個人メッセージ", spanish, locale="es") == []
    assert ids(search(coc, "mensajes privados", spanish, locale="es"))[0] == "no-harassment"
    assert ids(search(coc, "個人メッセージ", japanese, locale="ja"))[0] == "no-harassment"


@pytest.mark.parametrize("question", ["", "   ", "?!", "the and of", "xylophone quartz"])
def test_search_without_a_match_is_empty(coc: CodeOfConduct, question: str) -> None:
    assert search(coc, question, no_translation, locale="en") == []


def test_search_respects_the_limit(coc: CodeOfConduct) -> None:
    question = "report harassment threats privacy"
    assert len(search(coc, question, no_translation, limit=1)) == 1
    assert search(coc, question, no_translation, limit=0) == []
