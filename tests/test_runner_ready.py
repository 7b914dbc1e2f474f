"""``concord run`` delivers what a crash left in the outbox only once each adapter says
it is ready (``host.ready``): before that an action waits, neither failing nor counted
as an adapter bug and set aside. End to end with python-telegram-bot and discord.py
over their loopback stand-ins; the engine's side with a recording adapter."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from adapters import platforms
from bot.app import build_engine, build_engines
from bot.config.community import Config, load_config
from bot.core.actions import Action, NotifyModerators
from bot.core.clock import ManualClock
from bot.engine.engine import Engine
from bot.store.types import Changes
from tests import test_discord as on_discord
from tests import test_telegram as on_telegram
from tests.conftest import RecordingAdapter, says
from tests.discord_standin import DiscordStandIn
from tests.telegram_standin import BotApiStandIn

pytestmark = [
    pytest.mark.filterwarnings("ignore:Please use 'Bot.getUpdates'"),
    pytest.mark.filterwarnings("ignore:Deprecated since version v22.2"),
]


@pytest.fixture
async def telegram(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[BotApiStandIn]:
    monkeypatch.setenv(on_telegram.TOKEN_ENV, on_telegram.TOKEN)
    server = BotApiStandIn(on_telegram.TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def discord_server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DiscordStandIn]:
    on_discord.prepare_environment(monkeypatch)
    server = await on_discord.example_server()
    yield server
    await server.stop()


def leave_in_outbox(config: Config, database: Path, action: Action) -> None:
    """What a process that crashed after committing, before delivering, left behind."""
    left = build_engine(config, database)
    now = left.services.clock.now()
    left.services.store.apply(Changes(at=now, outbox=[(left.community, action)]))
    left.services.store.close()


async def run_until_delivered(
    config: Config, database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``concord run`` until nothing is left in the outbox, then cancelled."""
    delivered = asyncio.Event()

    def build(config: Config, database: Path | None = None) -> list[Engine]:
        [engine] = build_engines(config, database)
        store = engine.services.store
        mark_sent = store.mark_sent_later

        def marked(outbox_id: int, at: datetime) -> None:
            mark_sent(outbox_id, at)
            if not store.pending_outbox():  # (which writes the mark first)
                delivered.set()

        monkeypatch.setattr(store, "mark_sent_later", marked)
        return [engine]

    monkeypatch.setattr(platforms, "build_engines", build)
    task = asyncio.create_task(platforms.run_platforms(config.source, database))
    waiting = asyncio.create_task(delivered.wait())
    try:
        async with asyncio.timeout(30):
            await asyncio.wait([task, waiting], return_when=asyncio.FIRST_COMPLETED)
        assert not task.done(), task.result()
    finally:
        for running in (task, waiting):
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running


def outbox_rows(database: Path) -> list[tuple[str | None, int, str | None]]:
    with contextlib.closing(sqlite3.connect(database)) as conn:
        return conn.execute(
            "SELECT sent_at, attempts, last_error FROM outbox ORDER BY id"
        ).fetchall()


