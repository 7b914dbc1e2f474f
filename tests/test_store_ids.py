"""SQLite's ids for outbox rows and timers: reserved in blocks, never given twice.

An outbox row's id is the idempotency key a platform sees (a Matrix transaction id, a
Discord nonce): an id given again would make the platform drop a new reply as a repeat
of an old one. A timer's id names its event in the inbox: given again, a new timer
would be taken as fired already."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.actions import NotifyModerators, ScheduleTimer, action_to_json
from bot.core.events import MemberRef
from bot.store import Changes, SQLiteStore, id_blocks
from tests.test_store import old_database

ANA = MemberRef("test", "ana", "Ana")
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


def _event(key: str, replies: int = 2, timer: bool = True) -> Changes:
    outbox = [("c", NotifyModerators("test", f"{key} {n}")) for n in range(replies)]
    timers = [("c", ScheduleTimer(ANA, "checkin", NOW + timedelta(hours=1)))] if timer else []
    return Changes(at=NOW, event_key=key, outbox=outbox, timers=timers)


def _ids(store: SQLiteStore, key: str) -> list[int]:
    """The ids an event's replies and timer got."""
    items = store.apply(_event(key)) or []
    [timer] = store.due_timers(NOW + timedelta(hours=1))
    return [item.id for item in items] + [timer.id]


def test_ids_are_never_given_again_after_their_rows_are_gone(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "c.db")
    first = _ids(store, "e1")
    for item in store.pending_outbox():
        store.mark_sent(item.id, NOW)  # delivered: the rows go
    assert store.db.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
    second = _ids(store, "e2")  # (the timer set again replaces the first)
    store.close()
    store = SQLiteStore(tmp_path / "c.db")
    third = _ids(store, "e3")
    store.close()
    given = first + second + third
    assert len(set(given)) == len(given)
    assert max(first) < min(second) and max(second) < min(third)  # in the order made
    # No counter written with every row (SQLite's AUTOINCREMENT wrote one per commit).
    with contextlib.closing(sqlite3.connect(tmp_path / "c.db")) as other:
        found = other.execute(
            "SELECT count(*) FROM sqlite_sequence WHERE name IN ('outbox', 'timers', 'audit')"
        ).fetchone()
    assert found == (0,)


def test_two_stores_on_one_file_never_share_an_id(tmp_path: Path) -> None:
    """Two processes started on the same file (a second ``concord chat`` by mistake):
    each block starts where the stored counter stands, not where the process that
    opened earlier thought it did."""
    first, second = SQLiteStore(tmp_path / "c.db"), SQLiteStore(tmp_path / "c.db")
    try:
        ids = [item.id for item in first.apply(_event("e1", timer=False)) or []]
        ids += [item.id for item in second.apply(_event("e2", timer=False)) or []]
        ids += [item.id for item in first.apply(_event("e3", timer=False)) or []]
        assert len(set(ids)) == len(ids) == 6
        assert [item.id for item in first.pending_outbox()] == sorted(ids)
    finally:
        first.close()
        second.close()


_CRASHING = """
import os, sys
from datetime import UTC, datetime
from bot.core.actions import NotifyModerators
from bot.store import Changes, SQLiteStore
store = SQLiteStore(sys.argv[1])
action = NotifyModerators("test", "before the crash")
items = store.apply(Changes(at=datetime.now(UTC), event_key="e1", outbox=[("c", action)]))
print(items[0].id, flush=True)
os._exit(9)  # killed: nothing closed, nothing flushed
"""


