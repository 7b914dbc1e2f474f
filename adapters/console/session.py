"""A console community session: the engine, the console adapter and a clock, fed line
by line. Shared by the interactive ``concord chat`` and by transcripts.

Every typed line gets at least one line back: when Concord itself says nothing, the
console says so in a line starting with ``·`` (a re-delivery ignored, a join of a
member this database already knows, talk between people, time passing with nothing
due), so a silent bot never looks like a stuck one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from adapters.console.adapter import PLATFORM, ConsoleAdapter, Directive, parse_line
from bot.app import build_engine
from bot.config.community import Config
from bot.core.clock import Clock
from bot.core.durations import parse_duration
from bot.core.events import Event, MemberJoined, MemberLeft, PlaceKind, TextSaid
from bot.engine.engine import Engine
from bot.engine.observe import Observer


class AdvancingClock:
    """Real time plus whatever ``:wait`` added, or a fixed start for transcripts."""

    def __init__(self, base: Clock, fixed: bool) -> None:
        self.base = base
        self.fixed_at = base.now() if fixed else None
        self.offset = timedelta()

    def now(self) -> datetime:
        return (self.fixed_at or self.base.now()) + self.offset


class ConsoleSession:
    def __init__(
        self,
        config: Config,
        database: Path,
        clock: AdvancingClock,
        echo: Callable[[str], None] | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.config = config
        self.observer = observer
        self.echo = echo
        self.database = database
        self.clock = clock
        self.output: list[str] = []
        self.last_event: Event | None = None
        self.background: list[asyncio.Task[None]] = []
        self.live = False
        self.engine = self._start()

    def _start(self) -> Engine:
        engine = build_engine(self.config, self.database, self.clock)
        engine.add_adapter(ConsoleAdapter(self._write, self.config.moderators.channel))
        if self.observer is not None:
            engine.observe(self.observer)
        return engine

    def _write(self, text: str) -> None:
        if self.echo is not None:
            self.echo(text)  # first: what fails to go out is not shown as said
        self.output.append(text)

    async def open(self, live: bool = False) -> None:
        """Deliver what a previous run left undelivered, then ask members to agree again
        if the code of conduct changed. ``live`` also runs timers in real time."""
        self.live = live
        await self.engine.flush_outbox()
        self.engine.schedule_reacknowledgements()
        await self.engine.fire_due_timers()
        if live:
            self.background = [
                asyncio.create_task(self.engine.run_timers()),
                asyncio.create_task(self.engine.retry_outbox()),
            ]

    def close(self) -> None:
        for task in self.background:
            task.cancel()
        self.background = []
        self.engine.services.store.close()

    async def feed(self, line: str) -> list[str]:
        """Handle one typed line; returns what the bot printed in answer."""
        start = len(self.output)
        parsed = parse_line(line, self.config.community_id)
        if isinstance(parsed, Directive):
            await self._directive(parsed)
        elif parsed is not None:
            self.last_event = parsed
            known = self._known(parsed)
            set_aside = self._set_aside()
            handled = await self.engine.handle(parsed)
            if len(self.output) == start:
                if self._set_aside() > set_aside:
                    self._write(UNSHOWN)
                else:
                    self._write(silence_note(parsed, handled, known))
        return self.output[start:]

    def _set_aside(self) -> int:
        """How many console replies were set aside as undeliverable so far."""
        return self.engine.services.store.undeliverable().get(PLATFORM, 0)

    def _known(self, event: Event) -> bool:
        """Whether this database already holds the member's profile."""
        store = self.engine.services.store
        return store.load_profile(event.community, event.member.key) is not None

    async def _directive(self, directive: Directive) -> None:
        start = len(self.output)
        if directive.name == "wait":
            delta = parse_duration(directive.argument)
            assert delta is not None
            self.clock.offset += delta
            await self.engine.fire_due_timers()
            if len(self.output) == start:
                self._write(f"· {directive.argument} later; nothing was due")
        elif directive.name == "again":
            if self.last_event is None:
                self._write("· nothing to deliver again yet")
                return
            handled = await self.engine.handle(self.last_event)
            if len(self.output) == start:
                self._write(silence_note(self.last_event, handled, True))
        elif directive.name == "restart":
            self.close()
            self.engine = self._start()
            self._write(f"· Concord restarted on the same database ({self.database.name})")
            await self.open(self.live)


UNSHOWN = "· Concord answered, but this terminal cannot show it; set aside (see the log)"


def silence_note(event: Event, handled: bool, known: bool) -> str:
    """The console's own line for an event Concord did not answer."""
    who = event.member.id
    if not handled:
        return "· delivered again; Concord had already handled it, so nothing is repeated"
    if isinstance(event, MemberJoined):
        if known:
            return (
                f"· {who} joins; this database already knows {who}, so Concord has nothing "
                "to say (--db with a new file starts a fresh community)"
            )
        return f"· {who} joins; Concord has nothing to say"
    if isinstance(event, MemberLeft):
        return f"· {who} leaves; Concord says nothing"
    place = event.place if isinstance(event, TextSaid) else None
    if place is not None and place.kind is PlaceKind.CHANNEL:
        return f"· no answer: talk between people in #{place.id}"
    if place is not None and place.kind is PlaceKind.PRIVATE:
        return f"· no answer: talk between people in ({place.id})"
    return "· no answer from Concord"
