"""Strict durability at the price of one fsync per group of commits, not per commit.

In strict mode every event's transaction must be on disk before its replies go out
(a power cut after a reply was seen must not forget the step that caused it). An fsync
costs about 150 µs on an ordinary disk, more than the engine's own work for an event;
so, as databases do, events commit without waiting, then wait for a sync of the log
that started after their commit. While one sync runs (in a worker thread, so the event
loop goes on), the commits of other conversations pile up, and the next sync covers
all of them at once (and SQLite commits the events of one pass of the loop together:
``bot.store.commit_batch``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable


class GroupSync:
    """Makes committed transactions durable in groups. ``sync`` is a blocking call that
    makes every commit made before it started durable (``SQLiteStore.sync_log``);
    ``settle``, called on the loop before each sync, commits what is still open and
    raises if writes that a waiter counts on were lost (``SQLiteStore.end_batch``)."""

    def __init__(self, sync: Callable[[], None], settle: Callable[[], None]) -> None:
        self._sync = sync
        self._settle = settle
        self._next: asyncio.Future[None] | None = None  # the sync not started yet
        self._running: asyncio.Task[None] | None = None
        self.syncs = 0  # how many syncs ran
        self.waits = 0  # how many commits waited for one

    async def synced(self) -> None:
        """Return once everything committed before this call is durable."""
        self.waits += 1
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        waiting = self._next
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._run())
        # Shielded: a caller cancelled while waiting must not cancel the sync that
        # other callers wait for.
        await asyncio.shield(waiting)

    async def _run(self) -> None:
        while self._next is not None:
            # Whoever took ``waiting`` before this point committed before the sync starts.
            waiting, self._next = self._next, None
            try:
                self._settle()
                await asyncio.to_thread(self._sync)
            except asyncio.CancelledError:
                # Shutting down: nobody may take an unsynced commit for a durable one.
                for pending in (waiting, self._next):
                    if pending is not None:
                        pending.cancel()
                raise
            except Exception as exc:
                if not waiting.done():
                    waiting.set_exception(exc)
                continue
            self.syncs += 1
            if not waiting.done():
                waiting.set_result(None)


def fsync_path(path: str) -> None:
    """fsync a file or directory by name (a directory, so that a new file's name is
    durable too)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
