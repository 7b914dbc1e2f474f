"""Pacing outgoing messages under a platform's limits, so a burst of joins ends in
every welcome delivered rather than in rate-limit errors."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable


class TokenBucket:
    """``rate`` sends a second on average, with bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = time.monotonic()

    def refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_time(self) -> float:
        """Seconds until a token is free (0 when one is free now); takes nothing."""
        self.refill()
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


class Pacer:
    """A global bucket plus one bucket per chat (Telegram: ~30/s overall, ~1/s per
    chat). A send waits until BOTH have a token and only then takes one from each, so
    sends held back by one chat never burst past the overall limit together. Per-chat
    buckets are kept in a bounded map."""

    def __init__(
        self,
        per_second: float,
        burst: float,
        per_chat_second: float,
        per_chat_burst: float,
        max_chats: int = 10_000,
        waited: Callable[[float], None] | None = None,
    ) -> None:
        self.overall = TokenBucket(per_second, burst)
        # Told of every wait under the limits, in seconds (operators' metrics).
        self.waited: Callable[[float], None] = waited or (lambda seconds: None)
        self.per_chat_second = per_chat_second
        self.per_chat_burst = per_chat_burst
        self.max_chats = max_chats
        self.chats: OrderedDict[str, TokenBucket] = OrderedDict()

    def _bucket(self, chat: str) -> TokenBucket:
        bucket = self.chats.pop(chat, None) or TokenBucket(
            self.per_chat_second, self.per_chat_burst
        )
        self.chats[chat] = bucket
        if len(self.chats) > self.max_chats:
            self.chats.popitem(last=False)
        return bucket

    async def wait(self, chat: str) -> None:
        waited = 0.0
        while True:
            bucket = self._bucket(chat)
            delay = max(bucket.wait_time(), self.overall.wait_time())
            if delay <= 0:
                bucket.tokens -= 1
                self.overall.tokens -= 1
                if waited:
                    self.waited(waited)
                return
            waited += delay
            await asyncio.sleep(delay)
