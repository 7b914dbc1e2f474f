"""Strict durability (``durability: strict``): every step is on disk before its replies
leave, and concurrent conversations share their fsyncs."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import bot.store.checkpoints as checkpoints_module
import bot.store.sqlite as sqlite_module
from bot.app import build_engine
from bot.config.community import Config
from bot.core.actions import Action, NotifyModerators
from bot.core.clock import ManualClock
from bot.core.errors import Conflict, StoreError
from bot.engine.engine import Engine
from bot.store.group_sync import GroupSync
from bot.store.sqlite import SQLiteStore
from bot.store.types import Changes
from bot.store.writes import ClaimCaseNumbers
from tests.conftest import COMMUNITY, RecordingAdapter, joined, says


class SyncWatch:
    """Which outbox items each fsync of the log covered, seen from the engine's side:
    an item counts as durable only once a sync that started after its commit ended
    (the COMMIT of its batch, not the end of its event's writes)."""

    def __init__(self, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
        self.written: list[int] = []  # by the events, in order
        self.committed = 0  # how many of ``written`` a COMMIT ended
        self.durable = 0  # how many of ``written`` are known to be on disk
        self.log_syncs = 0
        store = engine.services.store
        assert isinstance(store, SQLiteStore)
        real_apply, real_fsync = store._apply, sqlite_module.fsync_path

        def apply(changes: Changes) -> Any:
            items = real_apply(changes)
            self.written += [item.id for item in items or []]
            return items

        def fsync(path: str) -> None:
            covered = self.committed  # read as the sync starts, in its thread
            real_fsync(path)
            if path.endswith("-wal"):
                self.log_syncs += 1
                self.durable = max(self.durable, covered)

        def traced(sql: str) -> None:
            if sql == "COMMIT":
                self.committed = len(self.written)

        monkeypatch.setattr(store, "_apply", apply)
        monkeypatch.setattr(sqlite_module, "fsync_path", fsync)
        store._conn.set_trace_callback(traced)

    def is_durable(self, outbox_id: int | None) -> bool:
        return outbox_id in self.written[: self.durable]


class CheckingAdapter(RecordingAdapter):
    def __init__(self, watch: list[SyncWatch]) -> None:
        super().__init__()
        self.watch = watch
        self.early: list[Action] = []

    async def deliver(self, action: Action, idempotency_key: str) -> None:
        if not self.watch[0].is_durable(int(idempotency_key)):
            self.early.append(action)
        await super().deliver(action, idempotency_key)


Strict = tuple[Engine, CheckingAdapter, SyncWatch]


@pytest.fixture
def strict(config: Config, database: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Strict]:
    """An engine on a strict store, its adapter noting replies sent before their sync."""
    engine = build_engine(dataclasses.replace(config, durability="strict"), database, ManualClock())
    watches: list[SyncWatch] = []
    adapter = CheckingAdapter(watches)
    engine.add_adapter(adapter)
    watches.append(SyncWatch(engine, monkeypatch))
    yield engine, adapter, watches[0]
    engine.services.store.close()


async def test_strict_mode_puts_each_step_on_disk_before_its_replies(strict: Strict) -> None:
    engine, adapter, watch = strict
    assert engine.services.store.durable
    await engine.handle(joined("ana"))
    await engine.handle(says("ana", "2"))  # Español
    assert adapter.texts("ana") and adapter.early == []
    assert watch.log_syncs == 2  # one per step when nothing else is going on


async def test_concurrent_conversations_share_fsyncs(strict: Strict) -> None:
    engine, adapter, watch = strict
    names = [f"member{i}" for i in range(40)]
    await asyncio.gather(*(engine.handle(joined(name)) for name in names))
    await asyncio.gather(*(engine.handle(says(name, "1")) for name in names))
    # Every member was welcomed and asked the next question, after their step was on
    # disk, yet 80 steps needed far fewer than 80 fsyncs.
    assert all(len(adapter.texts(name)) >= 3 for name in names)
    assert adapter.early == []
    assert engine.group_sync is not None and engine.group_sync.waits == 80
    assert 2 <= watch.log_syncs <= 10


async def test_a_failed_fsync_holds_the_replies_back_and_loses_nothing(
    strict: Strict, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, adapter, _ = strict
    real_fsync = sqlite_module.fsync_path

    def failing(path: str) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(sqlite_module, "fsync_path", failing)
    with pytest.raises(OSError, match="disk gone"):
        await engine.handle(joined("ana"))
    assert adapter.sent == []  # not known to be on disk: nothing went out
    monkeypatch.setattr(sqlite_module, "fsync_path", real_fsync)
    assert await engine.flush_outbox() >= 2  # committed all along; delivered now
    assert "Welcome" in adapter.texts("ana")[0]
    await engine.handle(says("ana", "1"))  # and the conversation goes on
    assert len(adapter.texts("ana")) >= 3


def test_a_strict_store_keeps_full_sync_for_every_other_write(tmp_path: Path) -> None:
    """Outside the event loop an event's commit is its own, without its fsync; every
    other write (a mark made on its own here) is synced as before."""
    store = SQLiteStore(tmp_path / "durable.db", durable=True)
    try:
        clock = ManualClock()
        change = Changes(at=clock.now(), outbox=[(COMMUNITY, NotifyModerators("test", "hi"))])
        [item] = store.apply(change, sync_later=True) or [None]
        assert item is not None
        store.mark_sent(item.id, clock.now())
        assert store.pending_outbox() == []
        assert list(store._conn.execute("PRAGMA synchronous")) == [(2,)]  # FULL
        store.sync_log()  # and the log can be synced from any thread, by name
    finally:
        store.close()


def _event(key: str, *claims: ClaimCaseNumbers) -> Changes:
    text = NotifyModerators("test", f"reply to {key}")
    return Changes(
        at=ManualClock().now(), event_key=key, outbox=[(COMMUNITY, text)], writes=list(claims)
    )


def _stored_keys(path: Path) -> list[str]:
    """What another connection (another process) finds committed."""
    with contextlib.closing(sqlite3.connect(path)) as other:
        return [key for (key,) in other.execute("SELECT event_key FROM inbox ORDER BY 1")]


async def test_events_of_one_pass_commit_together_and_fail_alone(tmp_path: Path) -> None:
    path = tmp_path / "durable.db"
    store = SQLiteStore(path, durable=True)
    commits: list[str] = []
    store._conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    try:
        claim = ClaimCaseNumbers(COMMUNITY, "report", 1, 1)
        assert store.apply(_event("a", claim), sync_later=True)
        with pytest.raises(Conflict):  # the same number again: this event alone fails
            store.apply(_event("b", claim), sync_later=True)
        assert store.apply(_event("c"), sync_later=True)
        assert _stored_keys(path) == []  # one transaction, not committed yet
        store.end_batch()  # what a group sync does before it syncs
        # One commit for the three events (before it, the new database's first block
        # of ids was reserved in a commit of its own: bot.store.id_blocks).
        assert _stored_keys(path) == ["a", "c"] and len(commits) == 2
        assert [item.action for item in store.pending_outbox()] == [
            NotifyModerators("test", "reply to a"),
            NotifyModerators("test", "reply to c"),
        ]
        assert list(store._conn.execute("PRAGMA synchronous")) == [(2,)]  # FULL again
        assert store.apply(_event("d"), sync_later=True)
        await asyncio.sleep(0)  # nobody waits for a sync: the loop's next pass commits
        assert _stored_keys(path) == ["a", "c", "d"] and len(commits) == 3
    finally:
        store.close()


async def test_the_log_starts_over_between_batches_that_never_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Strict mode under a steady stream (a batch of events each pass of the loop): the
    checkpoint thread copies the log's last frames between two batches, the next batch
    starts the log over, and no RESTART checkpoint (which holds the writer back) is
    needed; every event is stored."""
    monkeypatch.setattr(checkpoints_module, "RESTART_AT", 100)
    forced: list[str] = []
    monkeypatch.setattr(
        checkpoints_module.Checkpointer, "restart", lambda self, conn: forced.append("x")
    )
    path = tmp_path / "durable.db"
    store = SQLiteStore(path, durable=True)
    group_sync = GroupSync(store.sync_log, store.end_batch)
    log_sizes = []
    try:
        for n in range(3000):
            change = _event(f"e{n}")
            change.conversations[(COMMUNITY, f"m{n}")] = {"words": "x" * 3000}
            assert store.apply(change, sync_later=True)
            if n % 10 == 9:  # ten events a pass, each pass's batch synced
                await group_sync.synced()
                log_sizes.append((tmp_path / "durable.db-wal").stat().st_size)
    finally:
        store.close()
    assert len(_stored_keys(path)) == 3000
    assert forced == []
    # Without starting over, the log would hold all 3,000 events' pages (over 6,000).
    assert max(log_sizes) < 6000 * 4096 / 4


class FailingCommit:
    """The engine's connection, whose next COMMIT fails as a disk error would."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.failures = 1

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT" and self.failures:
            self.failures -= 1
            raise sqlite3.OperationalError("disk I/O error")
        return self.conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


async def test_a_batch_that_fails_to_commit_sends_nothing_and_is_handled_again(
    strict: Strict, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, adapter, _ = strict
    store = engine.services.store
    assert isinstance(store, SQLiteStore)
    await engine.handle(joined("ana"))
    welcome, sent_before = len(adapter.texts("ana")), list(adapter.sent)
    monkeypatch.setattr(store._batch, "_conn", FailingCommit(store._conn))
    step = says("ana", "2")  # Español
    results = await asyncio.gather(
        engine.handle(step), engine.handle(joined("bo")), return_exceptions=True
    )
    # Both events were in the lost batch: both hear it, and nothing of them went out.
    assert all(isinstance(result, StoreError) for result in results)
    assert len(adapter.texts("ana")) == welcome and adapter.texts("bo") == []
    # Nothing of them is stored; the sent marks that rode with them are lost too, so
    # those replies may go again (at least once), never one of the lost events'.
    assert all(item.action in sent_before for item in store.pending_outbox())
    # The platform delivers them again: handled on what is stored, not on what was lost.
    assert await engine.handle(step) and await engine.handle(joined("bo"))
    assert "Seguir" in " ".join(adapter.texts("ana")[welcome:])  # the next step, in Spanish
    assert "Welcome" in adapter.texts("bo")[0]
    assert adapter.early == []


def test_normal_mode_has_no_group_sync(engine: Engine) -> None:
    assert not engine.services.store.durable and engine.group_sync is None


async def test_a_group_sync_commits_what_is_open_first_and_never_syncs_a_lost_batch() -> None:
    calls: list[str] = []
    lost: list[StoreError] = []

    def settle() -> None:
        calls.append("settle")
        if lost:
            raise lost.pop()

    group = GroupSync(lambda: calls.append("sync"), settle)
    await group.synced()
    assert calls == ["settle", "sync"]
    lost.append(StoreError("a batch of events was not stored"))
    with pytest.raises(StoreError, match="not stored"):
        await group.synced()
    assert calls == ["settle", "sync", "settle"]  # its waiters never hear "durable"
    await group.synced()  # and the next group syncs as before
    assert calls[-2:] == ["settle", "sync"]


async def test_a_held_record_is_written_at_once_with_a_batch_open(tmp_path: Path) -> None:
    """A sent message's record must be stored before the adapter's next call to its
    platform (a crash then leaves at most one message unrecorded): it does not wait for
    the batch, which it commits before it (the batch holds whole events only)."""
    path = tmp_path / "durable.db"
    store = SQLiteStore(path, durable=True)
    try:
        assert store.apply(_event("a"), sync_later=True)  # this pass's batch is open
        store.set_member_record_later("telegram", "5", "sent", "[1]")
        store.write_held_records()  # the adapter is about to call Telegram again
        with contextlib.closing(sqlite3.connect(path)) as other:
            records = list(
                other.execute("SELECT platform, member, name, value FROM member_records")
            )
        assert records == [("telegram", "5", "sent", "[1]")]
        assert _stored_keys(path) == ["a"]
        assert list(store._conn.execute("PRAGMA synchronous")) == [(2,)]  # FULL again
    finally:
        store.close()
