"""Linking a Discord account and a Telegram account of one member, end to end: both
adapters on one engine, each over real HTTP (and Discord's websocket) to its loopback
stand-in (tests/discord_standin.py, tests/telegram_standin.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from pathlib import Path

import pytest

from adapters.discord.adapter import create as create_discord
from adapters.discord.settings import parse as parse_discord
from adapters.telegram.adapter import create as create_telegram
from adapters.telegram.settings import parse as parse_telegram
from bot.app import build_engine
from bot.config.community import load_config
from bot.core.clock import ManualClock
from tests import test_telegram as on_telegram
from tests.discord_standin import DiscordStandIn, Sent
from tests.telegram_standin import BotApiStandIn
from tests.test_discord import (
    GENERAL,
    MODERATOR_ROLE,
    MODERATORS,
    CountingHost,
    example_server,
    prepare_environment,
)
from tests.test_discord import write_config as discord_config

pytestmark = on_telegram.pytestmark
CODE = re.compile(r"\b([A-Z2-9]{6})\b")


async def shared_for_an_appeal_and_the_sanction_extended(
    discord: DiscordStandIn, telegram: BotApiStandIn
) -> None:
    """Ana, sanctioned on Discord, appeals and shares her linked Telegram account for
    the appeal; a moderator (by the Discord role) sees it there and extends the
    sanction, and Ana's Telegram account is told in its own language (Spanish)."""
    kai = discord.user(3109, "Kai", roles=(MODERATOR_ROLE,))
    ana_dc = discord.members[3101]["user"]

    async def moderator(words: str) -> None:
        await discord.slash(kai, "sanction", words, channel_id=MODERATORS)

    await moderator("3101 warning 1 Insults in #general.")
    await discord.wait_for(lambda: any("Insults" in t for t in discord.texts_to_user(3101)))
    await moderator("extend 1 Same insults on Telegram.")
    await discord.wait_for(
        lambda: any("cannot be extended" in s.content for s in discord.to(MODERATORS))
    )

    await discord.say(ana_dc, "/appeal")
    await discord.wait_for(lambda: any(s.buttons for s in discord.shown_to_user(3101)[-1:]))
    await discord.press(ana_dc, discord.shown_to_user(3101)[-1], "concord:1")
    await discord.wait_for(lambda: "why" in discord.texts_to_user(3101)[-1].lower())
    await discord.say(ana_dc, "That was not me.")
    before = len(discord.texts_to_user(3101))
    await discord.say(ana_dc, "/share appeal 1")

    def asked() -> list[Sent]:
        shown = discord.shown_to_user(3101)[before:]
        return [s for s in shown if s.buttons and "share them?" in s.content]

    await discord.wait_for(lambda: bool(asked()))
    # Her welcome, still waiting on Discord, comes back after the question: one at a time.
    [question] = asked()
    assert "Telegram: Ana (telegram:5101)" in question.content
    await discord.press(ana_dc, question, "concord:yes")
    await discord.wait_for(
        lambda: any("now see your linked accounts" in t for t in discord.texts_to_user(3101))
    )

    await discord.slash(kai, "appeals", "show 1", channel_id=MODERATORS)
    line = "Linked accounts that Ana (discord:3101) shared for this case: Telegram: Ana"
    await discord.wait_for(lambda: any(line in t for t in discord.texts_to_user(3109)))
    told = len(telegram.texts(5101))
    await moderator("extend 1 Same insults on Telegram.")
    await telegram.wait_for(lambda: len(telegram.texts(5101)) > told)
    notice = telegram.texts(5101)[-1]
    assert notice.startswith("Alguien del equipo de moderación registró esto sobre ti (registro 2)")
    assert "Same insults on Telegram." in notice and "/appeal" in notice
    await discord.wait_for(
        lambda: any(
            "now also covers these linked accounts" in t for t in discord.texts_to_user(3109)
        )
    )
    assert not any("telegram:5101" in s.content for s in discord.to(MODERATORS))


