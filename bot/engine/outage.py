"""Waiting out a database that went away while Concord runs (``StoreUnavailable``).

Whatever met the outage runs again, from its start, once the server answers: an
event is handled again (its inbox id tells whether it was committed after all),
the outbox and the timers take up where they were. One line is logged when the
outage begins and one when it ends, naming the database (never its password) and no
member; the waits grow from half a second to half a minute.
"""

from __future__ import annotations

import asyncio
import logging

from bot.core.errors import StoreUnavailable

log = logging.getLogger(__name__)
FIRST_PAUSE = 0.5
LONGEST_PAUSE = 30.0


class Outage:
    """One per engine: the handling of events, the outbox and the timers share it, so
    an outage is logged once however many of them meet it."""

    def __init__(self) -> None:
        self.down = False
        self._pause = FIRST_PAUSE

    async def wait(self, error: StoreUnavailable) -> None:
        """After ``error``: log (once per outage), then pause before the next try."""
        if not self.down:
            self.down = True
            log.warning("the database went away (%s); retrying with backoff", error)
        pause = self._pause
        self._pause = min(self._pause * 2, LONGEST_PAUSE)
        await asyncio.sleep(pause)

    def over(self) -> None:
        """The database answered again."""
        if self.down:
            self.down = False
            log.warning("the database is back")
        self._pause = FIRST_PAUSE
