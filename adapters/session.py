"""A console community session: the engine, the console adapter and a clock, fed line
by line. Shared by the interactive ``concord chat`` and by transcripts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from adapters.console import ConsoleAdapter, Directive, parse_line
from bot.app import build_engine
from bot.clock import Clock
from bot.config import Config
from bot.durations import parse_duration
from bot.engine import Engine
from bot.events import Event


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
    ) -> None:
        self.config = config
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
            await self.engine.handle(parsed)
        return self.output[start:]

    async def _directive(self, directive: Directive) -> None:
        if directive.name == "wait":
            delta = parse_duration(directive.argument)
            assert delta is not None
            self.clock.offset += delta
            await self.engine.fire_due_timers()
        elif directive.name == "again" and self.last_event is not None:
            await self.engine.handle(self.last_event)
        elif directive.name == "restart":
            self.close()
            self.engine = self._start()
            await self.open(self.live)
