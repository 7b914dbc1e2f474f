"""Telegram's webhook: updates POSTed over real HTTP to Concord's endpoint, parsed by
python-telegram-bot and handed in as the poller hands them in, answered 200 only once
committed; the secret token checked; an update Telegram sends twice, to two processes
on one PostgreSQL database, handled once. Telegram itself is the loopback stand-in
(tests/telegram_standin.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.telegram.adapter import TelegramAdapter, create
from adapters.telegram.settings import parse
from adapters.telegram.webhook import SECRET_HEADER
from bot.app import build_engine
from bot.config.community import Config
from bot.core.clock import ManualClock
from bot.engine.engine import Engine
from bot.engine.host import AdapterHost
from tests import test_telegram as on_telegram
from tests.postgres_server import Cluster, free_port, own_cluster
from tests.telegram_standin import BotApiStandIn
from tests.test_telegram import FAST, TOKEN, catalog_start, settings_error, write_config

pytestmark = [
    pytest.mark.filterwarnings("ignore:Please use 'Bot.getUpdates'"),
    pytest.mark.filterwarnings("ignore:Deprecated since version v22.2"),
]

SECRET_ENV = "CONCORD_TEST_TELEGRAM_WEBHOOK_SECRET"
SECRET = "a-secret_for-the-webhook"
URL = "https://public.example/telegram"


standin = on_telegram.standin  # the stand-in of the Bot API, as a fixture


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCORD_TEST_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv(SECRET_ENV, SECRET)


def webhook_config(tmp_path: Path, standin: BotApiStandIn, port: int) -> Config:
    hook = {"listen": f"127.0.0.1:{port}", "secret_token_env": SECRET_ENV, "url": URL}
    folder = tmp_path / str(port)
    folder.mkdir()
    return write_config(folder, standin, webhook=hook)


@contextlib.asynccontextmanager
async def serving(
    config: Config, database: Path | str, standin: BotApiStandIn
) -> AsyncIterator[tuple[TelegramAdapter, Engine]]:
    """A Concord process with its Telegram adapter taking updates on its webhook."""
    standin.limits = FAST
    engine = build_engine(config, database, ManualClock())
    adapter = create(parse(config.platforms["telegram"]), AdapterHost(engine), FAST)
    engine.add_adapter(adapter)
    task = asyncio.create_task(adapter.run())
    retrying = asyncio.create_task(engine.retry_outbox())  # as ``concord run`` does
    try:
        while adapter.webhook is None or not adapter.webhook.listening.is_set():
            assert not task.done(), task.result()
            await asyncio.sleep(0.01)
        yield adapter, engine
    finally:
        for running in (task, retrying):
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
        await adapter.close()
        engine.outbox.leases.close()
        engine.services.store.close()


@contextlib.asynccontextmanager
async def two_processes(
    tmp_path: Path, standin: BotApiStandIn, url: str
) -> AsyncIterator[list[tuple[TelegramAdapter, Engine]]]:
    """Two processes on one database, each with its endpoint; the first started is
    the one that sends for the bot token."""
    async with contextlib.AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                serving(webhook_config(tmp_path, standin, free_port()), url, standin)
            )
            for _ in range(2)
        ]


async def post(adapter: TelegramAdapter, update: dict[str, Any], secret: str = SECRET) -> int:
    assert adapter.webhook is not None
    url = f"http://127.0.0.1:{adapter.webhook.port}/telegram"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=update, headers={SECRET_HEADER: secret}) as answer,
    ):
        return answer.status


def update_of(standin: BotApiStandIn, update_id: int) -> dict[str, Any]:
    """The update as Telegram would POST it (the stand-in keeps what it would send)."""
    return next(u for u in standin.updates if u["update_id"] == update_id)


async def test_a_posted_update_gets_its_reply(tmp_path: Path, standin: BotApiStandIn) -> None:
    config = webhook_config(tmp_path, standin, free_port())
    async with asyncio.timeout(30), serving(config, tmp_path / "db", standin) as (adapter, engine):
        await standin.wait_for(lambda: standin.webhook is not None)
        assert standin.webhook is not None
        assert standin.webhook["url"] == URL and standin.webhook["secret_token"] == SECRET
        assert str(standin.webhook.get("drop_pending_updates")).lower() in ("false", "none")
        ana = standin.user(5001, "Ana", language_code="es")
        assert await post(adapter, update_of(standin, standin.say(ana, "/start welcome"))) == 200
        # Answered once committed: the replies went out before the 200.
        welcome = standin.to(5001)[0]
        assert welcome.text.startswith(catalog_start(engine, "es", "onboarding.welcome"))
        assert standin.calls_of("getupdates") == []  # no polling beside the webhook


async def test_a_wrong_secret_is_refused_and_handles_nothing(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    config = webhook_config(tmp_path, standin, free_port())
    async with asyncio.timeout(30), serving(config, tmp_path / "db", standin) as (adapter, engine):
        ana = standin.user(5001, "Ana")
        update = update_of(standin, standin.say(ana, "/start welcome"))
        assert await post(adapter, update, secret="guessed") == 403
        assert await post(adapter, update, secret="") == 403
        await asyncio.sleep(0.2)
        assert standin.to(5001) == []
        assert not engine.services.store.seen(f"{engine.community}|telegram|{update['update_id']}")
        assert await post(adapter, update) == 200  # the same update, with the secret
        assert standin.to(5001)


async def test_an_update_posted_to_two_processes_is_handled_once(
    tmp_path: Path, standin: BotApiStandIn, postgres_url: str
) -> None:
    async with asyncio.timeout(60), two_processes(tmp_path, standin, postgres_url) as running:
        (first, _), (second, _) = running
        ana = standin.user(5001, "Ana", language_code="es")
        update = update_of(standin, standin.say(ana, "/start welcome"))
        # Telegram sent it again (it saw no answer in time), and the load balancer
        # passed each copy to another process.
        answers = await asyncio.gather(post(first, update), post(second, update))
        assert answers == [200, 200]
        await standin.wait_for(lambda: len(standin.to(5001)) >= 3)  # by the one sender
        await asyncio.sleep(0.5)  # anything sent twice would be sent by now
        replies = [s.text for s in standin.to(5001)]
        assert replies and len(replies) == len(set(replies)), replies
        assert await post(second, update) == 200  # once more, later: still nothing new
        await asyncio.sleep(0.5)
        assert [s.text for s in standin.to(5001)] == replies
        # One of the two processes told Telegram where to post; the other did not.
        assert len(standin.calls_of("setwebhook")) == 1


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    yield from own_cluster()


async def test_an_update_the_store_cannot_take_is_answered_5xx_and_taken_when_sent_again(
    tmp_path: Path, standin: BotApiStandIn, cluster: Cluster
) -> None:
    config = webhook_config(tmp_path, standin, free_port())
    async with asyncio.timeout(90), serving(config, cluster.new_database(), standin) as (hook, _):
        ana = standin.user(5001, "Ana", language_code="es")
        update = update_of(standin, standin.say(ana, "/start welcome"))
        await asyncio.to_thread(cluster.stop, "fast")
        assert await post(hook, update) == 503  # Telegram keeps it and sends it again
        assert standin.to(5001) == []
        await asyncio.to_thread(cluster.start)
        answers = [await post(hook, update)]
        while answers[-1] != 200:  # the first tries may meet the connection being remade
            assert answers[-1] == 503 and len(answers) < 50, answers
            await asyncio.sleep(0.1)
            answers.append(await post(hook, update))
        await standin.wait_for(lambda: bool(standin.to(5001)))  # (one paced may go after the 200)
        replies = [s.text for s in standin.to(5001)]
        assert replies and len(replies) == len(set(replies))


def test_webhook_settings_are_validated(
    tmp_path: Path, standin: BotApiStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = {"listen": "127.0.0.1:8443", "secret_token_env": SECRET_ENV, "url": URL}
    settings = parse(write_config(tmp_path, standin, webhook=hook).platforms["telegram"])
    assert settings.webhook is not None
    assert (settings.webhook.host, settings.webhook.port, settings.webhook.path) == (
        "127.0.0.1",
        8443,
        "/telegram",
    )
    assert settings.webhook.secret == SECRET and SECRET not in repr(settings)
    for wrong, key in [
        ({**hook, "url": "http://public.example/telegram"}, "url"),
        ({**hook, "listen": "8443"}, "listen"),
        ({**hook, "listen": "127.0.0.1:99999"}, "listen"),
        ({**hook, "path": "telegram"}, "path"),
        ({k: v for k, v in hook.items() if k != "url"}, "webhook"),
        ({**hook, "colour": "blue"}, "colour"),
    ]:
        assert settings_error(tmp_path, standin, webhook=wrong).key.endswith(key), wrong
    monkeypatch.setenv(SECRET_ENV, "not a valid secret!")
    error = settings_error(tmp_path, standin, webhook=hook)
    assert error.key.endswith("secret_token_env") and SECRET_ENV in error.message
    assert "not a valid secret" not in error.message  # the secret is never shown
    monkeypatch.delenv(SECRET_ENV)
    config = write_config(tmp_path, standin, webhook=hook)
    checked = parse(config.platforms["telegram"], check_only=True)  # concord check
    assert checked.webhook is not None and checked.webhook.secret == ""


async def test_forget_through_a_process_that_does_not_send_leaves_no_record(
    tmp_path: Path, standin: BotApiStandIn, postgres_url: str
) -> None:
    """The answer to /forget goes out before what was delivered to the member is
    erased, even from a process that leaves its other replies to the token's sender:
    no record of the messages sent to them is kept afterwards."""
    async with asyncio.timeout(60), two_processes(tmp_path, standin, postgres_url) as running:
        (_, engine), (second, other) = running
        store = engine.services.store
        assert engine.outbox.leases.holds("send:telegram:123456")
        assert not other.outbox.leases.holds("send:telegram:123456")
        ana = standin.user(12, "Ana", language_code="en")
        assert await post(second, update_of(standin, standin.say(ana, "/start welcome"))) == 200
        await standin.wait_for(lambda: any(s.buttons for s in standin.to(12)))
        now = engine.services.clock.now()
        await standin.wait_for(
            lambda: store.member_record("telegram", "12", "sent", now) is not None
        )
        assert await post(second, update_of(standin, standin.say(ana, "/forget"))) == 200
        await standin.wait_for(lambda: "erase" in str(standin.to(12)[-1].buttons))
        count = len(standin.to(12))
        assert await post(second, update_of(standin, standin.say(ana, "1"))) == 200
        await standin.wait_for(lambda: len(standin.to(12)) > count)
        await asyncio.sleep(0.5)  # anything the sender still had would be out by now
        assert store.member_record("telegram", "12", "sent", now) is None
        assert store.waiting() == {}
