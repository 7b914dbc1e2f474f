"""Cross-cutting concerns as plain functions around the core handler."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.core.events import CommandRun, Place, PlaceKind, TextSaid, TimerFired
from bot.engine.draft_notice import tell_if_draft
from bot.engine.turn import Turn
from bot.i18n.locales import negotiate, normalize_tag

Handler = Callable[[Turn], Awaitable[None]]
Middleware = Callable[[Turn, Handler], Awaitable[None]]


def choose_locale(turn: Turn) -> str:
    """Explicit choice > platform-reported locale > community default."""
    services = turn.services
    return negotiate(
        [turn.profile.chosen_locale, turn.profile.platform_locale],
        services.languages,
        services.config.default_language,
    )


async def locale_middleware(turn: Turn, call_next: Handler) -> None:
    reported = normalize_tag(turn.event.locale)
    if reported and reported != turn.profile.platform_locale:
        turn.profile.platform_locale = reported
    turn.set_locale(choose_locale(turn))
    await call_next(turn)
    tell_if_draft(turn, after_first_reply=True)


class RateLimit:
    """A per-member token bucket; a member over the limit is told once to slow down.
    Buckets live in a bounded map, so memory stays flat however many members write."""

    def __init__(self, per_minute: int, max_members: int = 10_000) -> None:
        self.per_minute = per_minute
        self.max_members = max_members
        self.buckets: OrderedDict[str, tuple[float, datetime, bool]] = OrderedDict()

    def allow(self, member: str, now: datetime) -> tuple[bool, bool]:
        """(allowed, warn): warn is True the first time a member is refused."""
        tokens, last, warned = self.buckets.pop(member, (float(self.per_minute), now, False))
        elapsed = max((now - last).total_seconds(), 0.0)
        tokens = min(float(self.per_minute), tokens + elapsed * self.per_minute / 60.0)
        allowed = tokens >= 1.0
        warn = not allowed and not warned
        tokens = tokens - 1.0 if allowed else tokens
        self.buckets[member] = (tokens, now, (warned and not allowed) or warn)
        # Least recently used first. A bucket untouched for a minute is full again, the
        # same as none; past the bound, the least recent member's bucket is forgotten
        # (they may then send a few more messages than the limit, never fewer).
        while self.buckets:
            _, oldest, _ = next(iter(self.buckets.values()))
            if len(self.buckets) <= self.max_members and (now - oldest).total_seconds() < 60:
                break
            self.buckets.popitem(last=False)
        return allowed, warn

    async def __call__(self, turn: Turn, call_next: Handler) -> None:
        if isinstance(turn.event, TimerFired) or _chatter(turn):
            await call_next(turn)
            return
        allowed, warn = self.allow(turn.member.key, turn.now)
        if allowed:
            await call_next(turn)
        elif warn:
            # To the member alone: being told off where everyone reads it is harsh.
            turn.say("common.slow_down", place=Place.direct(turn.member))


def _chatter(turn: Turn) -> bool:
    """Talk in a shared place that no flow of this member waits for: Concord answers
    none of it, so a lively conversation is never slowed down (nor left uncounted)."""
    event = turn.event
    if not isinstance(event, TextSaid) or event.place is None:
        return False
    shared = event.place.kind is not PlaceKind.DIRECT
    return shared and turn.conversation.active_in(event.place) is None


async def audit_middleware(turn: Turn, call_next: Handler) -> None:
    """Commands are audited by name only: their words may be private."""
    await call_next(turn)
    if isinstance(turn.event, CommandRun):
        turn.record("command", turn.member.key, turn.event.name)
