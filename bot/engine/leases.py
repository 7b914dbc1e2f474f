"""Roles one process of a deployment holds at a time, as leases in the shared store
(``Store.hold_lease``): the Telegram poller (Telegram answers 409 Conflict to a second
``getUpdates``), the one sender of a bot token (its rate limits are the token's, not a
process's).

A process asks for a lease by name; a heartbeat takes it when it is free and renews
it while held. A lease lasts ``LEASE_SECONDS`` by the database's clock unless renewed,
so a process killed with SIGKILL (or cut off from the database) loses it within that
time and another takes it at its next beat. This process believes it holds a lease
only until a margin before the database would let it lapse (measured from before the
renewal was asked for, by this process's monotonic clock), so two processes never
both believe they hold one. On a store no other process shares (SQLite), this process
holds every lease and the store is never asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable

from bot.core.errors import StoreUnavailable
from bot.store.protocol import DeliveryStore

log = logging.getLogger(__name__)

LEASE_SECONDS = 6.0  # how long a lease lasts in the store unless renewed
BEAT_SECONDS = 1.5  # how often every wanted lease is taken or renewed
# What this process counts on of a renewal: it stops acting before the store's expiry.
TRUSTED = 0.7


class Leases:
    def __init__(
        self,
        store: DeliveryStore,
        *,
        shared: bool,
        seconds: float = LEASE_SECONDS,
        beat: float = BEAT_SECONDS,
    ) -> None:
        self.store = store
        self.shared = shared
        self.seconds = seconds
        self.beat = beat
        # Names the process by machine and pid (for operators reading the table).
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._wanted: set[str] = set()
        self._until: dict[str, float] = {}  # name -> monotonic time it surely lasts until
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.taken: list[Callable[[str], None]] = []  # told of each lease newly held

    def holds(self, name: str) -> bool:
        """Whether this process holds ``name`` now (asking for it if it did not)."""
        if not self.shared:
            return True
        if name not in self._wanted:
            self._wanted.add(name)
            self._renew([name])
        self._start()
        return self._until.get(name, 0.0) > time.monotonic()

    async def hold(self, name: str) -> None:
        """Return once this process holds ``name`` (at once when it does)."""
        while not self.holds(name):
            await self._next_change()

    async def lost(self, name: str) -> None:
        """Return once this process no longer holds ``name`` (never, unshared)."""
        if not self.shared:
            await asyncio.Event().wait()
        while self.holds(name):
            await self._next_change(self._until.get(name, 0.0) - time.monotonic())

    async def _next_change(self, longest: float | None = None) -> None:
        changed = self._changed
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(longest or self.beat, 0.01)):
                await changed.wait()

    def _start(self) -> None:
        if self._task is None or self._task.done():
            with contextlib.suppress(RuntimeError):  # no event loop yet: at the next ask
                self._task = asyncio.get_running_loop().create_task(self._beating())

    async def _beating(self) -> None:
        while True:
            await asyncio.sleep(self.beat)
            try:
                self._renew(sorted(self._wanted))
            except Exception:  # a bug must not stop the beat: the leases would lapse
                log.exception("renewing leases failed")

    def _renew(self, names: list[str]) -> None:
        for name in names:
            started = time.monotonic()
            held = name in self._until and self._until[name] > started
            try:
                now_held = self.store.hold_lease(name, self.holder, self.seconds)
            except StoreUnavailable:
                now_held = False  # it lapses in the store too; taken again once back
            if now_held:
                self._until[name] = started + self.seconds * TRUSTED
            else:
                self._until.pop(name, None)
            if now_held != held:
                log.info("%s lease %s", "took the" if now_held else "no longer holds the", name)
                self._notify()
                for call in self.taken if now_held else ():
                    call(name)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def close(self) -> None:
        """Stop renewing and let every held lease go, so another process takes it at
        once (a process that dies without this loses them by expiry)."""
        if self._task is not None:
            self._task.cancel()
        for name in list(self._until):
            with contextlib.suppress(StoreUnavailable):
                self.store.release_lease(name, self.holder)
        self._until.clear()
        self._wanted.clear()