async def test_run_delivers_what_a_crash_left_once_telegram_is_ready(
    tmp_path: Path, telegram: BotApiStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = on_telegram.write_config(tmp_path, telegram)
    database = tmp_path / "concord.db"
    leave_in_outbox(config, database, NotifyModerators("telegram", "left by a crash"))
    await run_until_delivered(config, database, monkeypatch)

    assert telegram.texts(on_telegram.MODERATORS) == ["left by a crash"]
    methods = [call.method for call in telegram.calls]
    sent = methods.index("sendmessage")
    assert {"getme", "deletewebhook", "setmycommands"} <= set(methods[:sent])  # after set-up
    assert methods.count("sendmessage") == 1
    # Delivered: no row left (one set aside would stay, with its reason).
    assert outbox_rows(database) == []


async def test_run_delivers_what_a_crash_left_once_discord_is_ready(
    tmp_path: Path, discord_server: DiscordStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = on_discord.write_config(tmp_path, discord_server)
    database = tmp_path / "concord.db"
    leave_in_outbox(config, database, NotifyModerators("discord", "left by a crash"))
    await run_until_delivered(config, database, monkeypatch)

    sent = discord_server.to(on_discord.MODERATORS)
    assert [s.content for s in sent] == ["left by a crash"]
    assert discord_server.identifies  # delivered once connected, not before
    assert all(request.authorized for request in discord_server.requests)
    # Delivered: no row left (one set aside would stay, with its reason).
    assert outbox_rows(database) == []


class WaitingAdapter(RecordingAdapter):
    """Fails the way an adapter that has not connected does: not a DeliveryError."""

    def __init__(self) -> None:
        super().__init__()
        self.connected = False
        self.delivered = asyncio.Event()

    async def deliver(self, action: Action, idempotency_key: str) -> None:
        if not self.connected:
            raise RuntimeError("not logged in")
        await super().deliver(action, idempotency_key)
        self.delivered.set()


async def test_actions_wait_for_a_platform_that_is_not_ready(
    config: Config, database: Path, clock: ManualClock
) -> None:
    engine = build_engine(config, database, clock)
    adapter = WaitingAdapter()
    engine.add_adapter(adapter, ready=False)
    retrying = asyncio.create_task(engine.retry_outbox(every=timedelta(hours=1)))
    try:
        for n in range(4):  # more than MAX_ATTEMPTS_ON_BUG
            assert await engine.handle(says("ana", f"hello {n}"))
        assert await engine.flush_outbox() == 0
        assert adapter.sent == []
        pending = engine.services.store.pending_outbox()
        assert pending and all(item.attempts == 0 for item in pending)

        adapter.connected = True
        engine.platform_ready("test")  # delivered now, not in an hour
        async with asyncio.timeout(10):
            while engine.services.store.pending_outbox():
                adapter.delivered.clear()
                await adapter.delivered.wait()
        assert len(adapter.sent) == len(pending)
        assert outbox_rows(database) == []  # all delivered, none set aside
    finally:
        retrying.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await retrying
        engine.services.store.close()


# One platform's trouble never stops the others ------------------------------------------


def both_platforms(
    tmp_path: Path, telegram: BotApiStandIn, discord_server: DiscordStandIn
) -> Config:
    """The example community on Discord and Telegram in one ``concord run``."""
    on_discord.write_config(tmp_path, discord_server)
    telegram_text = Path(on_telegram.write_config(tmp_path / "t", telegram).source).read_text(
        "utf-8"
    )
    section = telegram_text[telegram_text.index("\nplatforms:\n") + len("\nplatforms:\n") :]
    path = tmp_path / "concord.yaml"
    path.write_text(path.read_text("utf-8") + section, "utf-8")
    return load_config(path)


@contextlib.asynccontextmanager
async def concord_run(config: Config, database: Path) -> AsyncIterator[asyncio.Task[int]]:
    task = asyncio.create_task(platforms.run_platforms(config.source, database))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def telegram_answers(telegram: BotApiStandIn, user_id: int) -> None:
    """A member's /help in a private chat is answered."""
    user = telegram.user(user_id, f"Member {user_id}", language_code="en")
    telegram.say(user, "/help")
    await telegram.wait_for(lambda: len(telegram.to(user_id)) == 1, timeout=20)


async def test_a_failed_discord_login_is_retried_while_telegram_goes_on(
    tmp_path: Path,
    telegram: BotApiStandIn,
    discord_server: DiscordStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (tmp_path / "t").mkdir()
    config = both_platforms(tmp_path, telegram, discord_server)
    discord_server.force_error("GET /users/@me", 503, times=2)
    async with asyncio.timeout(40), concord_run(config, tmp_path / "concord.db") as task:
        await telegram_answers(telegram, 5101)
        # Discord comes up after its retries: logged in, connected, commands published.
        await discord_server.wait_for(lambda: bool(discord_server.commands), timeout=20)
        logins = [r.status for r in discord_server.calls("GET", "/users/@me")]
        assert logins == [503, 503, 200]
        assert "discord: cannot log in" in caplog.text
        ana = discord_server.user(2001, "Ana")
        await discord_server.slash(ana, "help")
        await discord_server.wait_for(lambda: bool(discord_server.to_user(2001)))
        await telegram_answers(telegram, 5102)  # and Telegram still answers
        assert not task.done()
    assert "stopped" not in caplog.text


async def test_a_platform_that_cannot_start_leaves_the_others_running(
    tmp_path: Path,
    telegram: BotApiStandIn,
    discord_server: DiscordStandIn,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "t").mkdir()
    config = both_platforms(tmp_path, telegram, discord_server)
    monkeypatch.setenv(on_discord.TOKEN_ENV, "a-revoked-token")
    async with asyncio.timeout(40), concord_run(config, tmp_path / "concord.db") as task:
        await telegram_answers(telegram, 5103)
        await telegram.wait_for(lambda: "discord stopped" in caplog.text, timeout=20)
        await telegram_answers(telegram, 5104)  # after Discord stopped for good
        assert not task.done()
    assert on_discord.TOKEN_ENV in caplog.text  # the reason, naming the variable


class FailingOnce(RecordingAdapter):
    """A platform whose first run fails with a bug, not a setting to fix."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0
        self.running = asyncio.Event()

    async def run(self) -> None:
        self.runs += 1
        if self.runs == 1:
            raise RuntimeError("an unexpected failure")
        self.running.set()
        await asyncio.Event().wait()


async def test_a_platform_that_fails_unexpectedly_is_started_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    adapter = FailingOnce()
    supervised = asyncio.create_task(platforms.supervise(adapter, first_backoff=0.01))
    try:
        async with asyncio.timeout(10):
            await adapter.running.wait()
        assert adapter.runs == 2 and not supervised.done()
        assert "test failed; starting it again" in caplog.text
    finally:
        supervised.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await supervised


async def test_the_process_stops_when_no_platform_is_left(
    tmp_path: Path,
    discord_server: DiscordStandIn,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = on_discord.write_config(tmp_path, discord_server)
    monkeypatch.setenv(on_discord.TOKEN_ENV, "a-revoked-token")
    async with asyncio.timeout(20):
        code = await platforms.run_platforms(Path(config.source), tmp_path / "concord.db")
    assert code == 1
    assert f"discord stopped: discord: the token in {on_discord.TOKEN_ENV}" in caplog.text
    assert "no platform is running any more" in caplog.text
