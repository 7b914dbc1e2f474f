"""PostgreSQL as Concord's store, on a real throwaway cluster (tests/postgres_server.py):
migrations that two processes can start at once, a database that is not Concord's left
alone, one line naming what to fix for each failure, and the URL selecting the store.
The store contract itself runs in tests/test_store_contract.py."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from adapters.cli import main
from bot.app import build_engine
from bot.config.community import load_config
from bot.core.errors import StoreError
from bot.store.migrations import what_it_does
from bot.store.postgres.schema import LATEST, LOCK_KEY, MIGRATIONS
from bot.store.postgres.store import PostgresStore
from bot.store.sqlite import SQLiteStore
from tests.postgres_server import PASSWORD, Cluster, free_port

ROOT = Path(__file__).resolve().parents[1]


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


def _tables(url: str) -> list[str]:
    rows = _rows(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
    return [row[0] for row in rows]


def _open(url: str, tmp_path: Path) -> PostgresStore:
    return PostgresStore(url, path=tmp_path / "concord.db")


def test_processes_starting_at_once_migrate_once(postgres_url: str, tmp_path: Path) -> None:
    """Four stores (each its own connection, as four processes) open an empty database
    at the same moment: all come up on the latest schema, which was made once."""
    starting = threading.Barrier(4)
    opened: list[PostgresStore] = []
    failures: list[BaseException] = []

    def start() -> None:
        starting.wait()
        try:
            opened.append(_open(postgres_url, tmp_path))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert [store.version for store in opened] == [LATEST] * 4
    assert _rows(postgres_url, "SELECT owner, version FROM concord_schema") == [("concord", LATEST)]
    assert "member_records" in _tables(postgres_url)
    for store in opened:
        store.close()


def test_migrating_waits_for_the_lock_another_process_holds(
    postgres_url: str, tmp_path: Path
) -> None:
    """While another process holds the migration lock, a starting store waits for it
    and then finds the schema the other one made."""
    holder = psycopg.connect(postgres_url, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
    opened: list[PostgresStore] = []
    starter = threading.Thread(target=lambda: opened.append(_open(postgres_url, tmp_path)))
    starter.start()
    waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    while _rows(postgres_url, waiting) != [(1,)]:
        assert starter.is_alive(), "the store did not wait for the lock"
    assert _tables(postgres_url) == []  # waiting, nothing made
    holder.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    starter.join()
    holder.close()
    assert opened[0].version == LATEST
    opened[0].close()


def test_migrating_an_old_database_shows_its_progress(
    postgres_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As on SQLite: each migration of an existing database is logged as it starts, with
    what it does, and the time it all took; a new database is made without a word."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE concord_schema (owner text NOT NULL, version integer NOT NULL)")
        conn.execute("INSERT INTO concord_schema VALUES ('concord', 2)")
        for _number, statements in MIGRATIONS[:2]:
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]
    with caplog.at_level("INFO", logger="bot.store.postgres.schema"):
        _open(postgres_url, tmp_path).close()
    pending = [number for number, _ in MIGRATIONS[2:]]
    assert caplog.messages[:-1] == [
        f"migrating the database: {k} of {len(pending)}: {what_it_does(number)}"
        for k, number in enumerate(pending, 1)
    ]
    assert caplog.messages[-1].startswith("database migrated in ")
    assert _rows(postgres_url, "SELECT version FROM concord_schema") == [(LATEST,)]
    caplog.clear()
    with caplog.at_level("INFO", logger="bot.store.postgres.schema"):
        _open(postgres_url, tmp_path).close()  # up to date: nothing to say
    assert caplog.messages == []


def test_another_programs_database_is_refused_and_left_untouched(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id integer PRIMARY KEY, name text)")
        conn.execute("INSERT INTO users VALUES (1, 'someone')")
    with pytest.raises(StoreError, match="another program's tables"):
        _open(postgres_url, tmp_path)
    assert _tables(postgres_url) == ["users"]
    assert _rows(postgres_url, "SELECT * FROM users") == [(1, "someone")]
    assert main(["check", "--db", postgres_url]) == 1
    _assert_one_line(capsys, "another program's tables")
    assert _tables(postgres_url) == ["users"]


def test_a_schema_newer_than_this_concord_is_refused(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _open(postgres_url, tmp_path).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE concord_schema SET version = %s", (LATEST + 1,))
    with pytest.raises(StoreError, match=f"version {LATEST + 1}, newer than this Concord"):
        _open(postgres_url, tmp_path)
    assert main(["check", "--db", postgres_url]) == 1
    _assert_one_line(capsys, "upgrade Concord")


def _assert_one_line(capsys: pytest.CaptureFixture[str], expected: str) -> None:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("concord: ") and expected in lines[0]
    assert PASSWORD not in captured.err + captured.out


def test_check_names_what_to_fix_and_never_the_password(
    postgres_cluster: Cluster, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    name = postgres_url.rsplit("/", 1)[1]
    wrong_password = postgres_cluster.url(name, password="not-" + PASSWORD)
    assert main(["check", "--db", wrong_password]) == 1
    _assert_one_line(capsys, "refused the user name or password")
    assert "not-" + PASSWORD not in capsys.readouterr().err
    nobody_there = f"postgresql://concord:{PASSWORD}@127.0.0.1:{free_port()}/{name}"
    assert main(["check", "--db", nobody_there]) == 1
    _assert_one_line(capsys, "cannot reach the PostgreSQL server")
    assert main(["check", "--db", postgres_cluster.url("no_such_database")]) == 1
    _assert_one_line(capsys, "no such database")


def test_check_says_what_the_database_is_and_writes_nothing(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--db", postgres_url]) == 0
    out = capsys.readouterr().out
    assert "OK: empty; concord run creates Concord's tables" in out and PASSWORD not in out
    assert _tables(postgres_url) == []
    _open(postgres_url, tmp_path).close()
    assert main(["check", "--db", postgres_url]) == 0
    assert f"Concord's database, schema version {LATEST} (up to date)" in capsys.readouterr().out


def test_the_config_or_db_url_selects_postgresql(postgres_url: str, tmp_path: Path) -> None:
    config_file = tmp_path / "concord.yaml"
    config_file.write_text(
        f"community:\n  id: example\n  name: Example\ndatabase: {postgres_url}\n",
        encoding="utf-8",
    )
    config = load_config(config_file)
    assert config.database_url == postgres_url and config.database is None
    engine = build_engine(config)
    assert isinstance(engine.services.store, PostgresStore)
    engine.services.store.close()
    assert main(["check", str(config_file)]) == 0
    file_engine = build_engine(config, tmp_path / "chosen.db")  # --db a file wins
    assert isinstance(file_engine.services.store, SQLiteStore)
    file_engine.services.store.close()


def test_sqlite_runs_without_importing_psycopg(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from bot.app import build_engine\n"
        "from bot.config.community import load_config\n"
        "import adapters.cli\n"
        f"engine = build_engine(load_config(None), {str(tmp_path / 'x.db')!r})\n"
        "engine.services.store.close()\n"
        "assert 'psycopg' not in sys.modules, 'psycopg imported'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT)


def test_run_on_another_programs_database_stops_with_one_line(
    postgres_url: str, tmp_path: Path
) -> None:
    """``concord run --db postgresql://...`` opens PostgreSQL before any platform
    connects: a database Concord may not use stops it at once, untouched."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE accounts (id integer)")
    config = tmp_path / "concord.yaml"
    config.write_text(
        "community: {id: x, name: X}\n"
        "platforms:\n"
        "  telegram:\n"
        "    token_env: CONCORD_TEST_TOKEN\n"
        "    groups: [-1001]\n",
        "utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "run", str(config), "--db", postgres_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CONCORD_TEST_TOKEN": "123:abc", "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "another program's tables" in lines[0], result.stderr
    assert PASSWORD not in result.stderr and _tables(postgres_url) == ["accounts"]
