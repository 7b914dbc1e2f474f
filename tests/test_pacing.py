"""Pacing: a burst never goes faster than the limits, overall or per chat."""

from __future__ import annotations

import asyncio
import time

from adapters.pacing import Pacer


async def test_burst_stays_under_overall_and_per_chat_limits() -> None:
    pacer = Pacer(per_second=50, burst=5, per_chat_second=20, per_chat_burst=2)
    sent: list[tuple[float, str]] = []

    async def send(chat: str) -> None:
        await pacer.wait(chat)
        sent.append((time.monotonic(), chat))

    start = time.monotonic()
    await asyncio.gather(*(send(f"c{i % 4}") for i in range(40)))
    assert len(sent) == 40
    # In any window of one second there are at most burst + rate sends overall...
    times = sorted(t for t, _ in sent)
    for i, t in enumerate(times):
        assert sum(1 for u in times[i:] if u - t < 1.0) <= 5 + 50
    # ...and per chat at most its burst + rate.
    for chat in ("c0", "c1", "c2", "c3"):
        mine = sorted(t for t, c in sent if c == chat)
        for i, t in enumerate(mine):
            assert sum(1 for u in mine[i:] if u - t < 1.0) <= 2 + 20
    # 40 sends at 50/s with a burst of 5 need at least (40 - 5) / 50 seconds.
    assert time.monotonic() - start >= (40 - 5) / 50 * 0.9


async def test_every_wait_under_the_limits_is_reported() -> None:
    waits: list[float] = []
    pacer = Pacer(per_second=10, burst=2, per_chat_second=10, per_chat_burst=2)
    pacer.waited = waits.append
    for _ in range(2):
        await pacer.wait("c")
    assert waits == []  # the burst goes out without waiting
    for _ in range(2):
        await pacer.wait("c")  # a token comes every 0.1 s: each of these waits for one
    assert len(waits) == 2 and all(w > 0 for w in waits)
