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
from bot.store.sqlite import SQLiteStore
from bot.store.types import Changes
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