def test_a_process_killed_after_giving_ids_leaves_them_given(tmp_path: Path) -> None:
    """The reply committed before the kill goes after the restart under its own id;
    the new reply gets an id past the whole block the killed process had reserved."""
    path = tmp_path / "c.db"
    done = subprocess.run(
        [sys.executable, "-c", _CRASHING, str(path)], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 9, done.stderr
    given = int(done.stdout)
    store = SQLiteStore(path)
    try:
        [waiting] = store.pending_outbox()
        assert waiting.id == given
        [new] = store.apply(_event("e2", replies=1, timer=False)) or []
        assert new.id >= given + id_blocks.BLOCK
    finally:
        store.close()


async def test_a_block_running_out_amid_a_strict_batch_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Strict mode: the events of one pass share a transaction; when the block runs
    out among them, the events before commit first, then the new block, and the rest go
    on in a new batch. Every event is stored, each id once, in order."""
    monkeypatch.setattr(id_blocks, "BLOCK", 3)
    path = tmp_path / "strict.db"
    store = SQLiteStore(path, durable=True)
    try:
        given: list[int] = []
        for n in range(6):  # in one pass of the loop: nothing awaited between them
            given += [item.id for item in store.apply(_event(f"e{n}"), sync_later=True) or []]
        store.end_batch()
        store.sync_log()
    finally:
        store.close()
    assert given == sorted(set(given)) and len(given) == 12
    with contextlib.closing(sqlite3.connect(path)) as other:
        stored = [row_id for (row_id,) in other.execute("SELECT id FROM outbox ORDER BY id")]
        keys = other.execute("SELECT count(*) FROM inbox").fetchone()
        [(next_id,)] = other.execute("SELECT value FROM counters WHERE name = 'ids:next'")
        [(timer_id,)] = other.execute("SELECT id FROM timers")
    assert stored == given and keys == (6,)
    assert max([*given, timer_id]) < next_id


def test_migration_15_keeps_every_row_and_gives_no_old_id_again(tmp_path: Path) -> None:
    """A database whose tables numbered rows with AUTOINCREMENT: the waiting reply, the
    timer and the audit log stay as they were; the next ids come after every id the
    old tables gave, including those of rows already gone."""
    path = old_database(tmp_path / "old.db", 14)
    with contextlib.closing(sqlite3.connect(path)) as old, old:
        old.execute(
            "INSERT INTO outbox (id, community, platform, action, created_at)"
            " VALUES (40, 'c', 'test', ?, '2026-01-05T09:00:00.000000Z')",
            (action_to_json(NotifyModerators("test", "waiting")),),
        )
        old.execute("UPDATE sqlite_sequence SET seq = 57 WHERE name = 'outbox'")  # 41-57 gone
        old.execute(
            "INSERT INTO timers (id, community, member, member_ref, kind, due_at)"
            " VALUES (9, 'c', 'test:ana', ?, 'checkin', '2026-01-05T10:00:00.000000Z')",
            ('{"platform": "test", "id": "ana", "name": "Ana"}',),
        )
        old.executemany(
            "INSERT INTO audit (community, at, actor, action) VALUES ('c', ?, 'mod', ?)",
            [(f"2026-01-0{n}T00:00:00.000000Z", f"step {n}") for n in range(1, 4)],
        )
    store = SQLiteStore(path)
    try:
        [waiting] = store.pending_outbox()
        assert (waiting.id, waiting.action) == (40, NotifyModerators("test", "waiting"))
        [timer] = store.due_timers(NOW + timedelta(hours=1))
        assert (timer.id, timer.member, timer.kind) == (9, ANA, "checkin")
        assert [row["action"] for row in store.audit_log("c")] == ["step 1", "step 2", "step 3"]
        [new] = store.apply(_event("e1", replies=1, timer=False)) or []
        assert new.id == 58
        for table in ("outbox", "timers", "audit"):
            sql = store.db.execute(
                "SELECT sql FROM sqlite_schema WHERE name = ?", (table,)
            ).fetchone()[0]
            assert "AUTOINCREMENT" not in sql, table
        assert store.next_timer_due() == NOW + timedelta(hours=1)  # its index is back
        index = "SELECT count(*) FROM sqlite_schema WHERE name = 'timers_due'"
        assert store.db.execute(index).fetchone() == (1,)
    finally:
        store.close()


def test_a_reservation_that_cannot_be_written_gives_no_id(tmp_path: Path) -> None:
    """A database that refuses the block's commit (another process holds the write
    lock past the wait): the event fails with a clear error and no id is given; once
    the lock is released, the same event is stored."""
    path = tmp_path / "c.db"
    store = SQLiteStore(path)
    store.db.execute("PRAGMA busy_timeout = 50")
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(id_blocks.StoreError, match="cannot reserve ids"):
            store.apply(_event("e1"))
        other.execute("ROLLBACK")
        items = store.apply(_event("e1")) or []
        assert [item.action.text for item in items] == ["e1 0", "e1 1"]  # type: ignore[attr-defined]
    finally:
        other.close()
        store.close()
