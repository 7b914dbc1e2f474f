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
import os
import random
import sqlite3
import time
from collections.abc import AsyncIterator
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
    duplicates_logged,
    feed,
    process_env,
)
from tests.chaos_workload import (
    LIMITS,
    TOKEN_ENV,
    Comparison,
    Member,
    Received,
    checkin_patterns,
    compare_chat,
    members,
    timeless,
    write_config,
)
from tests.postgres_server import free_port

pytestmark = [
    pytest.mark.filterwarnings("ignore:Please use 'Bot.getUpdates'"),
    pytest.mark.filterwarnings("ignore:Deprecated since version v22.2"),
]

# A thousand members took 4 minutes on a shared 2-core machine (300 took 2.5);
# CONCORD_CHAOS_MEMBERS sets another number.
MEMBERS = int(os.environ.get("CONCORD_CHAOS_MEMBERS", "1000"))
SEED = 14
TOKEN = "123456:stand-in-token"
# Seconds for what was committed to go out once every update is in.
SETTLE = 120.0 + 0.6 * MEMBERS
SECRET_ENV = "CONCORD_TEST_WEBHOOK_SECRET"
SECRET = "chaos-secret_token"
PATH = "/telegram"
KILLS = 3  # at least, while updates are fed
KILL_PAUSE = (3.0, 10.0)  # seconds between kills
RAMP = 60.0  # members start within this many seconds
PAUSES = (0.05, 0.5)  # seconds a member takes before each update


@contextlib.asynccontextmanager
async def standin_for(people: list[Member]) -> AsyncIterator[TimedStandIn]:
    """A stand-in with the flood limits of LIMITS; each member has opened the private
    chat with the bot (so it may write to them)."""
    server = TimedStandIn(TOKEN, limits=LIMITS)
    for member in people:
        server.started.add(member.chat_id)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


QUERIES = (
    "SELECT count(*) FROM inbox",
    "SELECT count(*) FROM inbox WHERE event_key LIKE '%|timer:%'",
    "SELECT count(*) FROM timers",
    "SELECT count(*) FROM outbox",
    "SELECT count(*) FROM outbox WHERE sent_at IS NULL",
)


@dataclass(frozen=True)
class Counts:
    events: int  # in the inbox: updates and timer firings
    timers_fired: int
    timers_waiting: int
    outbox: int  # rows left (a sent one is deleted): the unsent and set-aside ones
    unsent: int


def counts(database: str) -> Counts:
    if database.startswith("postgresql://"):
        with psycopg.connect(database) as conn:
            found = [conn.execute(q).fetchone() for q in QUERIES]
    else:
        uri = f"file:{database}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            found = [conn.execute(q).fetchone() for q in QUERIES]
    return Counts(*(int(row[0]) if row else 0 for row in found))


def held(url: str) -> str:
    """Who holds what: leases and advisory locks (when the processes never finish)."""
    with psycopg.connect(url) as conn:
        leases = conn.execute("SELECT name, holder FROM leases").fetchall()
        locks = conn.execute(
            "SELECT pid, classid, count(*) FROM pg_locks WHERE locktype = 'advisory'"
            " GROUP BY pid, classid"
        ).fetchall()
    return f"leases {leases}, advisory locks by session {locks}"


def fleet(folder: Path, database: str, standin: TimedStandIn, count: int) -> list[ConcordProcess]:
    """``count`` processes on ``database``, each with its webhook endpoint (a config
    each, differing only in the port its endpoint listens on, and in the path each run
    calls the stand-in under, so that it knows who sent what)."""
    made = []
    for number in range(count):
        port = free_port()
        hook = {
            "listen": f"127.0.0.1:{port}",
            "path": PATH,
            "secret_token_env": SECRET_ENV,
            "url": "https://concord.example.org/telegram",
        }
        name = f"{folder.name}{number}"

        def configure(run: str, name: str = name, hook: dict[str, str] = hook) -> Path:
            return write_config(folder, name, standin.url_for(run), webhook=hook)

        env = process_env(**{TOKEN_ENV: TOKEN, SECRET_ENV: SECRET})
        config = folder / f"{name}.yaml"  # written by configure before each start
        process = ConcordProcess(name, concord_run(config, database), env, folder / f"{name}.log")
        process.port, process.before_start = port, configure
        made.append(process)
    return made


@dataclass
class Run:
    standin: TimedStandIn
    chaos: Chaos
    feeder: Feeder
    fed_in: float  # seconds until every update was answered 200
    counts: Counts
    duplicates: int  # events the processes found handled already


