"""What waited in the outbox goes out one lane per recipient: a chat held back (by a
platform's rate limit, say) does not hold back the others, and one member's actions,
their role and their direct messages alike, keep the order they were committed in."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from bot.core.actions import Action, GrantRole, Say
from bot.core.clock import ManualClock
from bot.core.events import MemberRef, Place, PlaceKind
from bot.engine.delivery import Outbox
from bot.store.postgres.store import PostgresStore
from bot.store.protocol import Store
from bot.store.sqlite import SQLiteStore
from bot.store.types import Changes, OutboxItem
from tests.conftest import RecordingAdapter

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ANA, BO = MemberRef("test", "ana", "Ana"), MemberRef("test", "bo", "Bo")
SLOW_CHANNEL = Place("test", PlaceKind.CHANNEL, "general")


class SlowChannelAdapter(RecordingAdapter):
    """Delivers at once, except to #general, which waits until it is let go, and a
    role, which takes a moment (a platform call of its own)."""

    def __init__(self) -> None:
        super().__init__()
        self.let_go = asyncio.Event()

    async def deliver(self, action: Action, idempotency_key: str) -> None:
        if isinstance(action, Say) and action.to == SLOW_CHANNEL:
            await self.let_go.wait()
        if isinstance(action, GrantRole):
            await asyncio.sleep(0.2)
        await super().deliver(action, idempotency_key)


async def test_a_held_chat_holds_back_no_other_and_a_members_actions_keep_their_order(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "lanes.db")
    committed: list[Action] = [
        Say(SLOW_CHANNEL, "one for the channel"),
        GrantRole(ANA, "member"),
        Say(Place.direct(ANA), "Welcome: you can write everywhere now."),
        Say(SLOW_CHANNEL, "two for the channel"),
        Say(Place.direct(BO), "Hello Bo."),
        Say(Place.direct(ANA), "Here is where to start."),
    ]
    store.apply(Changes(at=NOW, event_key="e1", outbox=[("example", a) for a in committed]))
    adapter = SlowChannelAdapter()
    outbox = Outbox(store, ManualClock(NOW))
    outbox.add_adapter(adapter)
    try:
        flushing = asyncio.create_task(outbox.flush())
        # Ana's and Bo's actions go out while the channel is held.
        async with asyncio.timeout(10):
            while len(adapter.sent) < 4:
                await asyncio.sleep(0.01)
        anas = [a for a in adapter.sent if a not in (committed[4],)]
        assert anas == [committed[1], committed[2], committed[5]]  # role, welcome, next
        assert committed[4] in adapter.sent
        adapter.let_go.set()
        assert await asyncio.wait_for(flushing, 10) == len(committed)
        # The channel's two, in their order, after it was let go.
        assert adapter.sent[4:] == [committed[0], committed[3]]
        assert store.pending_outbox() == []
    finally:
        store.close()


class HeldAdapter(RecordingAdapter):
    """Holds every delivery until let go, so a flush can run while one is under way."""

    def __init__(self) -> None:
        super().__init__()
        self.let_go = asyncio.Event()
        self.started = asyncio.Event()

    async def deliver(self, action: Action, idempotency_key: str) -> None:
        self.started.set()
        await self.let_go.wait()
        await super().deliver(action, idempotency_key)


def _welcome(store: Store, key: str) -> list[OutboxItem]:
    actions: list[Action] = [
        GrantRole(ANA, "member"),
        Say(Place.direct(ANA), f"Welcome ({key})."),
        Say(Place.direct(ANA), f"Here is where to start ({key})."),
    ]
    items = store.apply(Changes(at=NOW, event_key=key, outbox=[("example", a) for a in actions]))
    assert items is not None
    return items


async def _each_once_in_order(store: Store, shared: bool) -> None:
    """An event's own delivery under way while the retry loop flushes (another
    event's delivery failed, say): each action goes out once, in order."""
    adapter = HeldAdapter()
    outbox = Outbox(store, ManualClock(NOW), shared=shared)
    outbox.add_adapter(adapter)
    items = _welcome(store, "e1")
    own = asyncio.create_task(outbox.deliver_new(items))
    await asyncio.wait_for(adapter.started.wait(), 10)
    flushing = asyncio.create_task(outbox.flush())
    await asyncio.sleep(0.05)
    adapter.let_go.set()
    await asyncio.wait_for(asyncio.gather(own, flushing), 10)
    assert adapter.sent == [item.action for item in items]
    # Delivered, the last mark not yet written (it rides with the next write): a
    # flush at once finds nothing to send again.
    later = _welcome(store, "e2")
    await outbox.deliver_new(later)
    assert await outbox.flush() == 0
    assert adapter.sent == [item.action for item in items + later]
    assert store.pending_outbox() == []


async def test_a_flush_beside_an_events_own_delivery_sends_nothing_twice(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "once.db")
    try:
        await _each_once_in_order(store, shared=False)
    finally:
        store.close()


async def test_on_a_shared_store_too(postgres_url: str, tmp_path: Path) -> None:
    store = PostgresStore(postgres_url, path=tmp_path / "concord.db")
    try:
        await _each_once_in_order(store, shared=True)
    finally:
        store.close()
