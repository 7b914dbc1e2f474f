"""Two communities on one Telegram bot: python-telegram-bot over real HTTP to the
loopback stand-in of the Bot API (tests/telegram_standin.py), one process, one SQLite
file. Each group is its own community's; a member of both is asked which one their
private chat is about; a moderators' notice reaches that community's chat only."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from bot.config.community import Config, load_config
from bot.core.actions import GrantRole
from bot.core.events import MemberRef
from tests.telegram_standin import BotApiStandIn
from tests.test_telegram import FAST, TOKEN_ENV, _token, catalog_start, running, standin

__all__ = ["_token", "standin"]  # the fixtures: the token's variable, the Bot API stand-in
pytestmark = [
    pytest.mark.filterwarnings("ignore:Please use 'Bot.getUpdates'"),
    pytest.mark.filterwarnings("ignore:Deprecated since version v22.2"),
]
ROOT = Path(__file__).parents[1]
GROUPS = {"alpha": -1001000000001, "beta": -1001000000002}
ROOMS = {"alpha": -1001000000091, "beta": -1001000000092}
LANGUAGES = {"alpha": "en", "beta": "es"}


def write_deployment(tmp_path: Path, standin: BotApiStandIn, **telegram: Any) -> Config:
    folder = tmp_path / "communities"
    folder.mkdir()
    for ident, group in GROUPS.items():
        language = LANGUAGES[ident]
        (folder / f"{ident}.yaml").write_text(
            f"community:\n  id: {ident}\n  name: {ident.capitalize()}\n"
            f"  default_language: {language}\n  languages: [{language}]\n"
            f"  code_of_conduct: {ROOT / 'community' / 'code-of-conduct.yaml'}\n"
            f'moderators:\n  channel: "{ROOMS[ident]}"\n'
            f'spaces:\n  telegram: ["{group}"]\n',
            "utf-8",
        )
    section = {
        "token_env": TOKEN_ENV,
        "base_url": standin.base_url,
        "poll_timeout": 5,
        **telegram,
    }
    path = tmp_path / "concord.yaml"
    path.write_text(
        "communities: communities\nplatforms:\n  telegram: " + json.dumps(section) + "\n", "utf-8"
    )
    return load_config(path)


async def test_two_groups_two_communities_one_bot(tmp_path: Path, standin: BotApiStandIn) -> None:
    config = write_deployment(tmp_path, standin)
    async with (
        asyncio.timeout(60),
        running(config, tmp_path / "db", standin, FAST) as (adapter, _),
    ):
        assert adapter.host.router is not None
        alpha, beta = adapter.host.router.engines.values()
        ana = standin.user(5001, "Ana")
        for group in GROUPS.values():
            standin.join(standin.group(group), ana)
            await standin.wait_for(lambda group=group: bool(standin.to(group)))
        # Each group's welcome is its own community's, in its language.
        for engine, ident in ((alpha, "alpha"), (beta, "beta")):
            start = catalog_start(engine, LANGUAGES[ident], "onboarding.welcome_public")
            assert standin.to(GROUPS[ident])[0].text.startswith(start)
        # She opens the private chat: it could be either community's, so she is asked.
        standin.say(ana, "/start welcome")
        await standin.wait_for(lambda: any(s.buttons for s in standin.to(5001)))
        question = standin.to(5001)[-1]
        keys = [b["callback_data"] for b in question.buttons]
        assert keys == ["community:alpha", "community:beta"]
        standin.press(ana, question, "community:beta")
        await standin.wait_for(lambda: len(standin.to(5001)) > 1)
        assert "Beta" in standin.texts(5001)[-1]
        # Now her private chat is Beta's: onboarding in Spanish; asking for a person
        # tells Beta's moderators, never Alpha's.
        standin.say(ana, "/start welcome")
        welcome = catalog_start(beta, "es", "onboarding.welcome")
        await standin.wait_for(lambda: any(t.startswith(welcome) for t in standin.texts(5001)))
        standin.say(ana, "/human")
        await standin.wait_for(lambda: bool(standin.to(ROOMS["beta"])))
        assert "telegram:5001" in standin.texts(ROOMS["beta"])[0]
        await asyncio.sleep(0.2)
        assert standin.to(ROOMS["alpha"]) == []
        assert beta.services.store.load_conversation("beta", "telegram:5001")
        assert standin.unknown == []


async def test_a_role_granted_by_one_community_lifts_its_own_groups_only(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    config = write_deployment(tmp_path, standin, restrict_until_acknowledged=True)
    bo = standin.user(5002, "Bo")
    held = [(group, 5002) for group in GROUPS.values()]
    async with asyncio.timeout(60), running(config, tmp_path / "db", standin, FAST) as (bot, _):
        for group in GROUPS.values():
            standin.join(standin.group(group), bo)
        await standin.wait_for(lambda: all(key in standin.permissions for key in held))
        assert not standin.permissions[(GROUPS["beta"], 5002)]["can_send_messages"]
        # Alpha's onboarding grants its role (as the engine stamps it in a deployment):
        # Bo may write in Alpha's group, and stays held in Beta's until he agrees there.
        alpha = next(c for c in config.communities if c.community_id == "alpha")
        await bot.deliver(
            GrantRole(MemberRef("telegram", "5002"), "member", alpha.own_spaces("telegram"))
        )
        await standin.wait_for(
            lambda: standin.permissions[(GROUPS["alpha"], 5002)]["can_send_messages"]
        )
        assert not standin.permissions[(GROUPS["beta"], 5002)]["can_send_messages"]