async def run(folder: Path, database: str, people: list[Member], count: int, seed: int) -> Run:
    """Every member's updates through ``count`` processes on ``database``: with more
    than one, each update is POSTed to two and the processes are killed at random."""
    folder.mkdir()
    rng = random.Random(seed)
    async with standin_for(people) as standin:
        processes = fleet(folder, database, standin, count)
        chaos = Chaos(processes, random.Random(rng.random()))
        try:
            for process in processes:
                process.start()
            for process in processes:
                await process.listening()
            started = time.monotonic()
            # As Telegram: at most 40 connections to an endpoint (its default
            # max_connections), and a POST waits for its answer however long it takes.
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=40)
            forever = aiohttp.ClientTimeout(total=None)
            async with aiohttp.ClientSession(connector=connector, timeout=forever) as session:
                feeder = Feeder(session, processes, SECRET, PATH, rng, copies=min(count, 2))
                fed_in = await _feed(feeder, chaos, people, killing=count > 1) - started
            await _settle(database, people, processes)
        finally:
            for process in processes:
                process.stop()
        return Run(standin, chaos, feeder, fed_in, counts(database), duplicates_logged(processes))


async def _feed(feeder: Feeder, chaos: Chaos, people: list[Member], killing: bool) -> float:
    """Feed every update (killing processes meanwhile); when the last was taken in."""
    fed = asyncio.Event()
    kills = asyncio.create_task(chaos.run(fed, KILLS, KILL_PAUSE)) if killing else None
    try:
        await feed(feeder, people, RAMP, PAUSES)
        fed_at = time.monotonic()
        fed.set()
        if kills is not None:
            await kills
        return fed_at
    finally:
        if kills is not None:
            kills.cancel()


async def _settle(database: str, people: list[Member], processes: list[ConcordProcess]) -> None:
    """Wait until every event and check-in is in and every action went out."""
    events = sum(len(m.updates) for m in people) + len(people)  # and one check-in each
    deadline = time.monotonic() + SETTLE
    while True:
        now = counts(database)
        if (now.events, now.timers_waiting, now.unsent) == (events, 0, 0):
            return
        if time.monotonic() > deadline:
            about = held(database) if database.startswith("postgresql://") else ""
            tails = "\n".join(f"{p.name}:\n{p.tail(15)}" for p in processes)
            raise AssertionError(f"never finished: {now} {about}\n{tails}")
        await asyncio.sleep(0.5)


async def test_three_processes_killed_at_random_send_each_member_what_one_process_sends(
    tmp_path: Path, postgres_url: str
) -> None:
    people = members(MEMBERS, SEED)
    started = time.monotonic()
    reference_db = str(tmp_path / "reference" / "concord.db")
    reference, shared = await asyncio.gather(
        run(tmp_path / "reference", reference_db, people, 1, SEED),
        run(tmp_path / "shared", postgres_url, people, 3, SEED + 1),
    )
    took = time.monotonic() - started
    compared, checkins = Comparison(), checkin_patterns()
    for member in people:
        expected = [timeless(r.text, checkins) for r in reference.standin.received(member.chat_id)]
        got = [
            Received(timeless(r.text, checkins), r.at, r.sender)
            for r in shared.standin.received(member.chat_id)
        ]
        compare_chat(member.chat_id, expected, got, shared.chaos.runs_killed, compared)
    said = summary(people, reference, shared, compared, took)
    print("\n" + said)
    assert shared.feeder.refused == [] and reference.feeder.refused == [], said
    assert len(shared.chaos.kill_times) >= KILLS, said
    assert shared.standin.too_many == [], said  # no 429 at all
    assert reference.standin.too_many == [], said
    assert compared.differences == [], said + "\n" + "\n".join(compared.differences[:10])
    # Every turn committed once (its actions once), every member's check-in fired once.
    assert shared.counts == reference.counts, said
    assert shared.counts.timers_fired == len(people), said


def late_after_kill(shared: Run) -> int:
    """Messages the stand-in took in after the kill of the run that sent them (sent
    before it, read after: the test's event loop was busy)."""
    killed = shared.chaos.runs_killed
    return sum(at > killed.get(sender, at) for at, sender in shared.standin.accepted.values())


def summary(
    people: list[Member], reference: Run, shared: Run, compared: Comparison, took: float
) -> str:
    """What was measured, said whether the test passes or not."""
    updates = sum(len(m.updates) for m in people)
    return (
        f"{len(people)} members, {updates} updates, {len(shared.standin.accepted)} messages"
        f" sent (one process on SQLite: {len(reference.standin.accepted)});"
        f" {took:.0f} s in all, updates taken in by the three processes in"
        f" {shared.fed_in:.0f} s (one process on SQLite: {reference.fed_in:.0f} s);"
        f" {len(shared.chaos.kill_times)} kills ({', '.join(shared.chaos.killed)});"
        f" {shared.feeder.answered - updates} POSTs answered as duplicates,"
        f" {shared.duplicates} duplicate events suppressed by the processes,"
        f" {shared.feeder.again} POSTs sent again after a failure;"
        f" {sum(compared.repeats.values())} messages repeated after a kill"
        f" in {len(compared.repeats)} chats ({late_after_kill(shared)} accepted only after"
        f" their sender's kill); {len(compared.differences)} chats differ;"
        f" 429s: {len(shared.standin.too_many)} (one process on SQLite:"
        f" {len(reference.standin.too_many)}: {reference.standin.too_many[:3]});"
        f" in the database {shared.counts} (one process on SQLite: {reference.counts})"
    )
