"""What the engine tells an operator's metrics, labelled by platform only.

The engine calls an ``Observer`` where an event has been handled and where delivery
retries, sets aside or waits; an implementation outside the core (a Prometheus
endpoint, say) counts. Nothing here names a member or carries a message's words.
"""

from __future__ import annotations

import logging
from typing import Protocol

from bot.core.events import Event

# One line per event taken in: its platform, kind, outcome and latency; never who sent
# it or what it says.
events_log = logging.getLogger("concord.events")


class Observer(Protocol):
    def event_handled(self, platform: str, kind: str, outcome: str, seconds: float) -> None:
        """An event was taken in: ``kind`` is its type (TextSaid, MemberJoined, ...),
        ``outcome`` handled, duplicate or failed, ``seconds`` the turn's latency."""

    def outbox_backlog(self, platform: str, waiting: int) -> None:
        """Actions committed for ``platform`` and not yet delivered."""

    def delivery_retried(self, platform: str) -> None:
        """A delivery failed and will be tried again."""

    def undeliverable(self, platform: str) -> None:
        """An action was set aside: no retry can deliver it."""

    def rate_limit_waited(self, platform: str, seconds: float) -> None:
        """Sending waited ``seconds`` under the platform's rate limits."""


class NoObserver:
    """Counts nothing: the default when no metrics are wanted."""

    def event_handled(self, platform: str, kind: str, outcome: str, seconds: float) -> None:
        pass

    def outbox_backlog(self, platform: str, waiting: int) -> None:
        pass

    def delivery_retried(self, platform: str) -> None:
        pass

    def undeliverable(self, platform: str) -> None:
        pass

    def rate_limit_waited(self, platform: str, seconds: float) -> None:
        pass


def report_event(observer: Observer, event: Event, outcome: str, seconds: float) -> None:
    """Tell the observer and the event log that ``event`` was taken in."""
    platform, kind = event.member.platform, type(event).__name__
    observer.event_handled(platform, kind, outcome, seconds)
    if events_log.isEnabledFor(logging.INFO):
        fields: dict[str, object] = {"platform": platform, "event": kind}
        fields.update(outcome=outcome, ms=round(seconds * 1000, 1))
        events_log.info("event %s", outcome, extra={"concord": fields})
