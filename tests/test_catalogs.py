"""gettext catalogs with symbolic ids: fallbacks, plurals, placeholders, validation."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.core.errors import ConfigError
from bot.i18n.catalogs import Catalogs
from bot.i18n.filling import placeholders, substitute

REPO_LOCALES = Path(__file__).resolve().parent.parent / "locales"

PLURAL_FORMS = {
    "en": "nplurals=2; plural=(n != 1);",
    "pt": "nplurals=2; plural=(n > 1);",
    "ar": (
        "nplurals=6; plural=n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : "
        "n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5;"
    ),
}

Entry = str | tuple[str, ...]


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def write_po(
    root: Path,
    lang: str,
    entries: dict[str, Entry],
    *,
    language: str | None = None,
    status: str | None = "reviewed",
    plural_forms: str | None = None,
    extra: str = "",
) -> Path:
    """Write ``root/<lang>/LC_MESSAGES/messages.po``; plural ids get ``<id>.plural``."""
    code = language if language is not None else lang.replace("_", "-")
    header = [f"Language: {code}"] if code else []
    default_forms = PLURAL_FORMS.get(code.split("-")[0], PLURAL_FORMS["en"])
    forms = default_forms if plural_forms is None else plural_forms
    if forms:
        header.append(f"Plural-Forms: {forms}")
    if status is not None:
        header.append(f"X-Review-Status: {status}")
    lines = ['msgid ""', 'msgstr ""', *(quote(h + "\n") for h in header), ""]
    for msgid, text in entries.items():
        if isinstance(text, tuple):
            lines += [f"msgid {quote(msgid)}", f"msgid_plural {quote(msgid + '.plural')}"]
            lines += [f"msgstr[{i}] {quote(form)}" for i, form in enumerate(text)]
        else:
            lines += [f"msgid {quote(msgid)}", f"msgstr {quote(text)}"]
        lines.append("")
    path = root / lang / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + extra, encoding="utf-8")
    return path


ENGLISH: dict[str, Entry] = {
    "greet": "Welcome, {name}!",
    "rules": "Please read the rules.",
    "only.english": "Only in English.",
    "days": ("{n} day left", "{n} days left"),
}


@pytest.fixture
def catalogs(tmp_path: Path) -> Catalogs:
    write_po(tmp_path, "en", ENGLISH)
    write_po(tmp_path, "pt", {"greet": "Olá, {name}!", "rules": "Leia as regras."})
    write_po(tmp_path, "pt_BR", {"greet": "Bem-vindo, {name}!", "rules": ""}, status="draft")
    return Catalogs.load([tmp_path])


def test_available_codes_are_hyphenated_with_english_first(catalogs: Catalogs) -> None:
    assert catalogs.available == ["en", "pt", "pt-BR"]


def test_pt_br_falls_back_to_pt_before_english(catalogs: Catalogs) -> None:
    t = catalogs.translator("pt-BR")
    assert t.locale == "pt-BR"
    assert t.format("greet", name="Ana") == "Bem-vindo, Ana!"
    assert t.gettext("rules") == "Leia as regras."  # empty pt-BR msgstr is missing
    assert t.lookup("rules") == "Leia as regras."
    assert t.gettext("only.english") == "Only in English."
    assert t.lookup("only.english") is None
    assert t.gettext("no.such.id") == "no.such.id"


def test_platform_spellings_reach_the_catalog(catalogs: Catalogs) -> None:
    assert catalogs.translator("pt_br").locale == "pt-BR"
    assert catalogs.translator("pt-PT").gettext("rules") == "Leia as regras."
    assert catalogs.translator("ja").locale == "en"
    assert catalogs.translator("ja").gettext("greet") == "Welcome, {name}!"
    assert catalogs.translator("!!garbage").locale == "en"


def test_review_status_comes_from_the_header(tmp_path: Path) -> None:
    write_po(tmp_path, "en", ENGLISH)
    write_po(tmp_path, "fr", {"greet": "Bienvenue, {name} !"}, status="draft")
    write_po(tmp_path, "de", {"greet": "Willkommen, {name}!"}, status="reviewed")
    write_po(tmp_path, "it", {"greet": "Benvenuto, {name}!"}, status=None)
    cats = Catalogs.load([tmp_path])
    assert cats.translator("fr").review_status == "draft"
    assert cats.translator("de").review_status == "reviewed"
    assert cats.translator("it").review_status == "draft"


def test_override_dir_replaces_texts_and_adds_languages(tmp_path: Path) -> None:
    shipped, admin = tmp_path / "shipped", tmp_path / "admin"
    write_po(shipped, "en", ENGLISH)
    write_po(shipped, "pt", {"greet": "Olá, {name}!", "rules": "Leia as regras."})
    write_po(admin, "pt", {"greet": "Oi, {name}!", "rules": ""})
    write_po(admin, "gsw", {"greet": "Grüezi, {name}!"}, language="gsw")
    cats = Catalogs.load([shipped, admin])
    cats.validate()
    assert cats.available == ["en", "gsw", "pt"]
    pt = cats.translator("pt")
    assert pt.format("greet", name="Rui") == "Oi, Rui!"
    assert pt.gettext("rules") == "Leia as regras."  # an empty override keeps the shipped text
    assert cats.translator("als").format("greet", name="Urs") == "Grüezi, Urs!"


def test_override_with_other_plural_rule_is_rejected(tmp_path: Path) -> None:
    write_po(tmp_path / "a", "en", ENGLISH)
    write_po(tmp_path / "a", "pt", {"greet": "Olá"})
    bad = write_po(tmp_path / "b", "pt", {"greet": "Oi"}, plural_forms="nplurals=1; plural=0;")
    with pytest.raises(ConfigError) as err:
        Catalogs.load([tmp_path / "a", tmp_path / "b"]).validate()
    assert err.value.file == str(bad)
    assert "Plural-Forms" in err.value.message


def test_a_draft_override_makes_the_language_draft(tmp_path: Path) -> None:
    write_po(tmp_path / "a", "en", ENGLISH)
    write_po(tmp_path / "a", "pt", {"greet": "Olá"})
    write_po(tmp_path / "b", "pt", {"rules": "Leia"}, status="draft")
    cats = Catalogs.load([tmp_path / "a"])
    assert cats.translator("pt").review_status == "reviewed"
    cats = Catalogs.load([tmp_path / "a", tmp_path / "b"])
    assert cats.translator("pt").review_status == "draft"


ARABIC_DAYS = ("لا أيام", "يوم واحد", "يومان", "{n} أيام", "{n} يومًا", "{n} يوم")


def test_arabic_uses_all_six_plural_forms(tmp_path: Path) -> None:
    write_po(tmp_path, "en", ENGLISH)
    write_po(tmp_path, "ar", {"days": ARABIC_DAYS})
    ar = Catalogs.load([tmp_path]).translator("ar")
    picked = {n: ar.ngettext("days", "days.plural", n) for n in (0, 1, 2, 3, 11, 100)}
    assert picked == {
        0: "لا أيام",
        1: "يوم واحد",
        2: "يومان",
        3: "{n} أيام",
        11: "{n} يومًا",
        100: "{n} يوم",
    }
    assert ar.nformat("days", "days.plural", 1005) == "1,005 أيام"


def test_english_plurals_and_formatted_count(catalogs: Catalogs) -> None:
    en = catalogs.translator("en")
    assert en.nformat("days", "days.plural", 1) == "1 day left"
    assert en.nformat("days", "days.plural", 12000) == "12,000 days left"
    # pt has no "days" entry: English plural rule and text are used
    assert catalogs.translator("pt").nformat("days", "days.plural", 0) == "0 days left"


def test_unknown_plural_id_falls_back_to_the_ids(catalogs: Catalogs) -> None:
    en = catalogs.translator("en")
    assert en.ngettext("x.one", "x.other", 1) == "x.one"
    assert en.ngettext("x.one", "x.other", 2) == "x.other"


def test_missing_placeholder_value_stays_visible(catalogs: Catalogs) -> None:
    assert catalogs.translator("en").format("greet") == "Welcome, {name}!"
    assert substitute("{a} and {b}", {"a": 1}) == "1 and {b}"


def test_braces_inside_values_are_not_reinterpreted(catalogs: Catalogs) -> None:
    text = catalogs.translator("en").format("greet", name="{name} {0} {__class__}")
    assert text == "Welcome, {name} {0} {__class__}!"


def test_brace_escapes_and_stray_braces() -> None:
    assert substitute("{{literal}} {x}", {"x": "y"}) == "{literal} y"
    assert substitute("{ x } {x!r} {", {"x": "y"}) == "{ x } {x!r} {"
    assert placeholders("{{skip}} {name} {n} {0} { space }") == {"name", "n"}


def test_a_failing_value_does_not_break_the_reply() -> None:
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("boom")

    assert substitute("Hi {name}", {"name": Broken()}) == "Hi {name}"


def test_dates_numbers_and_direction(tmp_path: Path) -> None:
    write_po(tmp_path, "en", ENGLISH)
    write_po(tmp_path, "ar", {"greet": "أهلا {name}"})
    write_po(tmp_path, "de", {"greet": "Hallo {name}"})
    cats = Catalogs.load([tmp_path])
    de, ar, en = cats.translator("de"), cats.translator("ar"), cats.translator("en")
    assert de.format_date(datetime(2025, 3, 7, 12, 0)) == "07.03.2025"
    assert de.format_number(1234.5) == "1.234,5"
    assert ar.direction == "rtl"
    assert de.direction == "ltr"
    assert en.format_timedelta(timedelta(days=3)) == "in 3 days"
    assert en.format_timedelta(timedelta(days=-3)) == "3 days ago"


def test_deadlines_are_never_rounded_up(catalogs: Catalogs) -> None:
    en = catalogs.translator("en")
    assert en.format_timedelta(timedelta(minutes=52)) == "in 52 minutes"
    assert en.format_timedelta(timedelta(hours=23, minutes=50)) == "in 23 hours"
    assert en.format_timedelta(timedelta(days=1, hours=20)) == "in 1 day"


def test_entries_and_message_ids_are_per_catalog(catalogs: Catalogs) -> None:
    assert catalogs.message_ids("pt-BR") == {"greet"}
    assert catalogs.entries("en")["days"] == ("{n} day left", "{n} days left")
    assert catalogs.entries("xx") == {}


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    write_po(tmp_path, "en", ENGLISH)
    path = write_po(tmp_path, "fr", {"greet": "Bienvenue"}, extra='msgid "rules"\nmsgstr "Lisez\n')
    line = path.read_text(encoding="utf-8").splitlines().index('msgstr "Lisez') + 1
    with pytest.raises(ConfigError) as err:
        Catalogs.load([tmp_path]).validate()
    assert (err.value.file, err.value.line, err.value.key) == (str(path), line, "rules")


def test_unknown_keyword_reports_one_based_line(tmp_path: Path) -> None:
    write_po(tmp_path, "en", ENGLISH)
    path = write_po(tmp_path, "fr", {}, extra='msgid "rules"\nmsgtsr "Lisez"\n')
    line = path.read_text(encoding="utf-8").splitlines().index('msgtsr "Lisez"') + 1
    with pytest.raises(ConfigError) as err:
        Catalogs.load([tmp_path]).translator("fr")
    assert (err.value.file, err.value.line) == (str(path), line)


def test_missing_msgstr_names_the_message_and_its_line(tmp_path: Path) -> None:
    write_po(tmp_path, "en", ENGLISH)
    path = write_po(tmp_path, "fr", {}, extra='msgid "rules"\n\nmsgid "greet"\nmsgstr "Salut"\n')
    line = path.read_text(encoding="utf-8").splitlines().index('msgid "rules"') + 1
    with pytest.raises(ConfigError) as err:
        Catalogs.load([tmp_path]).validate()
    assert (err.value.file, err.value.line, err.value.key) == (str(path), line, "rules")
    assert "missing msgstr" in err.value.message


def test_duplicate_message_ids_are_errors(tmp_path: Path) -> None:
    write_po(tmp_path, "en", ENGLISH)
    path = write_po(tmp_path, "fr", {"greet": "Salut"}, extra='msgid "greet"\nmsgstr "Bonjour"\n')
    with pytest.raises(ConfigError) as err:
        Catalogs.load([tmp_path]).validate()
    assert (err.value.file, err.value.key) == (str(path), "greet")
    assert "more than once" in err.value.message


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"language": ""}, "Language"),
        ({"language": "not a language"}, "header"),
        ({"plural_forms": "nplurals=two; plural=n;"}, "Plural-Forms"),
        ({"plural_forms": "nplurals=2; plural=n+5;"}, "Plural-Forms"),
        ({"plural_forms": "nplurals=2; plural=__import__('os');"}, "Plural-Forms"),
        ({"status": "approved"}, "X-Review-Status"),
        ({"language": "de"}, "directory"),
    ],
)
def test_bad_headers_are_reported(tmp_path: Path, options: dict[str, str], needle: str) -> None:
    write_po(tmp_path, "en", ENGLISH)
    path = write_po(tmp_path, "fr", {"greet": "Salut"}, **options)
    with pytest.raises(ConfigError) as err:
        Catalogs.load([tmp_path]).validate()
    assert (err.value.file, err.value.key) == (str(path), "(header)")
    assert needle in str(err.value)


def test_missing_plural_forms_header_is_reported(tmp_path: Path) -> None:
    write_po(tmp_path, "en", ENGLISH)
    write_po(tmp_path, "fr", {"greet": "Salut"}, plural_forms="")
    with pytest.raises(ConfigError) as err:
        Catalogs.load([tmp_path]).validate()
    assert err.value.message == "missing Plural-Forms header"


def test_missing_english_source_and_bad_directory_names(tmp_path: Path) -> None:
    write_po(tmp_path / "a", "fr", {"greet": "Salut"})
    with pytest.raises(ConfigError, match="source catalog"):
        Catalogs.load([tmp_path / "a"]).validate()
    write_po(tmp_path / "b", "en", ENGLISH)
    write_po(tmp_path / "b", "templates", {"greet": "x"}, language="en")
    with pytest.raises(ConfigError, match="not a language code"):
        Catalogs.load([tmp_path / "b"]).validate()


def test_fuzzy_entries_count_as_untranslated(tmp_path: Path) -> None:
    write_po(tmp_path, "en", ENGLISH)
    write_po(tmp_path, "fr", {}, extra='#, fuzzy\nmsgid "greet"\nmsgstr "Salut {name}"\n')
    fr = Catalogs.load([tmp_path]).translator("fr")
    assert fr.format("greet", name="Lou") == "Welcome, Lou!"


def test_shipped_catalogs_match_english() -> None:
    """Every shipped catalog is valid and has every id with English's placeholders."""
    cats = Catalogs.load([REPO_LOCALES])
    cats.validate()
    english = cats.entries("en")
    for code in cats.available:
        entries = cats.entries(code)
        missing = sorted(set(english) - set(entries))
        assert not missing, f"{code} lacks {missing}"
        for msgid, source in english.items():
            forms = (source,) if isinstance(source, str) else source
            found = entries[msgid]
            theirs = (found,) if isinstance(found, str) else found
            expected = set().union(*map(placeholders, forms))
            assert set().union(*map(placeholders, theirs)) == expected, f"{code}: {msgid}"


