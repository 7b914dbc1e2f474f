"""Privileged commands on Discord: the scenario of tests/command_privacy.py run through
discord.py against the loopback stand-in, once as slash commands and once as typed text
(a plain message a client sent without picking the slash command), in a direct
message, a community channel, the moderators' channel and a channel the community did
not configure."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config.community import Config, load_config
from bot.core.clock import ManualClock
from bot.engine.engine import Engine
from tests.command_privacy import PROBES, Heard, check_command_privacy
from tests.discord_standin import DiscordStandIn, Sent
from tests.test_discord import (
    GENERAL,
    MODERATORS,
    NO_PINGS,
    SPACES,
    TOKEN_ENV,
    CountingHost,
    example_server,
    prepare_environment,
    running,
)

ROOT = Path(__file__).parents[1]
RANDOM = 905  # a channel of the server the community did not configure
NAMES = ("rhea", "ana", "sam", "bob", "imp", "kai", "mod", "noor", "tomas", "zed")
IDS = {name: 3001 + index for index, name in enumerate(NAMES)}
CHANNELS = {"community": GENERAL, "moderators": MODERATORS, "unconfigured": RANDOM}
PLACE_OF = {channel: place for place, channel in CHANNELS.items()}


@pytest.fixture
async def standin(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DiscordStandIn]:
    prepare_environment(monkeypatch)
    server = await example_server()
    server.add_channel(RANDOM, "random")
    yield server
    await server.stop()
    assert all(s.payload.get("allowed_mentions") == NO_PINGS for s in server.sent)


def write_config(tmp_path: Path, standin: DiscordStandIn) -> Config:
    """The example community, every member named by a Discord user id."""
    text = (ROOT / "community" / "concord.yaml").read_text("utf-8")
    extra = iter(range(3100, 3200))
    ids = dict(IDS)
    text = re.sub(
        r"console:(\w+)",
        lambda m: f"discord:{ids.setdefault(m.group(1), next(extra))}",
        text,
    )
    coc = ROOT / "community" / "code-of-conduct.yaml"
    text = text.replace("# code_of_conduct: code-of-conduct.yaml", f"code_of_conduct: {coc}")
    section = {
        "token_env": TOKEN_ENV,
        "guild": standin.guild_id,
        "moderators_channel": MODERATORS,
        "spaces_channel": SPACES,
        "api_base": standin.base,
        "gateway": standin.gateway,
        "guild_ready_timeout": 0.05,
        "requests_per_second": 2000,
    }
    text += "\nplatforms:\n  discord: " + json.dumps(section) + "\n"
    path = tmp_path / "concord.yaml"
    path.write_text(text, "utf-8")
    return load_config(path)


class DiscordDriver:
    """Members on Discord; what the stand-in saw the bot do, as Heard. The scenario's
    commands run as slash commands (``slash``), or as typed text (a member whose client
    sent ``/word`` as a plain message: a command of Concord's, in a channel too)."""

    def __init__(
        self,
        standin: DiscordStandIn,
        engine: Engine,
        host: CountingHost,
        users: dict[str, Any],
        slash: bool = True,
    ) -> None:
        self.standin = standin
        self.engine = engine
        self.host = host
        self.users = users
        self.slashes = slash

    async def join(self, who: str) -> None:
        await self.step(self.standin.join(self.users[who]))

    async def type(self, who: str, place: str, text: str) -> list[Heard]:
        channel = CHANNELS.get(place)
        text = self.named(text)
        if self.slashes and text in PROBED:  # the scenario's own steps are typed
            name, _, words = text[1:].partition(" ")
            return await self.slash(who, place, channel, name, words or None)
        return await self.typed(who, place, channel, text)

    @staticmethod
    def named(text: str) -> str:
        """A command names a member by a mention (``/sanction <@3004> …``)."""
        if not text.startswith("/"):
            return text
        words = text.split(" ")
        return " ".join([words[0], *(f"<@{IDS[w]}>" if w in IDS else w for w in words[1:])])

    async def typed(self, who: str, place: str, channel: int | None, text: str) -> list[Heard]:
        start, removed = len(self.standin.sent), set(self.standin.members_deleted)
        await self.step(self.standin.say(self.users[who], text, channel))
        return self.heard(who, place, start, removed)

    async def slash(
        self, who: str, place: str, channel: int | None, name: str, words: str | None
    ) -> list[Heard]:
        assert any(c["name"] == name for c in self.standin.commands), f"no slash /{name}"
        start, removed = len(self.standin.sent), set(self.standin.members_deleted)
        callbacks = len(self.standin.callbacks)
        await self.step(self.standin.slash(self.users[who], name, words, channel))
        heard = []
        for _, body in self.standin.callbacks[callbacks:]:
            ephemeral = int((body.get("data") or {}).get("flags") or 0) & 64
            if channel is not None and not ephemeral:
                # Everyone in the channel sees "<member> used /name" and the bot thinking.
                heard.append(Heard("room", place, f"{who} used /{name}"))
        return heard + self.heard(who, place, start, removed)

    async def step(self, action: object) -> None:
        clock = self.engine.services.clock
        assert isinstance(clock, ManualClock)
        clock.advance(timedelta(seconds=5))  # within the rate limit
        before = self.host.handled
        await action  # type: ignore[misc]
        await self.standin.wait_for(lambda: self.host.handled > before)

    def heard(self, who: str, place: str, start: int, removed: set[int]) -> list[Heard]:
        found = [self.one(who, sent) for sent in self.standin.sent[start:]]
        gone = self.standin.members_deleted - removed
        return found + [Heard("removed", place) for _ in gone]

    def one(self, who: str, sent: Sent) -> Heard:
        text = "\n".join([sent.content, *(f.data.decode() for f in sent.files)])
        if sent.channel_id in PLACE_OF:
            if sent.ephemeral:
                return Heard("unseen", who, text)
            return Heard("room", PLACE_OF[sent.channel_id], text)
        dms = self.standin.dm_channels
        member = next((n for n, i in IDS.items() if dms.get(i) == sent.channel_id), None)
        return Heard("dm", member, text) if member else Heard("other", str(sent.channel_id), text)


PROBED = {DiscordDriver.named(line) for p in PROBES for line in (p.line, p.twin) if line}


@pytest.mark.parametrize("slash", [True, False], ids=["slash", "typed"])
async def test_every_command_by_every_role_in_every_place(
    tmp_path: Path, standin: DiscordStandIn, slash: bool
) -> None:
    config = write_config(tmp_path, standin)
    names = {"imp": "kai"}  # a member who took a moderator's name
    joining = ("rhea", "ana", "sam", "bob", "imp")  # the scenario has them join
    users = {
        name: (standin.person if name in joining else standin.user)(user_id, names.get(name, name))
        for name, user_id in IDS.items()
    }
    standin.manage_messages = True
    async with (
        asyncio.timeout(170),
        running(config, tmp_path / "db", standin) as (adapter, engine),
    ):
        assert isinstance(adapter.host, CountingHost)
        await check_command_privacy(DiscordDriver(standin, engine, adapter.host, users, slash))
        # Each way was taken: interactions answered, or typed lines taken back.
        assert len(standin.callbacks) > 100 if slash else len(standin.members_deleted) > 50
        assert standin.unknown == []


async def test_a_private_slash_command_in_the_moderators_channel_is_shown_to_its_sender_alone(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    """A member's /reports in the moderators' channel (not theirs to run) and a mediation
    admin's /case there: the moderators see neither that it was run nor its answer."""
    config = write_config(tmp_path, standin)
    bob = standin.user(IDS["bob"], "bob")
    mod = standin.user(IDS["mod"], "mod")
    async with (
        asyncio.timeout(60),
        running(config, tmp_path / "db", standin) as (adapter, engine),
    ):
        assert isinstance(adapter.host, CountingHost)
        driver = DiscordDriver(standin, engine, adapter.host, {"bob": bob, "mod": mod})
        for who, name, words in (("bob", "reports", "list"), ("mod", "case", "list")):
            heard = await driver.slash(who, "moderators", MODERATORS, name, words)
            assert heard and all(h == Heard("unseen", who, h.text) for h in heard), heard
        assert [s for s in standin.to(MODERATORS) if not s.ephemeral] == []
        assert all(int(body["data"]["flags"]) & 64 for _, body in standin.callbacks)
