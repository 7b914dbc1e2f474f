"""The SQLite store's contract: one transaction per event, nothing half-written."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.actions import Ask, Choice, GrantRole, Say, ScheduleTimer
from bot.core.errors import StoreError
from bot.core.events import MemberRef, Place
from bot.core.state import Profile, profile_from_stored, profile_to_dict
from bot.store import Changes, SQLiteStore, checkpoints
from bot.store.checkpoints import EVERY, Checkpointer

ANA = MemberRef("test", "ana", "Ana")
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    opened = SQLiteStore(tmp_path / "c.db")
    yield opened  # type: ignore[misc]
    opened.close()


def test_wal_mode_and_migrations(store: SQLiteStore, tmp_path: Path) -> None:
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.version >= 1
    again = SQLiteStore(tmp_path / "c.db")  # opening twice migrates nothing twice
    assert again.version == store.version
    again.close()


def old_database(path: Path, version: int) -> Path:
    """A SQLite database as Concord left it at schema ``version``."""
    import sqlite3

    import sqlite_utils

    from bot.store.migrations import MIGRATIONS

    old = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
    for _number, step in MIGRATIONS[:version]:
        step(old)
    old.execute(f"PRAGMA user_version = {version}")
    old.conn.close()
    return path


def test_migrating_an_old_database_shows_its_progress(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.store.migrations import MIGRATIONS

    path = old_database(tmp_path / "old.db", 2)
    with caplog.at_level("INFO", logger="bot.store.migrations"):
        SQLiteStore(tmp_path / "new.db").close()
        assert caplog.messages == []  # a new database is made, not migrated
        SQLiteStore(path).close()
    pending = len(MIGRATIONS) - 2
    steps = [m for m in caplog.messages if m.startswith("migrating the database: ")]
    assert [m.split(": ")[1] for m in steps] == [f"{k} of {pending}" for k in range(1, pending + 1)]
    assert "adapter records" in steps[0].lower()  # what each step does, from its docstring
    assert caplog.messages[-1].startswith("database migrated in ")


def test_member_records_keep_their_values_when_their_key_is_stored_once(
    tmp_path: Path,
) -> None:
    """Migration 14: the records an adapter kept before it read back the same (with no
    end), in a table that holds each key once; erasing a member takes theirs only."""
    import sqlite3

    path = old_database(tmp_path / "old.db", 13)
    with contextlib.closing(sqlite3.connect(path)) as old, old:
        old.executemany(
            "INSERT INTO member_records VALUES (?, ?, ?, ?)",
            [("telegram", "42", "sent", "[3,5]"), ("telegram", "43", "sent", "[7]")],
        )
    store = SQLiteStore(path)
    try:
        assert store.member_record("telegram", "42", "sent") == "[3,5]"
        assert store.member_record("telegram", "43", "sent") == "[7]"
        table = store.db.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'member_records'"
        ).fetchone()[0]
        assert "WITHOUT ROWID" in table
        index = "SELECT count(*) FROM sqlite_master WHERE tbl_name = 'member_records'"
        assert store.db.execute(index).fetchone()[0] == 1  # no index of its own
        store.erase_delivered("telegram", "42")
        assert store.member_record("telegram", "42", "sent") is None
        assert store.member_record("telegram", "43", "sent") == "[7]"
    finally:
        store.close()


def test_one_event_is_all_or_nothing(store: SQLiteStore) -> None:
    changes = Changes(
        at=NOW,
        event_key="e1",
        conversations={("c", ANA.key): {"member": {"platform": "test", "id": "ana"}}},
        profiles={("c", ANA.key): profile_to_dict(Profile("Ana"))},
        outbox=[
            ("c", Say(Place.direct(ANA), "hello")),
            ("c", Ask(Place.direct(ANA), "which?", (Choice("1", "one"),))),
        ],
        timers=[("c", ScheduleTimer(ANA, "reminder", NOW + timedelta(days=2)))],
        acknowledgements=[("c", ANA.key, "v1")],
    )
    items = store.apply(changes)
    assert items is not None and [i.action for i in items] == [a for _, a in changes.outbox]
    assert store.apply(changes) is None  # re-delivered: nothing written twice
    assert len(store.pending_outbox()) == 2
    assert store.load_profile("c", ANA.key) == profile_to_dict(Profile("Ana"))
    assert store.next_timer_due() == NOW + timedelta(days=2)

    # A failure half-way through (here: state that cannot be stored) leaves nothing.
    broken = Changes(
        at=NOW,
        event_key="e2",
        conversations={("c", "test:bob"): {"bad": {1, 2}}},
        profiles={("c", ANA.key): {"name": "Changed"}},
        outbox=[("c", GrantRole(ANA, "member"))],
    )
    broken.profiles[("c", ANA.key)] = {"name": "Changed"}
    with pytest.raises(TypeError):
        store.apply(broken)
    assert store.load_profile("c", ANA.key) == profile_to_dict(Profile("Ana"))
    assert len(store.pending_outbox()) == 2
    assert not store.seen("e2")
    assert store.load_conversation("c", "test:bob") is None


def test_a_sent_mark_rides_with_the_next_commit(tmp_path: Path) -> None:
    """What another process sees: the mark of the last delivery is written with the next
    event, by the next delivery, or at close; a failed event writes it later still."""
    import sqlite3

    store = SQLiteStore(tmp_path / "marks.db")

    def unsent() -> int:
        with sqlite3.connect(tmp_path / "marks.db") as other:
            return int(
                other.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
            )

    say = ("c", Say(Place.direct(ANA), "hi"))
    first, second = store.apply(Changes(at=NOW, event_key="e1", outbox=[say, say])) or []
    store.mark_sent_later(first.id, NOW)
    assert unsent() == 2  # nothing written yet
    with pytest.raises(TypeError):  # an event that fails keeps the mark for later
        store.apply(Changes(at=NOW, event_key="e2", conversations={("c", "x"): {"bad": {1}}}))
    assert unsent() == 2
    store.apply(Changes(at=NOW, event_key="e3"))
    assert unsent() == 1  # written in that event's transaction
    store.mark_sent_later(second.id, NOW)
    store.close()
    assert unsent() == 0  # closing writes the last one


def test_outbox_sent_and_timers_due(store: SQLiteStore) -> None:
    store.apply(
        Changes(
            at=NOW,
            event_key="e1",
            outbox=[("c", Say(Place.direct(ANA), "hi"))],
            timers=[("c", ScheduleTimer(ANA, "checkin", NOW + timedelta(hours=1)))],
        )
    )
    [item] = store.pending_outbox()
    store.mark_sent(item.id, NOW)
    assert store.pending_outbox() == []
    assert store.due_timers(NOW) == []
    [timer] = store.due_timers(NOW + timedelta(hours=1))
    assert (timer.member, timer.kind) == (ANA, "checkin")
    store.apply(Changes(at=NOW, event_key="t1", timers_done=[timer.id]))
    assert store.next_timer_due() is None


def test_a_timer_of_the_same_kind_replaces_the_old_one(store: SQLiteStore) -> None:
    for hours in (1, 5):
        store.apply(
            Changes(
                at=NOW, timers=[("c", ScheduleTimer(ANA, "reminder", NOW + timedelta(hours=hours)))]
            )
        )
    assert store.next_timer_due() == NOW + timedelta(hours=5)
    store.apply(Changes(at=NOW, timers_cancelled=[("c", ANA.key, "reminder")]))
    assert store.next_timer_due() is None


def test_an_unusable_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot open the database"):
        SQLiteStore(blocker / "c.db")


def test_a_prune_gives_the_freed_space_back_on_a_new_database(tmp_path: Path) -> None:
    """Old inbox ids pruned: the database file shrinks, not only its free list."""
    store = SQLiteStore(tmp_path / "prune.db")
    assert store.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
    empty = store.db.execute("PRAGMA page_count").fetchone()[0]  # the tables and indexes
    for n in range(3000):
        store.apply(Changes(at=NOW, event_key=f"example|telegram|{n:0>40}"))
    assert store.db.execute("PRAGMA page_count").fetchone()[0] > empty + 50
    store.prune(NOW + timedelta(days=8))
    assert not store.seen("example|telegram|" + "0" * 40)
    assert store.db.execute("PRAGMA page_count").fetchone()[0] <= empty + 1
    assert store.db.execute("PRAGMA freelist_count").fetchone()[0] == 0
    store.close()


def test_the_log_checkpointed_apart_is_still_emptied_after_an_erasure(tmp_path: Path) -> None:
    """Checkpoints run in a thread of the store's own; after an erasure the log is
    empty all the same (no old page of the erased rows stays in it), and a closed
    store leaves everything in the database file."""
    store = SQLiteStore(tmp_path / "c.db")
    for n in range(EVERY * 4):  # the thread checkpoints meanwhile
        store.apply(Changes(at=NOW, event_key=f"e{n}", conversations={("c", f"m{n}"): {"n": n}}))
    store.erase_delivered("console", "m1")
    assert (tmp_path / "c.db-wal").stat().st_size == 0
    store.close()
    assert not (tmp_path / "c.db-wal").exists()
    reopened = SQLiteStore(tmp_path / "c.db")
    assert reopened.load_conversation("c", f"m{EVERY * 4 - 1}") == {"n": EVERY * 4 - 1}
    reopened.close()


@pytest.mark.parametrize("durable", [False, True])
def test_the_log_starts_over_while_the_store_writes_without_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool
) -> None:
    """A writer that never pauses keeps a passive checkpoint from ever copying the
    whole log, so the log would only grow; the thread copies its last frames while
    the store writes nothing, and the store's next transaction starts it over. No
    checkpoint of SQLite's that holds the writer back (RESTART) is needed."""
    monkeypatch.setattr(checkpoints, "RESTART_AT", 100)
    forced: list[str] = []
    monkeypatch.setattr(Checkpointer, "restart", lambda self, conn: forced.append("restart"))
    store = SQLiteStore(tmp_path / "c.db", durable=durable)
    log_sizes = []
    for n in range(EVERY * 60):
        state = {"n": n, "words": "x" * 3000}  # a page of its own, and more
        store.apply(Changes(at=NOW, event_key=f"e{n}", conversations={("c", f"m{n}"): state}))
        if n % EVERY == 0:
            log_sizes.append((tmp_path / "c.db-wal").stat().st_size)
    store.close()
    assert forced == []
    # Every event writes a few pages: without starting over, the log would have
    # reached EVERY * 60 * 2 of them (31 MB).
    assert max(log_sizes) < EVERY * 60 * 2 * 4096 / 4