SHIPPED = Catalogs.load([REPO_LOCALES])
# Placeholder values as long as they get: names are cut to 80 characters, member text
# that the bot repeats (statements, proposals) to the 2,000 a question accepts.
LONG_VALUES = {"text": 2000, "agreement": 2000, "what": 2000, "affected": 2000, "need": 2000}
DISCORD_LIMIT = 2000


@pytest.mark.parametrize("code", SHIPPED.available)
def test_plural_forms_are_complete(code: str) -> None:
    """A message English counts is plural in every catalog, with every form its
    language's plural rule can pick."""
    english = SHIPPED.entries("en")
    entries = SHIPPED.entries(code)
    nplurals = SHIPPED.translator(code).plural_count
    for msgid, source in english.items():
        if isinstance(source, tuple):
            found = entries.get(msgid)
            assert isinstance(found, tuple), f"{code}: {msgid} is not plural"
            assert len(found) == nplurals and all(found), f"{code}: {msgid} forms"


@pytest.mark.parametrize("code", SHIPPED.available)
def test_no_message_exceeds_the_platform_limit_once_filled(code: str) -> None:
    """Filled with the longest values a member can cause, every message still fits a
    Discord message (Telegram's 4,096 is larger); the English source is the model."""
    translator = SHIPPED.translator(code)
    for msgid in SHIPPED.entries(code):
        for n in (1, 2, 5):
            text = translator.ngettext(msgid, msgid, n)
            values = {name: "x" * LONG_VALUES.get(name, 80) for name in placeholders(text)}
            filled = substitute(text, values)
            member_text = sum(LONG_VALUES.get(name, 0) for name in placeholders(text))
            assert len(filled) - member_text <= DISCORD_LIMIT, f"{code}: {msgid}"


