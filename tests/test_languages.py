"""The shipped languages as members meet them: extraction, plurals, dates, direction."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from babel.messages.pofile import read_po

from bot.core.resources import locales_dir
from bot.i18n.catalogs import Catalogs
from bot.i18n.locales import FSI, PDI

ROOT = Path(__file__).resolve().parents[1]


def ids(path: Path) -> set[str]:
    with path.open("rb") as handle:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}


def test_extraction_finds_exactly_the_english_ids(tmp_path: Path) -> None:
    """`pybabel extract -F babel.cfg` collects every id the code, dialogs, the code of
    conduct and the example config use, and nothing the English catalog lacks."""
    pot = tmp_path / "messages.pot"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    english = ids(ROOT / "locales" / "en" / "LC_MESSAGES" / "messages.po")
    assert ids(pot) == english
    assert ids(ROOT / "locales" / "messages.pot") == english  # the shipped template is current


def test_arabic_has_six_plural_forms_in_use() -> None:
    arabic = Catalogs.load([locales_dir()]).translator("ar")
    texts = {
        n: arabic.nformat("onboarding.intro", "onboarding.intro.plural", n)
        for n in (0, 1, 2, 3, 11, 100)
    }
    assert len(set(texts.values())) == 6
    assert "جزأين" in texts[2]  # the dual
    assert "3" in texts[3] and "أجزاء" in texts[3]


def test_deadlines_and_dates_never_round_up() -> None:
    catalogs = Catalogs.load([locales_dir()])
    english = catalogs.translator("en")
    assert english.format_timedelta(-timedelta(days=6, hours=23)) == "6 days ago"
    assert catalogs.translator("es").format_timedelta(-timedelta(days=7)) == "hace 1 semana"


def test_right_to_left_values_are_isolated() -> None:
    arabic = Catalogs.load([locales_dir()]).translator("ar")
    assert arabic.direction == "rtl"
    from bot.i18n.locales import isolate

    assert isolate("Example Community", "ar") == f"{FSI}Example Community{PDI}"
    assert isolate("Example Community", "sw") == "Example Community"


def test_every_catalog_says_whether_it_was_reviewed() -> None:
    catalogs = Catalogs.load([locales_dir()])
    statuses = {code: catalogs.translator(code).review_status for code in catalogs.available}
    assert statuses["en"] == "reviewed"
    assert set(statuses) >= {"en", "es", "fr", "ar", "hi", "pt-BR", "sw", "id"}
    assert set(statuses.values()) <= {"reviewed", "draft"}


def test_the_readme_language_table_is_generated_and_current(tmp_path: Path) -> None:
    """The table is what `concord languages` prints from the catalogs, never edited by
    hand: after any catalog change, `concord languages --write README.md` updates it."""
    from bot.i18n.status import TABLE_END, TABLE_START, language_statuses, markdown_table

    table = markdown_table(language_statuses(Catalogs.load([locales_dir()])))
    readme = (ROOT / "README.md").read_text("utf-8")
    between = readme.split(TABLE_START)[1].split(TABLE_END)[0]
    assert between.strip() == table
    assert table.count("\n") == 2 + 35 - 1  # header, rule, a row per language
    assert "| `ar` | العربية | Arabic | rtl | draft |" in table

    # The command writes the same table into a copy of the README.
    copy = tmp_path / "README.md"
    copy.write_text(readme.replace(between, "\nstale\n"), "utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "languages", "--write", str(copy)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert copy.read_text("utf-8") == readme


def test_writing_the_table_into_a_file_without_its_markers_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "NOTES.md"
    other.write_text("# Notes\n", "utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "languages", "--write", str(other)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 1 and "cannot update the table" in result.stderr
    assert other.read_text("utf-8") == "# Notes\n"  # nothing lost