def test_the_log_is_bounded_when_the_gate_cannot_be_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction that stays open longer than the thread waits (here the gate is
    held while writes go around it) leaves no moment without writes: SQLite's RESTART
    checkpoint starts the log over then, so it stays bounded all the same."""
    monkeypatch.setattr(checkpoints, "RESTART_AT", 100)
    monkeypatch.setattr(checkpoints, "CATCH_UP_WAIT", 0.001)
    forced: list[str] = []
    restart = Checkpointer.restart

    def counted(self: Checkpointer, conn: sqlite3.Connection) -> None:
        forced.append("restart")
        restart(self, conn)

    monkeypatch.setattr(Checkpointer, "restart", counted)
    store = SQLiteStore(tmp_path / "c.db")
    assert store._checkpoints is not None
    store._gate.enter()
    written = 0
    try:
        for n in range(EVERY * 20):
            store._conn.execute("INSERT INTO inbox VALUES (?, ?)", (f"{n}" + "x" * 3000, "-"))
            written += 1
            store._checkpoints.committed()
            if forced:
                break
        waited = 0
        while not forced and waited < 1000:  # (the thread's turn: at most 10 s)
            time.sleep(0.01)
            waited += 1
    finally:
        store._gate.leave()
        store.close()
    assert forced
    reopened = SQLiteStore(tmp_path / "c.db")  # nothing lost to the log starting over
    assert reopened.db.execute("SELECT count(*) FROM inbox").fetchone()[0] == written
    reopened.close()


@pytest.mark.parametrize("count", [1, 3, 70])
def test_a_turns_replies_keep_their_order_in_the_outbox(store: SQLiteStore, count: int) -> None:
    """However many replies one event makes, they wait and go out in the order made."""
    says = [("c", Say(Place.direct(ANA), f"reply {n}")) for n in range(count)]
    items = store.apply(Changes(at=NOW, event_key=f"e{count}", outbox=says)) or []
    assert [item.action for item in items] == [action for _, action in says]
    assert [item.id for item in store.pending_outbox()] == [item.id for item in items]
    assert [item.action for item in store.pending_outbox()] == [action for _, action in says]


def test_a_profile_is_stored_without_its_defaults_and_read_back_whole(
    store: SQLiteStore,
) -> None:
    """Every member's row is smaller by the fields they never set (no mentor, not left,
    no notices...), and reads back as written; a row an earlier version wrote with
    every field reads the same."""
    profile = profile_to_dict(Profile("Ana", chosen_locale="es", interests=["code"]))
    changes = Changes(at=NOW, event_key="e1", profiles={("c", ANA.key): profile})
    assert store.apply(changes) is not None
    (row,) = store.db.execute("SELECT profile FROM profiles").fetchone()
    assert json.loads(row) == {"name": "Ana", "chosen_locale": "es", "interests": ["code"]}
    assert store.load_profile("c", ANA.key) == profile
    store.db.execute("UPDATE profiles SET profile = ?", (json.dumps(profile),))
    assert store.load_profile("c", ANA.key) == profile
    # A field added to Profile is filled in as the others are (or every read differs).
    assert profile_from_stored({}) == profile_to_dict(Profile())
