"""The send queue: one line at a time, paced, each confirmed by the server.

No IRC network publishes a message rate; going over the server's limit gets the bot
disconnected for "Excess Flood". Lines go out through a token bucket
(adapters/pacing.py): ``send_rate`` a second with bursts of ``send_burst``, 1 and 4
by default.

IRC has no delivery receipts, so after each line the sender asks ``PING <token>`` and
waits for the ``PONG``: the server answers in order, so the line before it was taken
(or refused: a nick that is gone, a channel that will not take it, and the refusal
arrives before the PONG). A line is counted for its action (by the outbox's
idempotency key) only once confirmed, so when the connection drops in the middle of
a long message the retry sends only the lines not yet confirmed: nothing is lost and
nothing repeated (a line the server took in the instant the connection died is the
one that can show twice).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from adapters.irc.events import casefold
from adapters.pacing import TokenBucket
from bot.core.errors import DeliveryError, Undeliverable

log = logging.getLogger(__name__)

# Numerics that refuse a PRIVMSG for good: no such nick or channel, cannot send to the
# channel (moderated, banned), the member only takes messages from registered nicks or
# accepted senders.
REFUSALS = frozenset({"401", "403", "404", "477", "486", "492", "531", "716"})
_KEEP = 10_000


class Connection(Protocol):
    """The part of the pydle client the sender uses."""

    async def rawmsg(self, command: str, *args: str) -> None: ...


class Sender:
    def __init__(self, rate: float, burst: int, confirm_timeout: float = 30.0) -> None:
        self.bucket = TokenBucket(rate, burst)
        self.confirm_timeout = confirm_timeout
        self.connection: Connection | None = None  # set while registered
        self.stalled: Callable[[], None] | None = None  # told when a PONG never came
        # Told of every wait under the pacing, in seconds (operators' metrics).
        self.waited: Callable[[float], None] = lambda seconds: None
        self._turn = asyncio.Lock()  # one line at a time, in the order asked
        self._tokens = itertools.count(1)
        self._pongs: dict[str, asyncio.Future[None]] = {}
        self._refused: dict[str, str] = {}
        self._waiting_for: str | None = None
        # Lines confirmed so far of each action (by idempotency key).
        self.progress: OrderedDict[str, int] = OrderedDict()

    # Connection state ------------------------------------------------------------

    def connected(self, connection: Connection) -> None:
        self.connection = connection

    def disconnected(self) -> None:
        """Whatever waits for a PONG learns the line is not confirmed."""
        self.connection = None
        for future in self._pongs.values():
            if not future.done():
                future.set_exception(DeliveryError("irc: disconnected"))

    # What the server says --------------------------------------------------------

    def pong(self, token: str) -> None:
        future = self._pongs.get(token)
        if future is not None and not future.done():
            future.set_result(None)

    def refused(self, numeric: str, target: str, reason: str) -> None:
        """A numeric refusing a line to ``target``; kept when a line to it waits."""
        if numeric in REFUSALS and self._waiting_for == casefold(target):
            self._refused[casefold(target)] = f"{numeric} {reason}"

    # Sending ---------------------------------------------------------------------

    async def send(self, key: str, command: str, target: str, lines: list[str]) -> None:
        """Send ``lines`` to ``target``, skipping those confirmed for ``key`` before."""
        done = self.progress.get(key, 0)
        for index, line in enumerate(lines):
            if index < done:
                continue
            await self.line(command, target, line)
            self.progress[key] = index + 1
            self.progress.move_to_end(key)
            while len(self.progress) > _KEEP:
                self.progress.popitem(last=False)

    async def line(self, command: str, target: str, text: str) -> None:
        """One paced line, confirmed; DeliveryError when the connection is gone,
        Undeliverable when the server refused it."""
        async with self._turn:
            await self._pace()
            connection = self.connection
            if connection is None:
                raise DeliveryError("irc: not connected")
            token = f"concord-{next(self._tokens)}"
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._pongs[token] = future
            self._waiting_for = casefold(target)
            try:
                await connection.rawmsg(command, target, text)
                await connection.rawmsg("PING", token)
                async with asyncio.timeout(self.confirm_timeout):
                    await future
            except TimeoutError as exc:
                # No PONG in all that time: the link is dead though the socket is open.
                if self.stalled is not None:
                    self.stalled()
                raise DeliveryError("irc: line not confirmed (no answer from the server)") from exc
            except (OSError, AttributeError) as exc:
                # AttributeError: pydle dropped its writer as the connection closed.
                raise DeliveryError(f"irc: line not confirmed ({type(exc).__name__})") from exc
            finally:
                self._pongs.pop(token, None)
                self._waiting_for = None
            reason = self._refused.pop(casefold(target), None)
            if reason is not None:
                # The reason names no member (a nick is theirs): the numeric and its text.
                where = target if target[:1] in "#&" else "a member"
                raise Undeliverable(f"irc: the server refused a line to {where}: {reason}")

    async def _pace(self) -> None:
        waited = 0.0
        while (delay := self.bucket.wait_time()) > 0:
            await asyncio.sleep(delay)
            waited += delay
        if waited:
            self.waited(waited)
        self.bucket.tokens -= 1
