"""Privileged commands on Telegram: the scenario of tests/command_privacy.py run through
python-telegram-bot against the loopback Bot API stand-in, in the private chat, a served
group, the moderators' chat and groups the community did not configure."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.telegram.send import Limits
from bot.config.community import Config, load_config
from bot.core.clock import ManualClock
from bot.engine.engine import Engine
from tests.command_privacy import Heard, check_command_privacy
from tests.telegram_standin import BotApiStandIn
from tests.test_telegram import TOKEN, TOKEN_ENV, running

pytestmark = [
    pytest.mark.filterwarnings("ignore:Please use 'Bot.getUpdates'"),
    pytest.mark.filterwarnings("ignore:Deprecated since version v22.2"),
]

ROOT = Path(__file__).parents[1]
GROUP = -1001000000001  # the community group
SECOND = -1001000000002  # another group the community serves
STRANGER = -1001000000077  # a group the bot is in but the community did not configure
MODERATORS = -1001000000099
NAMES = ("rhea", "ana", "sam", "bob", "imp", "kai", "mod", "noor", "tomas", "zed")
IDS = {name: 9001 + index for index, name in enumerate(NAMES)}
CHATS = {GROUP: "community", SECOND: "unconfigured", STRANGER: "not served"}
CHATS[MODERATORS] = "moderators"
# No pacing to speak of: the scenario types a few hundred commands.
QUICK = Limits(
    messages_per_second=3000,
    per_chat_per_second=1000,
    per_chat_burst=500,
    per_group_per_minute=100_000,
)


@pytest.fixture
async def standin(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[BotApiStandIn]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    server = BotApiStandIn(TOKEN)
    await server.start()
    yield server
    await server.stop()


def write_config(tmp_path: Path, standin: BotApiStandIn) -> Config:
    """The example community, every member named by a Telegram user id."""
    text = (ROOT / "community" / "concord.yaml").read_text("utf-8")
    extra = iter(range(9100, 9200))
    ids = dict(IDS)
    text = re.sub(
        r"console:(\w+)",
        lambda m: f"telegram:{ids.setdefault(m.group(1), next(extra))}",
        text,
    )
    coc = ROOT / "community" / "code-of-conduct.yaml"
    text = text.replace("# code_of_conduct: code-of-conduct.yaml", f"code_of_conduct: {coc}")
    section = {
        "token_env": TOKEN_ENV,
        "base_url": standin.base_url,
        "groups": [GROUP, SECOND],
        "moderators_chat": MODERATORS,
        "poll_timeout": 5,
    }
    text += "\nplatforms:\n  telegram: " + json.dumps(section) + "\n"
    path = tmp_path / "concord.yaml"
    path.write_text(text, "utf-8")
    return load_config(path)


class TelegramDriver:
    """Members typing in Telegram chats; what the stand-in saw the bot do, as Heard."""

    def __init__(self, standin: BotApiStandIn, engine: Engine) -> None:
        self.standin = standin
        self.engine = engine
        names = {"imp": "kai"}  # a member who took a moderator's name
        self.users = {n: standin.user(i, names.get(n, n)) for n, i in IDS.items()}
        self.groups = {chat: standin.group(chat) for chat in CHATS}
        standin.bot_deletes_in.update(CHATS)  # the bot is an administrator everywhere
        # Everyone opened a private chat with the bot once (mediators too, who are written
        # to first); a member who never did is the test further down.
        standin.started.update(IDS.values())

    async def join(self, who: str) -> None:
        self.standin.join(self.groups[GROUP], self.users[who])
        await self.standin.drained()

    async def type(self, who: str, place: str, text: str) -> list[Heard]:
        text = self.named(text)
        if place == "unconfigured":
            # In a group the community did not configure nothing runs; then the same in
            # another served group.
            ignored = await self.said(who, STRANGER, text)
            assert ignored == [], f"{who} typing {text!r} in a group not served: {ignored}"
            return await self.said(who, SECOND, text)
        chat = {"community": GROUP, "moderators": MODERATORS}.get(place)
        return await self.said(who, chat, text)

    def named(self, text: str) -> str:
        """A command names a member by their Telegram id (``/sanction 9004 …``)."""
        if not text.startswith("/"):
            return text
        words = text.split(" ")
        return " ".join([words[0], *(str(IDS.get(w, w)) for w in words[1:])])

    async def said(self, who: str, chat: int | None, text: str) -> list[Heard]:
        clock = self.engine.services.clock
        assert isinstance(clock, ManualClock)
        clock.advance(timedelta(seconds=5))  # within the rate limit
        start, deleted = len(self.standin.sent), set(self.standin.members_deleted)
        group = self.groups[chat] if chat is not None else None
        self.standin.say(self.users[who], text, group)
        await self.standin.drained()
        heard = [self.heard(sent.chat_id, sent.text, sent) for sent in self.standin.sent[start:]]
        removed = sorted(self.standin.members_deleted - deleted)
        return heard + [Heard("removed", CHATS[chat_id]) for chat_id, _ in removed]

    def heard(self, chat_id: int, text: str, sent: Any) -> Heard:
        if sent.document is not None:
            text = f"{text}\n{sent.document.data.decode()}"
        if chat_id in CHATS:
            return Heard("room", CHATS[chat_id], text)
        member = next((n for n, i in IDS.items() if i == chat_id), None)
        return Heard("dm", member, text) if member else Heard("other", str(chat_id), text)


async def test_every_command_by_every_role_in_every_place(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    config = write_config(tmp_path, standin)
    async with (
        asyncio.timeout(170),
        running(config, tmp_path / "db", standin, QUICK) as (_, engine),
    ):
        await check_command_privacy(TelegramDriver(standin, engine))
        assert standin.unknown == []


async def test_a_private_command_from_a_member_the_bot_cannot_write_to(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    """A moderator who never opened a private chat with the bot types /reports list in
    the group: their message is removed, the answer (which Telegram refuses to deliver)
    never appears in the group, and the group gets one line, with nothing of the
    answer, on how to open the private chat and ask there."""
    config = write_config(tmp_path, standin)
    group = standin.group(GROUP)
    standin.bot_deletes_in.add(GROUP)
    kai = standin.user(IDS["kai"], "kai")
    async with (
        asyncio.timeout(60),
        running(config, tmp_path / "db", standin, QUICK) as (_, engine),
    ):
        standin.say(kai, "/reports list", group)
        await standin.drained()
        assert standin.members_deleted == set(standin.members_said)  # the typed command
        (line,) = standin.to(GROUP)
        text = engine.services.catalogs.translator("en").gettext("common.open_private_for_answer")
        link = "https://t.me/concord_test_bot?start=welcome"
        assert line.text == f"{text}\n{link}"
        assert [b["url"] for b in line.buttons] == [link]
        assert standin.to(IDS["kai"]) == []

        # Once the private chat is open, the answer goes there and the group hears nothing.
        standin.say(kai, "/start welcome")
        await standin.drained()
        standin.say(kai, "/reports list", group)
        await standin.drained()
        assert len(standin.to(GROUP)) == 1
        answer = standin.texts(IDS["kai"])[-1]
        assert answer == engine.services.catalogs.translator("en").gettext("report.none_open")
