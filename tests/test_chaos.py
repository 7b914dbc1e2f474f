"""Three Concord processes on one PostgreSQL database, killed at random, against one
process on SQLite: every member is sent the same messages, in the same order.

The three are real ``concord run`` subprocesses (tests/scaled_concord.py) with the
Telegram adapter, run by python-telegram-bot against the loopback Bot API stand-in
(tests/telegram_standin.py), which answers 429 beyond the flood limits. A thousand
members' updates are POSTed, as Telegram's webhooks send them, each to two of the
processes; the members interleave, each member's updates in order (the next only once
the last was answered 200). Processes are killed with SIGKILL at random moments and
started again; a POST that failed with its process is sent again. Every member's
check-in (a timer) fires in the run. The reference: the same updates through one
``concord run`` on SQLite, against a stand-in of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.chaos_fleet import ConcordProcess, TimedStandIn, concord_run, process_env
from tests.chaos_workload import (
    LIMITS,
    TOKEN_ENV,
    Member,
    in_arrival_order,
    members,
    write_config,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore:Please use 'Bot.getUpdates'"),
    pytest.mark.filterwarnings("ignore:Deprecated since version v22.2"),
]

MEMBERS = 1000
SEED = 14
TOKEN = "123456:stand-in-token"
SETTLE = 60.0  # seconds for what is committed to go out once the last update is in


@contextlib.asynccontextmanager
async def standin_for(people: list[Member]) -> AsyncIterator[TimedStandIn]:
    """A stand-in with Telegram's limits (LIMITS); each member has opened the private
    chat with the bot (so it may write to them)."""
    server = TimedStandIn(TOKEN, limits=LIMITS)
    for member in people:
        server.started.add(member.chat_id)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def sqlite_counts(path: Path) -> tuple[int, int, int]:
    """(events in the inbox, timers waiting, outbox rows not sent)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        inbox = conn.execute("SELECT count(*) FROM inbox").fetchone()[0]
        timers = conn.execute("SELECT count(*) FROM timers").fetchone()[0]
        unsent = conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
    return int(inbox), int(timers), int(unsent)


async def until(done: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what()}"
        await asyncio.sleep(0.5)


async def reference_run(folder: Path, people: list[Member], rng: random.Random) -> TimedStandIn:
    """The same updates through one process on SQLite (polling): its stand-in."""
    updates = in_arrival_order(people)
    async with standin_for(people) as standin:
        config = write_config(folder, "reference", standin.base_url)
        database = folder / "reference.db"
        process = ConcordProcess(
            "reference",
            concord_run(config, str(database)),
            process_env(**{TOKEN_ENV: TOKEN}),
            folder / "reference.log",
        )
        standin.updates.extend(updates)
        process.start()
        try:
            expected_inbox = len(updates) + len(people)  # and one check-in each

            def finished() -> bool:
                assert process.alive, process.tail()
                if not database.exists():
                    return False
                with contextlib.suppress(sqlite3.OperationalError):
                    return sqlite_counts(database) == (expected_inbox, 0, 0)
                return False

            await until(finished, SETTLE, lambda: f"the reference run: {sqlite_counts(database)}")
        finally:
            process.stop()
        return standin


async def test_reference(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    people = members(30, SEED)
    started = time.monotonic()
    standin = await reference_run(tmp_path, people, rng)
    print("reference took", time.monotonic() - started)
    for m in people[:3]:
        print(m.chat_id, [t.text[:40] for t in standin.received(m.chat_id)])
    assert standin.too_many == []
    assert len({len(standin.to(m.chat_id)) for m in people}) <= 2
