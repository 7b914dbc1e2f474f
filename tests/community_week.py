"""A scripted week of a 500-member console community, played through the real engine
the way ``concord chat`` does (typed lines, ``:wait`` moving the engine's clock):
veterans who joined 100 days before, newcomers joining every day, onboarding, first
words in #general and answers to them, reports handled by moderators, mediation
requests, and a few members who ask for /quiet.

Run as a script it builds the database and prints how long the week took:
``python tests/community_week.py week.db``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.console.session import AdvancingClock, ConsoleSession
from bot.config.community import load_config
from bot.core.clock import ManualClock

VETERANS = [f"vt{n:02d}" for n in range(40)]
NEWCOMERS = [f"qz{n:03d}" for n in range(460)]
ONBOARDING = ["1", "1", "1", "1", "1", "1", "1"]  # continue x3, the check, agree, interest
REPORT = [
    "/report",
    "2",
    "Someone keeps mocking my English in #general.",
    "a person",
    "Yesterday, in #general",
    "1",
    "a link to the message",
    "2",
    "1",
]
MEDIATION = ["We disagree about reviews.", "2", "2", "1", "1"]


def members() -> list[str]:
    return [*VETERANS, *NEWCOMERS]


async def _say(session: ConsoleSession, who: str, lines: list[str]) -> None:
    for line in lines:
        await session.feed(f"{who}> {line}")


async def _newcomer(session: ConsoleSession, n: int, name: str) -> None:
    spanish = n % 5 == 0
    await session.feed(f"{name} joins es" if spanish else f"{name} joins")
    if n % 25 == 3:
        await _say(session, name, ["/quiet"])
    if n % 7 != 6:  # most finish the welcome
        await _say(session, name, ["Español" if spanish else "English", *ONBOARDING])
        await _say(session, name, ["1" if n % 3 == 0 else "2"])  # a mentor, or not
    if n % 5 < 3:
        await session.feed(f"{name} #general> hello, I am new here")
        await session.feed(":wait 4m")
        await session.feed(f"{VETERANS[n % len(VETERANS)]} #general> welcome!")


async def _day(session: ConsoleSession, day: int, names: list[str]) -> None:
    """One day, 24 hours of the engine's clock from its start."""
    began = session.clock.offset
    first = len(names) * day // 7
    today = names[first : len(names) * (day + 1) // 7]
    for offset, name in enumerate(today):
        await _newcomer(session, first + offset, name)
    for i in range(3):  # reports, handled by the moderators two hours later
        await _say(session, today[i], ["/stop", *REPORT])
    await session.feed(":wait 2h")
    await _say(session, "mod", ["/reports list"])
    for number in range(3 * day + 1, 3 * day + 4):
        await _say(session, "mod", [f"/reports claim {number}"])
        await _say(session, "mod", [f"/reports close {number} Handled and explained."])
    asker, other = today[10], today[11]
    await _say(session, asker, ["/stop", f"/mediate {other}", *MEDIATION])
    await _say(session, other, ["1"])  # yes, they will take part
    for veteran in VETERANS[: 20 + day]:
        await session.feed(f"{veteran} #general> news of the day")
    left = timedelta(days=1) - (session.clock.offset - began)
    await session.feed(f":wait {int(left.total_seconds() // 60)}m")


async def play(database: Path, today: datetime | None = None) -> int:
    """The week, ending about ``today`` (now); returns the number of lines typed."""
    end = today or datetime.now(UTC)
    start = end - timedelta(days=108)
    config = load_config(None)
    session = ConsoleSession(config, database, AdvancingClock(ManualClock(start), fixed=True))
    typed = 0
    feed = session.feed

    async def counted(line: str) -> list[str]:
        nonlocal typed
        typed += 1
        return await feed(line)

    session.feed = counted  # type: ignore[method-assign]
    try:
        await session.open()
        for veteran in VETERANS:
            await session.feed(f"{veteran} joins")
            await session.feed(f"{veteran}> /stop")
        await session.feed(":wait 100d")
        for day in range(7):
            await _day(session, day, NEWCOMERS)
    finally:
        session.close()
    return typed


if __name__ == "__main__":
    began = time.perf_counter()
    lines = asyncio.run(play(Path(sys.argv[1])))
    took = time.perf_counter() - began
    print(f"{lines} lines typed in {took:.1f} s ({1000 * took / lines:.2f} ms a line)")
