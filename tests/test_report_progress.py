"""``concord report`` over a large database says what it is doing, as migrations do:
each step as it starts and the time it all took, on standard error, where it never
mixes with the JSON or the page on standard output. A small database, the usual case,
gets no such lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.cli import main
from bot.features.health.command import LARGE
from bot.store.migrations import MIGRATIONS
from bot.store.sqlite import SQLiteStore
from bot.store.types import Changes
from bot.store.writes import AddCount
from tests.test_store import old_database

METRICS = ["joins", "first_message", "onboarding_completed", "channel_messages:newer"]
LANGUAGES = [f"l{n}" for n in range(70)]  # 4 metrics x 70 languages x 365 days: 102,200


def fill(path: Path, days: int) -> int:
    """A year of daily counts through the store's own writes; how many rows."""
    store = SQLiteStore(path)
    today, rows = datetime.now(UTC).date(), 0
    for back in range(days):
        day = (today - timedelta(days=back)).isoformat()
        writes = [
            AddCount("example", day, m, "console", lang, 6) for m in METRICS for lang in LANGUAGES
        ]
        store.apply(Changes(at=datetime.now(UTC), writes=list(writes)))
        rows += len(writes)
    store.close()
    return rows


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    database = tmp_path_factory.mktemp("large") / "large.db"
    return database, fill(database, 365)


def steps(err: str) -> list[str]:
    """The report's progress lines, from "1 of 3" on, without time, level and logger."""
    return [line.partition(": ")[2] for line in err.splitlines() if "making the report: " in line]


def test_a_large_report_shows_its_steps_on_stderr_and_only_json_on_stdout(
    large: tuple[Path, int], capsys: pytest.CaptureFixture[str]
) -> None:
    database, rows = large
    assert rows >= LARGE
    assert main(["report", "--db", str(database), "--since", "365d", "--json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)  # nothing but the JSON on standard output
    assert data["sections"][0]["row_totals"]["joins"] == 6 * 70 * 365
    since = (datetime.now(UTC).date() - timedelta(days=364)).isoformat()
    assert steps(err) == [
        f"making the report: 1 of 3: reading {rows} daily counts from {since} on",
        "making the report: 2 of 3: adding them up into tables and hiding small numbers",
        "making the report: 3 of 3: writing the numbers for machines",
    ]
    last = err.splitlines()[-1]
    assert " INFO bot.features.health.command: report made in " in last and last.endswith(" s")


def test_a_large_page_written_to_a_file_shows_its_steps_as_json_lines_if_asked(
    large: tuple[Path, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database, _ = large
    page = tmp_path / "report.html"
    argv = ["report", "--db", str(database), "--since", "52w", "--out", str(page)]
    argv += ["--log-format", "json"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert out == "" and page.read_text("utf-8").startswith("<!DOCTYPE html>")
    logged = [json.loads(line) for line in err.splitlines()]
    assert [entry["message"].split(": ")[1] for entry in logged[:3]] == [
        "1 of 3",
        "2 of 3",
        "3 of 3",
    ]
    assert logged[2]["message"].endswith("writing the page")
    assert logged[-1]["message"].startswith("report made in ")
    assert {entry["level"] for entry in logged} == {"info"}


def test_progress_is_left_out_below_info(
    large: tuple[Path, int], capsys: pytest.CaptureFixture[str]
) -> None:
    database, _ = large
    argv = ["report", "--db", str(database), "--since", "365d", "--json"]
    assert main([*argv, "--log-level", "warning"]) == 0
    assert capsys.readouterr().err == ""
    # The same database over the default 90 days is 25,200 counts: quick, and quiet.
    assert main(["report", "--db", str(database), "--json"]) == 0
    assert capsys.readouterr().err == ""


def test_a_small_community_waits_for_nothing_and_is_told_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "small.db"
    assert fill(database, 30) < LARGE  # a month of seventy languages
    for extra in (["--json"], []):
        assert main(["report", "--db", str(database), *extra]) == 0
        out, err = capsys.readouterr()
        assert out and err == ""


def test_a_report_on_an_old_database_shows_the_migration_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report opens the database as every command does: an old one is migrated
    first, and the person waiting sees that too, away from the JSON."""
    path = old_database(tmp_path / "old.db", 2)
    assert main(["report", "--db", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["hidden_cells"] == 0
    pending = len(MIGRATIONS) - 2
    migrating = [line for line in err.splitlines() if "migrating the database: " in line]
    assert [line.split(": ")[2] for line in migrating] == [
        f"{k} of {pending}" for k in range(1, pending + 1)
    ]
    assert "database migrated in " in err.splitlines()[-1]
