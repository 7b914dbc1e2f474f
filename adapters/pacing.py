"""Pacing outgoing messages under a platform's limits, so a burst of joins ends in
every welcome delivered rather than in rate-limit errors."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict


class TokenBucket:
    """``rate`` sends a second on average, with bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = time.monotonic()

    def wait_time(self) -> float:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        needed = (1 - self.tokens) / self.rate
        self.tokens -= 1  # reserve this send; the next caller waits behind it
        return needed


class Pacer:
    """A global bucket plus one bucket per chat (Telegram: ~30/s overall, ~1/s per
    chat). Per-chat buckets are kept in a bounded map."""

    def __init__(
        self,
        per_second: float,
        burst: float,
        per_chat_second: float,
        per_chat_burst: float,
        max_chats: int = 10_000,
    ) -> None:
        self.overall = TokenBucket(per_second, burst)
        self.per_chat_second = per_chat_second
        self.per_chat_burst = per_chat_burst
        self.max_chats = max_chats
        self.chats: OrderedDict[str, TokenBucket] = OrderedDict()

    async def wait(self, chat: str) -> None:
        bucket = self.chats.pop(chat, None) or TokenBucket(
            self.per_chat_second, self.per_chat_burst
        )
        self.chats[chat] = bucket
        if len(self.chats) > self.max_chats:
            self.chats.popitem(last=False)
        delay = max(bucket.wait_time(), self.overall.wait_time())
        if delay > 0:
            await asyncio.sleep(delay)
