"""``concord report`` and ``concord chat`` on a deployment's file: each acts for the
one community ``--community`` names (needed when there are several), and a report
counts its own community's rows only, from one SQLite database that holds both."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.cli import main
from bot.store.sqlite import SQLiteStore
from bot.store.types import Changes
from bot.store.writes import AddCount
from tests.test_cli import concord

ROOT = Path(__file__).parents[1]
LANGUAGES = {"alpha": "en", "beta": "es"}


def write_deployment(folder: Path) -> Path:
    (folder / "communities").mkdir()
    for ident, language in LANGUAGES.items():
        (folder / "communities" / f"{ident}.yaml").write_text(
            f"community:\n  id: {ident}\n  name: {ident.capitalize()} Commons\n"
            f"  default_language: {language}\n  languages: [{language}]\n"
            f"  code_of_conduct: {ROOT / 'community' / 'code-of-conduct.yaml'}\n"
            f'moderators:\n  channel: "#{ident}-mods"\n',
            "utf-8",
        )
    path = folder / "concord.yaml"
    path.write_text("communities: communities\n", "utf-8")
    return path


@pytest.fixture
def counted(tmp_path: Path) -> tuple[Path, Path]:
    """A deployment and its database: Alpha counts 1234 joins, Beta 8765 joins and
    5678 first messages (numbers no page or date would show by chance)."""
    config, database = write_deployment(tmp_path), tmp_path / "concord.db"
    store = SQLiteStore(database)
    now = datetime.now(UTC)
    day = now.date().isoformat()
    counts = [
        AddCount("alpha", day, "joins", "console", "en", 1234),
        AddCount("beta", day, "joins", "console", "es", 8765),
        AddCount("beta", day, "first_message", "console", "es", 5678),
    ]
    store.apply(Changes(at=now, writes=list(counts)))
    store.close()
    return config, database


def report(config: Path, database: Path, *args: str) -> int:
    return main(["report", "--config", str(config), "--db", str(database), *args])


def test_a_report_counts_its_own_community_only(
    counted: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, database = counted
    assert report(config, database, "--community", "alpha", "--json") == 0
    alpha = capsys.readouterr().out
    newcomers = next(s for s in json.loads(alpha)["sections"] if s["id"] == "newcomers")
    assert newcomers["row_totals"]["joins"] == 1234
    page = tmp_path / "alpha.html"
    assert report(config, database, "--community", "alpha", "--out", str(page)) == 0
    html = page.read_text("utf-8")
    assert "Alpha Commons" in html and ("1234" in html or "1,234" in html)
    for shown in (alpha, html):  # not one of Beta's cells, nor its name
        for number in ("8765", "8,765", "5678", "5,678", "Beta Commons"):
            assert number not in shown
    assert report(config, database, "--community", "beta", "--json") == 0
    beta = json.loads(capsys.readouterr().out)
    newcomers = next(s for s in beta["sections"] if s["id"] == "newcomers")
    assert newcomers["row_totals"]["joins"] == 8765
    assert "1234" not in json.dumps(beta)


def test_a_deployment_report_needs_a_known_community(
    counted: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, database = counted
    assert report(config, database, "--json") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert "2 communities (alpha, beta)" in captured.err and "--community" in captured.err
    assert report(config, database, "--community", "gamma") == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "'gamma'" in captured.err
    assert "alpha, beta" in captured.err


def test_the_console_talks_as_the_community_named(tmp_path: Path) -> None:
    config = write_deployment(tmp_path)
    database = tmp_path / "concord.db"
    base = ("chat", "--config", str(config), "--db", str(database))
    refused = concord(*base)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "--community" in refused.stderr
    assert concord(*base, "--community", "gamma").returncode == 1
    beta = concord(*base, "--community", "beta", input_text="ana joins\n")
    assert beta.returncode == 0, beta.stderr
    assert "Concord console: Beta Commons" in beta.stdout
    assert "Te damos la bienvenida a Beta Commons, ana" in beta.stdout
    store = SQLiteStore(database)
    try:
        assert store.load_profile("beta", "console:ana") is not None
        assert store.load_profile("alpha", "console:ana") is None
    finally:
        store.close()
