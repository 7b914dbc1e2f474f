"""Strict durability (``durability: strict``): every step is on disk before its replies
leave, and concurrent conversations share their fsyncs."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import bot.store.sqlite as sqlite_module
from bot.app import build_engine
from bot.config.community import Config
from bot.core.actions import Action, NotifyModerators
from bot.core.clock import ManualClock
from bot.engine.engine import Engine
from bot.store.sqlite import SQLiteStore
from bot.store.types import Changes
from tests.conftest import COMMUNITY, RecordingAdapter, joined, says


class SyncWatch:
    """Which outbox items each fsync of the log covered, seen from the engine's side:
    an item counts as durable only once a sync that started after its commit ended."""

    def __init__(self, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
        self.committed: list[int] = []
        self.durable = 0  # how many of ``committed`` are known to be on disk
        self.log_syncs = 0
        store = engine.services.store
        real_apply, real_fsync = store._apply, sqlite_module.fsync_path

        def apply(changes: Changes) -> Any:
            items = real_apply(changes)
            self.committed += [item.id for item in items or []]
            return items

        def fsync(path: str) -> None:
            covered = len(self.committed)  # read as the sync starts, in its thread
            real_fsync(path)
            if path.endswith("-wal"):
                self.log_syncs += 1
                self.durable = max(self.durable, covered)

        monkeypatch.setattr(store, "_apply", apply)
        monkeypatch.setattr(sqlite_module, "fsync_path", fsync)

    def is_durable(self, outbox_id: int | None) -> bool:
        return outbox_id in self.committed[: self.durable]


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
    """Only the engine's grouped commits skip their own fsync; marks, and writes made
    outside an event, are synced as before."""
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


def test_normal_mode_has_no_group_sync(engine: Engine) -> None:
    assert not engine.services.store.durable and engine.group_sync is None
