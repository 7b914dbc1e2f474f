"""The timers of every community one process serves, fired by one loop.

The store holds every community's timers; each fires as an event of its own
community, handled by that community's engine (a deployment of many communities
runs this loop once, not once per community). Housekeeping (the retention purge,
pruning delivered messages) runs once a day here too: on a store several processes
share, in the one process that takes that day's lease first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime, timedelta
from typing import Protocol

from bot.core.clock import Clock
from bot.core.errors import StoreUnavailable
from bot.core.events import TimerFired
from bot.engine.outage import Outage
from bot.store.protocol import ServiceStore

log = logging.getLogger(__name__)
HOUSEKEEPING = "housekeeping"
# The day's housekeeping belongs to the process that took this lease; shorter than a
# day, so whichever process comes first the next day takes it again.
HOUSEKEEPING_HOURS = 20


class Community(Protocol):
    """What the timers need from one community's engine."""

    @property
    def community(self) -> str: ...

    @property
    def retention_days(self) -> int | None: ...

    async def handle(self, event: TimerFired, *, timer_id: int | None = None) -> bool: ...


class Timers:
    def __init__(
        self, store: ServiceStore, clock: Clock, outage: Outage, holder: str = "this process"
    ) -> None:
        self.store = store
        self.holder = holder  # this process, by the name its leases are held under
        self.clock = clock
        self.outage = outage
        self.engines: dict[str, Community] = {}
        self.wakeup = asyncio.Event()
        # A turn scheduled a timer due now (a signal to another member): fired right
        # after that turn, outside its member's lock.
        self.signalled = False
        self.firing = False
        self.next_housekeeping = clock.now()

    def add(self, engine: Community) -> None:
        self.engines[engine.community] = engine

    async def fire_due(self) -> int:
        """Handle every timer due now; each firing is an event like any other."""
        fired = 0
        self.firing = True
        try:
            while True:
                self.signalled = False
                fired += await self._fire_due(self.clock.now())
                if not self.signalled:
                    break
        finally:
            self.firing = False
        return fired

    async def _fire_due(self, now: datetime) -> int:
        fired = 0
        while due := self.store.due_timers(now, limit=200):
            for timer in due:
                engine = self._engine_of(timer.community)
                if engine is None:
                    # A community no longer served (its file left the folder): its timer
                    # can never fire here.
                    log.warning("a timer of a community no longer served is dropped")
                    self.store.delete_timer(timer.id)
                    continue
                event = TimerFired(
                    event_id=f"timer:{timer.id}",
                    community=timer.community,
                    member=timer.member,
                    kind=timer.kind,
                    payload=timer.payload,
                )
                if await engine.handle(event, timer_id=timer.id):
                    fired += 1
                else:
                    self.store.delete_timer(timer.id)
        return fired

    def _engine_of(self, community: str) -> Community | None:
        engine = self.engines.get(community)
        if engine is None and len(self.engines) == 1:
            # One community: its timers, whatever id the config gave it since.
            return next(iter(self.engines.values()))
        return engine

    def housekeeping(self) -> int:
        """The retention policy of each community and the pruning of delivered
        messages, once a day."""
        now = self.clock.now()
        removed = 0
        hours = HOUSEKEEPING_HOURS * 3600
        if self.store.shared and not self.store.hold_lease(HOUSEKEEPING, self.holder, hours):
            log.info("housekeeping: done today by another process")
            self.next_housekeeping = now + timedelta(days=1)
            return 0
        for engine in self.engines.values():
            days = engine.retention_days
            if days is None:
                continue
            log.info("retention purge: texts and conversations older than %d days", days)
            started = time.perf_counter()
            purged = self.store.purge(engine.community, now - timedelta(days=days))
            took = time.perf_counter() - started
            log.info("retention purge: %d removed in %.1f s", purged, took)
            removed += purged
        self.store.prune(now - timedelta(days=7))
        ended = self.store.drop_expired_records(now)
        if ended:
            log.info("housekeeping: %d adapter records past their use deleted", ended)
        self.next_housekeeping = now + timedelta(days=1)
        return removed

    async def run(self, poll: timedelta = timedelta(seconds=60)) -> None:
        """Sleep until the next timer is due (or a new one is set), fire, repeat."""
        while True:
            try:
                if self.clock.now() >= self.next_housekeeping:
                    self.housekeeping()
                await self.fire_due()
                due = self.store.next_timer_due()
            except StoreUnavailable as exc:
                await self.outage.wait(exc)
                continue
            wait = poll.total_seconds()
            if due is not None:
                wait = min(wait, max((due - self.clock.now()).total_seconds(), 0.0))
            self.wakeup.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a
            # cancellation that arrives as the wake-up does, and the loop would go on.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self.wakeup.wait()