@pytest.mark.parametrize("code", SHIPPED.available)
def test_command_names_are_single_words_and_distinct(code: str) -> None:
    """A localized command name is typed by members and shown by Discord: one lowercase
    word, unique in its language, and never another command's canonical name."""
    from adapters.discord.slash_commands import discord_languages, valid_name
    from bot.i18n.command_names import NAME_IDS

    on_discord = code in discord_languages(SHIPPED.available).values()
    translator = SHIPPED.translator(code)
    names = {command: translator.gettext(msgid) for command, msgid in NAME_IDS.items()}
    assert len(set(names.values())) == len(names), f"{code}: two commands share a name"
    for command, name in names.items():
        assert valid_name(name) or not on_discord, (code, command, name)
        assert name == command or name not in NAME_IDS, (code, command, name)
        assert " " not in name and name == name.lower() and len(name) <= 32


def babel_reading(lines: list[str]) -> tuple[str | None, int, dict[str, object]]:
    from babel.messages.pofile import PoFileParser

    from bot.i18n.catalogs import _RecordingCatalog, _translated

    catalog = _RecordingCatalog()
    PoFileParser(catalog, ignore_obsolete=True, abort_invalid=True).parse(lines)
    return catalog.raw_header, catalog.header_line, dict(_translated(catalog))


