"""Load: 10,000 members onboarding at the same time, with no error and flat memory.

Every member walks the whole example onboarding (10 events each); events are
interleaved step by step and handed in concurrently in batches, so all 10,000
conversations are live at once. Memory must not grow with the number of
conversations: state lives in SQLite behind bounded maps. The check is made with the
engine's cache and the rate limiter's buckets bounded to 500 members, so that memory
kept per conversation anywhere else (a map that never evicts, a lock never dropped)
shows up: Python's live allocations (``sys.getallocatedblocks``, exact) and the
process's RSS (which also sees SQLite) are measured before and after. A conversation
and profile kept in RAM cost some 50 blocks and 3-4 KB. No timing is asserted.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from array import array
from collections import Counter
from pathlib import Path

from bot.app import build_engine
from bot.config.community import load_config
from bot.core.clock import ManualClock
from bot.core.events import Event, MemberJoined, MemberRef, Place, TextSaid
from bot.core.state import Conversation, Frame, Profile
from bot.engine.engine import Engine
from bot.engine.middleware import RateLimit
from bot.features.language.actions import SHORT_LIST
from tests.conftest import RecordingAdapter

MEMBERS = 10_000
WARM = 500
CACHE = 500
BATCH = 1_000
ANSWERS = ("1", "1", "1", "1", "1", "1", "1", "1 3", "2")  # language ... no mentor
MAX_BLOCKS_PER_CONVERSATION = 2.0
MAX_BYTES_PER_CONVERSATION = 1_000


class CountingAdapter(RecordingAdapter):
    """Counts the replies to each load member, in an array (one block for all)."""

    platform = "console"

    def __init__(self) -> None:
        super().__init__()
        self.replies = array("l", bytes(8 * MEMBERS))

    async def deliver(self, action: object, idempotency_key: str) -> None:
        to = getattr(action, "to", None) or getattr(action, "member", None)
        name = str(getattr(to, "id", ""))
        if name.startswith("m") and name[1:].isdecimal():
            self.replies[int(name[1:])] += 1


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage())


def rss() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def events(prefix: str, first: int, count: int, step: int) -> list[Event]:
    found: list[Event] = []
    for i in range(first, first + count):
        who = MemberRef("console", f"{prefix}{i}", f"{prefix}{i}")
        if step == 0:
            found.append(MemberJoined(f"{who.id}:0", "example", who))
        else:
            text = str(1 + i % SHORT_LIST) if step == 1 else ANSWERS[step - 1]
            found.append(
                TextSaid(f"{who.id}:{step}", "example", who, place=Place.direct(who), text=text)
            )
    return found


async def onboard(engine: Engine, prefix: str, count: int) -> None:
    for step in range(len(ANSWERS) + 1):
        for first in range(0, count, BATCH):
            batch = events(prefix, first, min(BATCH, count - first), step)
            results = await asyncio.gather(*map(engine.handle, batch))
            assert all(results)
            del batch, results


def live_objects() -> Counter[str]:
    gc.collect()
    kinds = (Conversation, Frame, Profile, asyncio.Lock)
    return Counter(type(o).__name__ for o in gc.get_objects() if isinstance(o, kinds))


async def test_ten_thousand_members_onboard_with_flat_memory(tmp_path: Path) -> None:
    engine = build_engine(load_config(None), tmp_path / "load.db", ManualClock())
    engine._cache_size = CACHE
    for middleware in engine.middlewares:
        if isinstance(middleware, RateLimit):
            middleware.max_members = CACHE
    adapter = CountingAdapter()
    engine.add_adapter(adapter)
    errors = _Errors()
    logging.getLogger("bot").addHandler(errors)
    try:
        await onboard(engine, "warm", WARM)  # every code path and cache warmed up
        gc.collect()
        before_rss, before_blocks = rss(), sys.getallocatedblocks()
        await onboard(engine, "m", MEMBERS)
        gc.collect()
        grown_rss = rss() - before_rss
        grown_blocks = sys.getallocatedblocks() - before_blocks
    finally:
        logging.getLogger("bot").removeHandler(errors)

    assert errors.records == []
    store = engine.services.store
    onboarded = store._conn.execute(
        "SELECT count(*) FROM profiles WHERE member LIKE 'console:m%'"
        " AND profile LIKE '%\"onboarded\":true%'"
    ).fetchone()[0]
    assert onboarded == MEMBERS
    assert store.pending_outbox() == []
    replies = set(adapter.replies)
    assert len(replies) <= 8 and min(replies) >= 15  # the same walk in each language
    # Flat memory: the cache holds at most its bound, nothing else is kept per member.
    assert len(engine._cache) <= CACHE
    assert engine._locks == {} and engine._waiting == {}
    kept = live_objects()
    assert kept["Conversation"] <= CACHE and kept["Profile"] <= CACHE + 1, kept
    assert kept["Lock"] < 10, kept
    assert grown_blocks / MEMBERS < MAX_BLOCKS_PER_CONVERSATION, grown_blocks
    assert grown_rss / MEMBERS < MAX_BYTES_PER_CONVERSATION, grown_rss
    print(
        f"per conversation: {grown_blocks / MEMBERS:+.2f} Python blocks,"
        f" RSS {grown_rss / MEMBERS:+.0f} B; {MEMBERS * (len(ANSWERS) + 1):,} events"
    )
    store.close()
