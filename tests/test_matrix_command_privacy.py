"""Where privileged commands are answered on Matrix, against a real Synapse: the
scenario of tests/command_privacy.py (command x role x place), with encryption on and
off, and the moderators room as the moderators' place.

Every member is a real matrix-nio client; what the community sees is what their
clients receive (decrypted where the room is encrypted): the bot's messages, and the
redactions of what members typed. The bot does not join a room it was not configured
for (adapters/matrix/rooms.py), so the scenario's "unconfigured" place is a second
served room, as the scenario's docstring says.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("nio")
pytest.importorskip("synapse")

from nio import ErrorResponse, RoomPreset, RoomVisibility  # type: ignore[import-untyped]

from tests.command_privacy import Heard, check_command_privacy, set_up
from tests.synapse import Member, Synapse, synapse_server
from tests.test_matrix import ENCRYPTION, Bot, World, direct_room, joined, write_config

# Who types, and who only reads (noor mediates case 2).
NAMES = ("rhea", "ana", "sam", "bob", "imp", "kai", "mod", "tomas", "zed", "noor")
JOINING = ("rhea", "ana", "sam", "bob", "imp")  # joined while the bot runs: welcomed
IN_THE_CONFIG = ("kai", "mod", "noor", "tomas", "ana")  # console:<name> in the config
ROOMS = ("community", "moderators", "unconfigured")
CHECK_TIMEOUT = 300  # the whole scenario takes about 70 s


@pytest.fixture(scope="module")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    yield from synapse_server(tmp_path_factory.mktemp("synapse"))


@pytest.fixture
async def world(synapse: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    world = World(synapse, tmp_path, monkeypatch)
    try:
        yield world
    finally:
        await world.close()


class MatrixDriver:
    """The example community on Synapse: its members' clients type, and read what the
    bot does in answer once the bot has handled what they typed."""

    def __init__(self, world: World, encrypted: bool) -> None:
        self.world = world
        self.encrypted = encrypted
        self.members: dict[str, Member] = {}
        self.rooms: dict[str, str] = {}  # place -> room id
        self.dms: dict[str, str] = {}  # name -> the member's direct room with the bot
        self.bot: Bot | None = None
        # What would make the scenario pass without looking: a command with no answer
        # at all or answers left undelivered, a message the members could not decrypt
        # or read in the clear.
        self.unseen: list[str] = []

    async def start(self) -> None:
        """Members, rooms (encrypted or not), the bot, and the direct rooms of those
        who never join while the bot runs (they were in the rooms before it started)."""
        world = self.world
        owner = await world.member("owner")
        for name in NAMES:
            member = await world.member(name)
            await member.client.set_displayname("kai" if name == "imp" else name)
            self.members[name] = member
        for place in ROOMS:
            self.rooms[place] = await self.room(owner, place)
            for name in NAMES:
                if place != "community" or name not in JOINING:
                    joined = await self.members[name].client.join(self.rooms[place])
                    assert not isinstance(joined, ErrorResponse), joined
        self.bot = await self.start_bot()
        for name in ("kai", "mod", "tomas", "zed"):
            member = self.members[name]
            self.dms[name] = await direct_room(world, member, self.encrypted)

    async def room(self, owner: Member, place: str) -> str:
        response = await owner.client.room_create(
            visibility=RoomVisibility.public,
            name=place,
            preset=RoomPreset.public_chat,
            initial_state=[ENCRYPTION] if self.encrypted else [],
            power_level_override={"users": {self.world.bot_id: 100}},
        )
        assert not isinstance(response, ErrorResponse), response
        return str(response.room_id)

    async def start_bot(self) -> Bot:
        world = self.world
        section = (
            f'rooms: ["{self.rooms["community"]}", "{self.rooms["unconfigured"]}"]\n'
            f'moderators_room: "{self.rooms["moderators"]}"\n'
            f"encryption: {str(self.encrypted).lower()}\nreactions: false"
        )
        path = write_config(world.folder, world.server, world.bot_account, section)
        text = path.read_text("utf-8")
        for name in IN_THE_CONFIG:
            text = re.sub(rf"\bconsole:{name}\b", f'"matrix:{self.id(name)}"', text)
        text = text.replace("messages_per_minute: 20", "messages_per_minute: 10000")
        path.write_text(text, "utf-8")
        bot = Bot(path, world.folder / "concord.db")
        world.bots.append(bot)
        return await bot.start()

    def id(self, name: str) -> str:
        return str(self.members[name].user_id)

    def written(self, text: str) -> str:
        """What a Matrix member types for the scenario's line: ``!concord`` for ``/``,
        and user ids for the names of members."""
        if text.startswith("/"):
            text = "!concord " + text[1:]
        return re.sub(r"\b(" + "|".join(NAMES) + r")\b", lambda m: self.id(m[1]), text)

    async def join(self, who: str) -> None:
        member = self.members[who]
        await member.client.join(self.rooms["community"])
        welcome = await member.from_bot(self.world.bot_id, "Welcome to Example Community")
        self.dms[who] = welcome.room_id

    async def type(self, who: str, place: str, text: str) -> list[Heard]:
        assert self.bot is not None
        member = self.members[who]
        room = self.dms[who] if place == "direct" else self.rooms[place]
        marks = {name: len(m.received) for name, m in self.members.items()}
        event_id = await member.say(room, self.written(text))
        async with asyncio.timeout(20):
            while event_id not in self.bot.host.handled:
                await asyncio.sleep(0.02)
        if self.bot.engine.services.store.pending_outbox():
            self.unseen.append(f"undelivered answers to {who} typing {text!r} in {place}")
        await self.read_all()
        heard = self.heard(marks)
        if not heard:
            self.unseen.append(f"no answer to {who} typing {text!r} in {place}")
        return heard

    async def read_all(self) -> None:
        """Every member's client syncs, again while one has just accepted an invitation
        (a new direct room: its messages come with the next sync)."""
        members = list(self.members.values())
        for _ in range(4):
            await asyncio.gather(*(m.sync(0) for m in members))
            members = [m for m in members if m.client.invited_rooms]
            if not members:
                return
            await asyncio.sleep(0.05)

    def heard(self, marks: dict[str, int]) -> list[Heard]:
        places = {room: place for place, room in self.rooms.items()}
        names = {self.id(name): name for name in NAMES}
        found: list[Heard] = []
        seen: set[str] = set()
        for name, member in self.members.items():
            for r in member.received[marks[name] :]:
                if r.sender != self.world.bot_id or r.event_id in seen:
                    continue
                seen.add(r.event_id)
                text = r.body
                for user_id, plain in names.items():
                    text = text.replace(user_id, plain)
                room = member.client.rooms.get(r.room_id)
                if r.type == "undecryptable" or (
                    self.encrypted and r.type == "m.room.message" and not r.encrypted
                ):
                    self.unseen.append(f"{name} read {r.type} unencrypted or not at all")
                if r.type == "m.room.redaction":
                    found.append(Heard("removed", places.get(r.room_id, r.room_id)))
                elif r.type != "m.room.message":
                    found.append(Heard("other", r.room_id, f"{r.type}: {text}"))
                elif r.room_id in places:
                    found.append(Heard("room", places[r.room_id], text))
                elif room is not None and len(room.users) > 2:
                    found.append(Heard("space", r.room_id, text))
                else:
                    found.append(Heard("dm", name, text))
        return found


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plain"])
async def test_moderators_room_answers_moderators_there(world: World, encrypted: bool) -> None:
    """A moderator's report queue in the moderators room stays there, naming the
    reporter by alias only; typed in the community room it goes to their direct room
    and the typed command is redacted."""
    async with asyncio.timeout(120):
        driver = MatrixDriver(world, encrypted)
        await driver.start()
        await set_up(driver)
        # A room nobody configured: the bot, invited, stays out and answers nothing there.
        kai, owner = driver.members["kai"], world.members[0]
        elsewhere = await driver.room(owner, "elsewhere")
        await owner.client.room_invite(elsewhere, world.bot_id)
        await kai.client.join(elsewhere)
        await kai.say(elsewhere, "!concord reports list")
        there = await driver.type("kai", "moderators", "/reports list")
        assert [(h.where, h.to) for h in there] == [("room", "moderators")], there
        assert "reporter-1" in there[0].text and "rhea" not in there[0].text
        moved = await driver.type("kai", "community", "/reports list")
        assert sorted((h.where, h.to) for h in moved) == [
            ("dm", "kai"),
            ("dm", "kai"),
            ("removed", "community"),
        ], moved
        assert not any("rhea" in h.text for h in moved)
        await owner.sync(0)
        assert world.bot_id in owner.client.rooms[elsewhere].invited_users
        assert not joined(owner, elsewhere, world.bot_id)
        assert not [r for r in kai.received if r.room_id == elsewhere and r.sender == world.bot_id]
        assert driver.unseen == []


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plain"])
async def test_every_command_by_every_role_in_every_place(world: World, encrypted: bool) -> None:
    async with asyncio.timeout(CHECK_TIMEOUT):
        driver = MatrixDriver(world, encrypted)
        await driver.start()
        await check_command_privacy(driver)
        assert driver.unseen == []
