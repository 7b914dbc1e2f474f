"""Several ``concord run`` processes with Telegram on one PostgreSQL database (the
suite's own cluster), each python-telegram-bot over real HTTP to the loopback stand-in
of the Bot API (tests/telegram_standin.py, its flood limits on): one process polls at
a time and one sends at a time (leases in the store, bot/engine/leases.py); killed
with SIGKILL, its role passes to another within seconds, and nothing is lost or
handled twice."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest

from adapters.telegram.webhook import SECRET_HEADER
from bot.engine.leases import BEAT_SECONDS, LEASE_SECONDS
from tests import test_telegram as on_telegram
from tests.postgres_server import free_port
from tests.telegram_standin import BotApiStandIn
from tests.test_telegram import TOKEN, TOKEN_ENV, write_config
from tests.test_telegram_webhook import SECRET, SECRET_ENV, URL

pytestmark = [
    pytest.mark.filterwarnings("ignore:Please use 'Bot.getUpdates'"),
    pytest.mark.filterwarnings("ignore:Deprecated since version v22.2"),
]

ROOT = Path(__file__).resolve().parents[1]
POLLER = "telegram:123456:ingress"
SENDER = "send:telegram:123456"
# The lease lapses, and another process's next beat takes it (a margin for a slow
# machine: the test checks the role passes "within seconds", not how fast).
TAKEOVER = LEASE_SECONDS + 2 * BEAT_SECONDS + 10


standin = on_telegram.standin  # the stand-in of the Bot API, as a fixture


@contextlib.asynccontextmanager
async def deployment(
    tmp_path: Path,
    standin: BotApiStandIn,
    url: str,
    count: int,
    webhooks: list[dict[str, str]] | None = None,
) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """``count`` processes of ``concord run`` on one database (polling, or each with
    its webhook endpoint); killed at the end."""
    env = {**os.environ, TOKEN_ENV: TOKEN}
    made = []
    try:
        for number in range(count):
            folder = tmp_path / f"process-{number}"
            folder.mkdir()
            hook = {"webhook": webhooks[number]} if webhooks else {}
            config = write_config(folder, standin, poll_timeout=2, **hook).source
            log = open(folder / "log", "wb")  # noqa: SIM115
            made.append(
                await asyncio.create_subprocess_exec(
                    *(sys.executable, "-m", "adapters.cli", "run", str(config)),
                    *("--db", url, "--log-level", "info"),
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=log,
                )
            )
            log.close()
        yield made
    finally:
        for process in made:
            if process.returncode is None:
                process.kill()
            await process.wait()


def holder(url: str, lease: str) -> int | None:
    """The pid of the process holding ``lease`` (holders are named host:pid:tag)."""
    with psycopg.connect(url) as conn:
        try:
            row = conn.execute(
                "SELECT holder FROM leases WHERE name = %s"
                " AND expires_at >= extract(epoch from clock_timestamp())",
                (lease,),
            ).fetchone()
        except psycopg.errors.UndefinedTable:  # the first process is still migrating
            return None
    return int(str(row[0]).split(":")[-2]) if row else None


async def held_by(url: str, lease: str, not_by: int | None = None) -> int:
    """Wait until a process (other than ``not_by``) holds ``lease``; its pid."""
    while True:
        pid = await asyncio.to_thread(holder, url, lease)
        if pid is not None and pid != not_by:
            return pid
        await asyncio.sleep(0.1)


def count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


def members(standin: BotApiStandIn, first: int, number: int) -> list[dict[str, Any]]:
    return [standin.user(first + i, f"M{first + i}") for i in range(number)]


def answered(standin: BotApiStandIn, users: list[dict[str, Any]]) -> bool:
    return all(standin.to(user["id"]) for user in users)


async def test_one_process_polls_and_another_takes_over_when_it_is_killed(
    tmp_path: Path, standin: BotApiStandIn, postgres_url: str
) -> None:
    async with asyncio.timeout(150), deployment(tmp_path, standin, postgres_url, 2) as running:
        poller = await held_by(postgres_url, POLLER)
        assert poller in {p.pid for p in running}
        users = members(standin, 6000, 40)
        for user in users[:20]:
            standin.say(user, "/help")
            await asyncio.sleep(0.02)  # members write over time
        await standin.wait_for(lambda: answered(standin, users[:10]), 60)
        os.kill(poller, signal.SIGKILL)
        killed = time.monotonic()
        for user in users[20:]:
            standin.say(user, "/help")
        taken_over = await held_by(postgres_url, POLLER, not_by=poller)
        assert time.monotonic() - killed < TAKEOVER
        await standin.wait_for(lambda: answered(standin, users), 60)
        await standin.drained(30)  # every update confirmed: the offset moved past them
    # Never two pollers at once (Telegram would answer 409), nor a webhook left set.
    assert standin.conflicts == []
    assert taken_over != poller
    # Each update handled once: one reply committed per update...
    assert count(postgres_url, "SELECT count(*) FROM outbox") == len(users)
    # ...and sent once, but for one in flight at the kill (the Bot API takes no
    # idempotency key: a message sent just before a crash can show twice).
    assert len(users) <= len(standin.sent) <= len(users) + 1
    assert standin.too_many == []


async def post_all(ports: list[int], updates: list[dict[str, Any]]) -> None:
    """What a load balancer does: each update POSTed to the next process's webhook,
    several at once; each answered 200 (committed)."""
    gate = asyncio.Semaphore(20)

    async def post(session: aiohttp.ClientSession, port: int, update: dict[str, Any]) -> None:
        async with (
            gate,
            session.post(
                f"http://127.0.0.1:{port}/telegram", json=update, headers={SECRET_HEADER: SECRET}
            ) as answer,
        ):
            assert answer.status == 200

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(
            *(post(session, ports[n % len(ports)], u) for n, u in enumerate(updates))
        )


def said(standin: BotApiStandIn, users: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    ids = {standin.say(user, text) for user in users}
    return [u for u in standin.updates if u["update_id"] in ids]


async def test_three_processes_send_a_burst_through_one_pacer(
    tmp_path: Path, standin: BotApiStandIn, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a load balancer every process handles updates; one sends for the token."""
    monkeypatch.setenv(SECRET_ENV, SECRET)
    ports = [free_port() for _ in range(3)]
    hooks = [
        {"listen": f"127.0.0.1:{port}", "secret_token_env": SECRET_ENV, "url": URL}
        for port in ports
    ]
    async with (
        asyncio.timeout(240),
        deployment(tmp_path, standin, postgres_url, 3, hooks) as running,
    ):
        sender = await held_by(postgres_url, SENDER)
        assert sender in {p.pid for p in running}
        await standin.wait_for(lambda: standin.webhook is not None)
        await asyncio.sleep(1)  # every endpoint listening
        # A burst: 100 members at once, and one member writing five times.
        burst, chatty = members(standin, 7000, 100), standin.user(7999, "Chatty")
        await post_all(ports, said(standin, burst, "/help"))
        for update in said(standin, [chatty] * 5, "/help"):
            await post_all(ports[:1], [update])  # in order, as Telegram sends one chat's
        await standin.wait_for(lambda: answered(standin, burst) and len(standin.to(7999)) == 5, 90)
        assert standin.too_many == []  # paced under the token's limits: no 429
        assert len(standin.sent) == 105  # every reply delivered once
        # Another burst; the sender is killed while it goes out.
        second = members(standin, 8000, 100)
        await post_all(ports, said(standin, second, "/help"))
        await standin.wait_for(lambda: len(standin.sent) >= 105 + 30, 60)
        os.kill(sender, signal.SIGKILL)
        killed = time.monotonic()
        taken_over = await held_by(postgres_url, SENDER, not_by=sender)
        assert time.monotonic() - killed < TAKEOVER
        await standin.wait_for(lambda: answered(standin, second), 90)
    assert taken_over != sender
    assert standin.too_many == []
    assert count(postgres_url, "SELECT count(*) FROM outbox") == 205
    # The rest went out once; one message in flight at the kill may show twice.
    assert 205 <= len(standin.sent) <= 206
    assert standin.calls_of("getupdates") == []  # nobody polls beside the webhook