def both_platforms(tmp_path: Path, discord: DiscordStandIn, telegram: BotApiStandIn) -> Path:
    """The example community on Discord, and on Telegram as well."""
    discord_config(tmp_path, discord)
    path = tmp_path / "concord.yaml"
    section = {
        "token_env": on_telegram.TOKEN_ENV,
        "base_url": telegram.base_url,
        "groups": [on_telegram.GROUP],
        "moderators_chat": on_telegram.MODERATORS,
        "poll_timeout": 5,
    }
    path.write_text(path.read_text("utf-8") + "  telegram: " + json.dumps(section) + "\n")
    return path


async def test_a_member_links_their_discord_and_telegram_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare_environment(monkeypatch)
    monkeypatch.setenv(on_telegram.TOKEN_ENV, on_telegram.TOKEN)
    discord = await example_server()
    discord.manage_messages = True
    telegram = BotApiStandIn(on_telegram.TOKEN)
    await telegram.start()
    config = load_config(both_platforms(tmp_path, discord, telegram))
    engine = build_engine(config, tmp_path / "concord.db", ManualClock())
    on_discord = create_discord(parse_discord(config.platforms["discord"]), CountingHost(engine))
    on_tg = create_telegram(
        parse_telegram(config.platforms["telegram"]), CountingHost(engine), on_telegram.FAST
    )
    engine.add_adapter(on_discord)
    engine.add_adapter(on_tg)
    tasks = [asyncio.create_task(on_discord.run()), asyncio.create_task(on_tg.run())]
    try:
        async with asyncio.timeout(60):
            await discord.wait_for(lambda: bool(discord.commands))
            await telegram.wait_for(lambda: bool(telegram.poll_offsets))
            ana_tg = telegram.user(5101, "Ana", language_code="es")
            ana_dc = discord.user(3101, "Ana")
            await discord.join(ana_dc)

            # On Telegram, in the private chat: a code.
            telegram.say(ana_tg, "/link")
            await telegram.wait_for(lambda: any(CODE.search(t) for t in telegram.texts(5101)))
            code = CODE.findall(" ".join(telegram.texts(5101)))[0]

            # Typed in a Discord channel by mistake: removed, refused in private, burnt.
            typed = await discord.say(ana_dc, f"/link {code}", GENERAL)
            await discord.wait_for(lambda: typed in discord.members_deleted)
            await discord.wait_for(
                lambda: any("only in a direct message" in t for t in discord.texts_to_user(3101))
            )
            assert not any(code in s.content for s in discord.to(GENERAL))
            await discord.say(ana_dc, f"/link {code}")
            await discord.wait_for(
                lambda: any("seen in a public place" in t for t in discord.texts_to_user(3101))
            )

            # A new code, sent back in a Discord direct message: Discord's side first.
            before = len(telegram.texts(5101))
            telegram.say(ana_tg, "/link")
            await telegram.wait_for(lambda: len(telegram.texts(5101)) > before)
            code = CODE.findall(telegram.texts(5101)[-1])[0]
            await discord.say(ana_dc, f"/link {code}")
            await discord.wait_for(lambda: any(s.buttons for s in discord.shown_to_user(3101)[-1:]))
            question = discord.shown_to_user(3101)[-1]
            assert "Do you want to link the two accounts?" in question.content
            await discord.press(ana_dc, question, "concord:link")

            # Then Telegram's side, in Ana's language there (Spanish).
            await telegram.wait_for(lambda: any(s.buttons for s in telegram.to(5101)[-1:]))
            asked = telegram.to(5101)[-1]
            assert "¿Quieres vincular las dos cuentas?" in asked.text
            telegram.press(ana_tg, asked, "link")
            await telegram.wait_for(
                lambda: any("cuenta de Discord están vinculadas" in t for t in telegram.texts(5101))
            )
            await discord.wait_for(
                lambda: any(
                    "your Telegram account are linked" in t for t in discord.texts_to_user(3101)
                )
            )
            accounts = engine.services.store.links.accounts(config.community_id, "discord:3101")
            assert [a.member for a in accounts] == ["discord:3101", "telegram:5101"]
            await shared_for_an_appeal_and_the_sanction_extended(discord, telegram)
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await on_discord.close()
        await on_tg.close()
        engine.services.store.close()
        await discord.stop()
        await telegram.stop()
