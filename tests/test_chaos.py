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
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import psycopg
import pytest

from tests.chaos_fleet import (
    Chaos,
    ConcordProcess,
    Feeder,
    TimedStandIn,
    concord_run,
    feed,
    process_env,
)
from tests.chaos_workload import (
    LIMITS,
    TOKEN_ENV,
    Member,
    in_arrival_order,
    members,
    write_config,
)
from tests.postgres_server import free_port

pytestmark = [
    pytest.mark.filterwarnings("ignore:Please use 'Bot.getUpdates'"),
    pytest.mark.filterwarnings("ignore:Deprecated since version v22.2"),
]

MEMBERS = 1000
SEED = 14
TOKEN = "123456:stand-in-token"
SETTLE = 60.0
SECRET_ENV = "CONCORD_TEST_WEBHOOK_SECRET"
SECRET = "chaos-secret_token"
PATH = "/telegram"
KILLS = 3  # at least, while updates are fed
KILL_PAUSE = (3.0, 10.0)  # seconds between kills
RAMP = 60.0  # members start within this many seconds
PAUSES = (0.05, 0.5)  # seconds a member takes before each update  # seconds for what is committed to go out once the last update is in


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


def postgres_counts(url: str) -> tuple[int, int, int]:
    with psycopg.connect(url) as conn:
        inbox = conn.execute("SELECT count(*) FROM inbox").fetchone()
        timers = conn.execute("SELECT count(*) FROM timers").fetchone()
        unsent = conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()
    assert inbox and timers and unsent
    return int(inbox[0]), int(timers[0]), int(unsent[0])


def held(url: str) -> str:
    """Who holds what: leases and advisory locks (when the processes never finish)."""
    with psycopg.connect(url) as conn:
        leases = conn.execute("SELECT name, holder FROM leases").fetchall()
        locks = conn.execute(
            "SELECT pid, classid, count(*) FROM pg_locks WHERE locktype = 'advisory'"
            " GROUP BY pid, classid"
        ).fetchall()
        unsent = conn.execute(
            "SELECT id, attempts, last_error FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT 5"
        ).fetchall()
    return f"leases {leases}, advisory locks by session {locks}, unsent {unsent}"


def fleet(folder: Path, url: str, base_url: str, count: int) -> list[ConcordProcess]:
    """``count`` processes on the database at ``url``, each with its webhook endpoint
    (a config each, differing only in the port its endpoint listens on)."""
    made = []
    for number in range(count):
        port = free_port()
        hook = {
            "listen": f"127.0.0.1:{port}",
            "path": PATH,
            "secret_token_env": SECRET_ENV,
            "url": "https://concord.example.org/telegram",
        }
        config = write_config(folder, f"process{number}", base_url, webhook=hook)
        env = process_env(**{TOKEN_ENV: TOKEN, SECRET_ENV: SECRET})
        log = folder / f"process{number}.log"
        made.append(ConcordProcess(f"process{number}", concord_run(config, url), env, log, port))
    return made


@dataclass
class ChaosRun:
    standin: TimedStandIn
    chaos: Chaos
    feeder: Feeder
    fed_in: float  # seconds until every update was answered 200


async def chaos_run(folder: Path, url: str, people: list[Member], rng: random.Random) -> ChaosRun:
    async with standin_for(people) as standin:
        processes = fleet(folder, url, standin.base_url, 3)
        chaos = Chaos(processes, random.Random(rng.random()))
        try:
            for process in processes:
                process.start()
            for process in processes:
                await process.listening()
            started = time.monotonic()
            async with aiohttp.ClientSession() as session:
                feeder = Feeder(session, processes, SECRET, PATH, random.Random(rng.random()))
                fed = asyncio.Event()
                killing = asyncio.create_task(chaos.run(fed, least=KILLS, pause=KILL_PAUSE))
                try:
                    await feed(feeder, people, RAMP, PAUSES)
                    fed_in = time.monotonic() - started
                    fed.set()
                    await killing
                finally:
                    killing.cancel()
            expected_inbox = sum(len(m.updates) for m in people) + len(people)

            def finished() -> bool:
                return postgres_counts(url) == (expected_inbox, 0, 0)

            await until(finished, SETTLE, lambda: f"the processes: {postgres_counts(url)}; {held(url)}")
        finally:
            for process in processes:
                process.stop()
        return ChaosRun(standin, chaos, feeder, fed_in)


async def test_small(tmp_path: Path, postgres_url: str) -> None:
    rng = random.Random(SEED)
    people = members(30, SEED)
    started = time.monotonic()
    run = await chaos_run(tmp_path, postgres_url, people, rng)
    print("chaos took", time.monotonic() - started, run.fed_in, run.chaos.killed, run.feeder)
    for m in people[:3]:
        print(m.chat_id, [t.text[:40] for t in run.standin.received(m.chat_id)])
    print(run.standin.too_many[:5], len(run.standin.too_many))
