"""What the operators' log line and metrics cost per event.

``python bench/operations.py [members]`` walks each member through a join and the
first onboarding answer (two events), each run in a fresh database: with the
log at warning and no metrics (the console's default), with one JSON log line per event
(written to memory), and with the JSON line and the Prometheus observer, the three in
turn five times over. It prints the best of each: events a second and the cost per
event of each addition.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
import tempfile
import time
import uuid
from pathlib import Path

from adapters.logs import configure_logging
from adapters.metrics import PrometheusObserver
from bot.app import build_engine
from bot.config.community import load_config
from bot.core.actions import Action, Capabilities
from bot.core.events import ChoiceMade, MemberJoined, MemberRef, Place


class Counting:
    platform = "bench"
    capabilities = Capabilities(native_choices=True, private_spaces=True)

    def __init__(self) -> None:
        self.sent = 0

    async def deliver(self, action: Action, idempotency_key: str) -> None:
        self.sent += 1


async def walk(members: int, level: str, observed: bool) -> float:
    configure_logging(level, "json", io.StringIO() if level == "info" else sys.stderr)
    config = load_config(None)
    with tempfile.TemporaryDirectory() as scratch:
        engine = build_engine(config, Path(scratch) / "bench.db")
        engine.add_adapter(Counting())
        if observed:
            engine.observe(PrometheusObserver())
        people = [MemberRef("bench", f"m{i}", f"M{i}") for i in range(members)]
        started = time.perf_counter()
        for who in people:
            await engine.handle(MemberJoined(uuid.uuid4().hex, config.community_id, who))
        for who in people:
            place = Place.direct(who)
            choice = ChoiceMade(uuid.uuid4().hex, config.community_id, who, place=place, choice="1")
            await engine.handle(choice)
        elapsed = time.perf_counter() - started
        engine.services.store.close()
    return elapsed


def per_call(calls: int = 20_000) -> None:
    """The two additions alone, without the turn around them (whose own time varies by
    more than they cost on a busy machine)."""
    configure_logging("info", "json", io.StringIO())
    events = logging.getLogger("concord.events")
    fields = {"platform": "telegram", "event": "TextSaid", "outcome": "handled", "ms": 1.2}
    started = time.perf_counter()
    for _ in range(calls):
        events.info("event %s", "handled", extra={"concord": fields})
    line = (time.perf_counter() - started) / calls * 1e6
    observer = PrometheusObserver()
    started = time.perf_counter()
    for _ in range(calls):
        observer.event_handled("telegram", "TextSaid", "handled", 0.0012)
    counted = (time.perf_counter() - started) / calls * 1e6
    print(f"a JSON log line: {line:.1f} µs; the Prometheus observer's count: {counted:.1f} µs")


def main() -> None:
    members = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    events = 2 * members
    rows = [
        ("log at warning, no metrics", "warning", False),
        ("one JSON log line per event", "info", False),
        ("JSON log line and Prometheus observer", "info", True),
    ]
    best = [asyncio.run(walk(members, level, observed)) for _, level, observed in rows]
    for _ in range(4):
        for i, (_, level, observed) in enumerate(rows):
            best[i] = min(best[i], asyncio.run(walk(members, level, observed)))
    base = None
    for (name, _, _), seconds in zip(rows, best, strict=True):
        per_event = seconds / events * 1e6
        extra = "" if base is None else f"  (+{per_event - base:.0f} µs/event)"
        base = per_event if base is None else base
        print(f"{name:40} {events / seconds:8.0f} events/s  {per_event:6.0f} µs/event{extra}")
    per_call()


if __name__ == "__main__":
    main()
