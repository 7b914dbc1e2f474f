"""Linking a Matrix account (against a real Synapse homeserver on loopback) and a
Telegram account (the loopback Bot API stand-in) of one member, on one engine."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

pytest.importorskip("nio")
pytest.importorskip("synapse")

from adapters.telegram import adapter as telegram_adapter
from adapters.telegram import settings as telegram_settings
from tests import test_telegram as on_telegram
from tests.synapse import Synapse, synapse_server
from tests.telegram_standin import BotApiStandIn
from tests.test_matrix import Bot, World, direct_room, write_config

pytestmark = list(on_telegram.pytestmark)
CODE = re.compile(r"\b([A-Z2-9]{6})\b")


@pytest.fixture(scope="module")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    yield from synapse_server(tmp_path_factory.mktemp("synapse"))


@pytest.fixture
async def world(
    synapse: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[World]:
    world = World(synapse, tmp_path, monkeypatch)
    try:
        yield world
    finally:
        await world.close()


async def test_a_member_links_their_matrix_and_telegram_accounts(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(on_telegram.TOKEN_ENV, on_telegram.TOKEN)
    standin = BotApiStandIn(on_telegram.TOKEN)
    await standin.start()
    telegram: asyncio.Task[None] | None = None
    try:
        async with asyncio.timeout(120):
            ana = await world.member("ana")
            path = write_config(world.folder, world.server, world.bot_account, "")
            section = {
                "token_env": on_telegram.TOKEN_ENV,
                "base_url": standin.base_url,
                "groups": [on_telegram.GROUP],
                "poll_timeout": 5,
            }
            path.write_text(path.read_text("utf-8") + "  telegram: " + json.dumps(section) + "\n")
            bot = Bot(path, world.folder / "concord.db")
            world.bots.append(bot)
            settings = telegram_settings.parse(bot.config.platforms["telegram"])
            adapter = telegram_adapter.create(settings, bot.host, on_telegram.FAST)
            bot.engine.add_adapter(adapter)
            await bot.start()
            polls = len(standin.poll_offsets)
            telegram = asyncio.create_task(adapter.run())
            await standin.wait_for(lambda: len(standin.poll_offsets) > polls)

            # On Matrix, in an encrypted direct room: a code.
            dm = await direct_room(world, ana, encrypted=True)
            await ana.say(dm, "/link")
            given = await ana.from_bot(world.bot_id, "Your linking code is", room=dm)
            assert given.encrypted
            found = CODE.search(given.body)
            assert found is not None
            # Sent back from Telegram, which confirms first.
            ana_tg = standin.user(5201, "Ana", language_code="en")
            standin.say(ana_tg, f"/link {found.group(1)}")
            await standin.wait_for(lambda: any(s.buttons for s in standin.to(5201)))
            question = next(s for s in standin.to(5201) if s.buttons)
            standin.press(ana_tg, question, "link")
            # Then Matrix, by typing the number.
            await ana.from_bot(world.bot_id, "Do you want to link the two accounts?", room=dm)
            await ana.say(dm, "1")
            linked = await ana.from_bot(world.bot_id, "your Telegram account are linked", room=dm)
            assert linked.encrypted
            await standin.wait_for(
                lambda: any("your Matrix account are linked" in t for t in standin.texts(5201))
            )
            community = bot.config.community_id
            accounts = bot.engine.services.store.links.accounts(community, "telegram:5201")
            assert [a.member for a in accounts] == [f"matrix:{ana.user_id}", "telegram:5201"]
    finally:
        if telegram is not None:
            telegram.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await telegram
            await adapter.close()
        await standin.stop()
