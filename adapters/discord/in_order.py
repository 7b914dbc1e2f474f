"""Each member's Discord events handed in in the order they arrived."""

from __future__ import annotations

import asyncio


class InOrder:
    """Hands in each member's events in the order they arrived, even when some wait
    on Discord first (answering an interaction). A ticket is taken synchronously, as
    the event's task starts; discord.py starts those tasks in arrival order."""

    def __init__(self) -> None:
        self._tails: dict[int, asyncio.Future[None]] = {}

    def ticket(self, key: int) -> tuple[asyncio.Future[None] | None, asyncio.Future[None]]:
        previous = self._tails.get(key)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[key] = mine
        return previous, mine

    @staticmethod
    async def wait(previous: asyncio.Future[None] | None) -> None:
        if previous is not None and not previous.done():
            await asyncio.wait([previous])  # never cancels the previous event's ticket

    def done(self, key: int, mine: asyncio.Future[None]) -> None:
        if not mine.done():
            mine.set_result(None)
        if self._tails.get(key) is mine:
            del self._tails[key]