@pytest.mark.parametrize("path", sorted(REPO_LOCALES.glob("*/LC_MESSAGES/messages.po")))
def test_the_quick_reader_reads_every_catalog_as_babel_does(path: Path) -> None:
    """Start-up reads catalogs with a quick reader; it must agree with Babel exactly."""
    from bot.i18n.po_reader import read_po

    lines = path.read_text("utf-8").split("\n")
    assert read_po(lines) == babel_reading(lines)


ODD = """\
msgid ""
msgstr ""
"Language: fr\\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\\n"

#. a comment
msgid "greet"
msgstr ""
"Salut, \\"{name}\\"\\n"
"\\ttab \\\\ fin"

#, fuzzy
msgid "fuzzy"
msgstr "ignorée"

msgid "n"
msgid_plural "n.plural"
msgstr[0] "{n} chose"
msgstr[1] "{n} choses"

msgid "half"
msgid_plural "half.plural"
msgstr[0] "une"
msgstr[1] ""

msgid "empty"
msgstr ""
"""


def test_the_quick_reader_on_escapes_fuzzy_and_plurals() -> None:
    from bot.i18n.po_reader import read_po

    lines = ODD.split("\n")
    quick = read_po(lines)
    assert quick == babel_reading(lines)
    assert quick is not None and quick[2]["greet"] == 'Salut, "{name}"\n\ttab \\ fin'
    assert "fuzzy" not in quick[2] and "half" not in quick[2] and "empty" not in quick[2]


@pytest.mark.parametrize(
    "odd",
    [
        'msgctxt "x"\nmsgid "a"\nmsgstr "b"',  # contexts: Babel decides
        'msgid "a"\nmsgstr "b"\n\nmsgid "a"\nmsgstr "c"',  # a repeated id: Babel reports it
        'msgid "a"\n\nmsgid "b"\nmsgstr "c"',  # a missing msgstr: Babel names the line
        '"stray"',
    ],
)
def test_the_quick_reader_leaves_anything_unusual_to_babel(odd: str) -> None:
    from bot.i18n.po_reader import read_po

    assert read_po(odd.split("\n")) is None
