"""Privileged commands on IRC: the scenario of tests/command_privacy.py run through the
IRC adapter against a real InspIRCd, members typing in private messages, a served
channel, the moderators' channel and a channel the community did not configure (the bot
is not even there). IRC cannot take a member's line back, so a command answered
privately stays where it was typed; everything else is checked as on every platform."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from bot.core.clock import ManualClock
from bot.engine.engine import Engine
from tests.command_privacy import Heard, check_command_privacy
from tests.irc_server import InspIRCd, Member
from tests.test_irc import COMMUNITY, MODS, Typist, ircd, members, running, write_config

__all__ = ["ircd"]  # the fixture, used by name

SECOND = "#second"  # another channel the community serves
STRANGER = "#stranger"  # a channel the community did not configure
NAMES = ("rhea", "ana", "sam", "bob", "imp", "kai", "mod", "noor", "tomas", "zed")
PLACES = {COMMUNITY: "community", SECOND: "unconfigured", MODS: "moderators"}


class IrcDriver:
    removes_typed = False  # IRC cannot take a line back

    def __init__(self, engine: Engine, people: dict[str, Member], observer: Member) -> None:
        self.engine = engine
        self.people = people
        self.observer = observer  # in every channel: what the bot says there
        self.typist = Typist(engine, [*people.values(), observer])

    async def join(self, who: str) -> None:
        await self.typist.handling(self.people[who].join(COMMUNITY))

    async def type(self, who: str, place: str, text: str) -> list[Heard]:
        if place == "unconfigured":
            ignored = await self.said(who, STRANGER, text, handled=False)
            assert ignored == [], f"{who} typing {text!r} in a channel not served: {ignored}"
            return await self.said(who, SECOND, text)
        target = {"community": COMMUNITY, "moderators": MODS}.get(place, "Concord")
        return await self.said(who, target, text)

    async def said(self, who: str, target: str, text: str, handled: bool = True) -> list[Heard]:
        clock = self.engine.services.clock
        assert isinstance(clock, ManualClock)
        clock.advance(timedelta(seconds=5))  # within the rate limit
        if text.startswith("/") and target != "Concord":
            text = "!concord " + text[1:]  # IRC clients keep "/" for themselves
        everyone = [*self.people.items(), ("observer", self.observer)]
        starts = {name: len(m.received) for name, m in everyone}
        if handled:
            await self.typist.handling(self.people[who].say(target, text))
        else:
            await self.people[who].say(target, text)
            await self.typist.read_all()
        heard = []
        for name, member in everyone:
            for line in member.received[starts[name] :]:
                if line.source != "Concord":
                    continue
                if line.target.startswith("#") and member is self.observer:
                    heard.append(Heard("room", PLACES.get(line.target, line.target), line.text))
                elif not line.target.startswith("#"):
                    heard.append(Heard("dm", name, line.text))
        return heard


async def test_every_command_by_every_role_in_every_place(tmp_path: Path, ircd: InspIRCd) -> None:
    config = write_config(tmp_path, ircd.port, channels=[COMMUNITY, SECOND])
    (observer,) = await members(ircd.port, "observer")
    for channel in (COMMUNITY, SECOND, MODS, STRANGER):
        await observer.join(channel)  # the first in, before the bot: a channel operator
        # Members type in channels they never joined (joining #community is the
        # scenario's "join"): the channels take messages from outside (-n).
        await observer.send(f"MODE {channel} -n")
    async with asyncio.timeout(240), running(config, tmp_path / "db") as (_, engine):
        people = await members(ircd.port, *NAMES)
        driver = IrcDriver(engine, dict(zip(NAMES, people, strict=True)), observer)
        await check_command_privacy(driver)
        for member in [*people, observer]:
            await member.quit()
