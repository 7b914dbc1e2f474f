"""A community of a deployment that lives on several platforms names its moderators'
room on each (``moderators.rooms``): a notice about a member goes to the room on the
member's platform (else to the first named), and moderators' commands are at home in
each of those rooms, on their own platform only."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator

from bot.app import build_engines
from bot.config.community import load_config
from bot.config.schema import community_file_schema
from bot.core.actions import Say
from bot.core.errors import ConfigError
from bot.core.events import CommandRun, MemberJoined, MemberRef, Place, PlaceKind, TextSaid
from bot.engine.engine import Engine
from bot.engine.host import AdapterHost
from tests.conftest import RecordingAdapter
from tests.test_communities import COC, DEPLOYMENT

SERVER, GENERAL = "111", "5001"  # River's Discord server and a channel of it
TELEGRAM_ROOM, DISCORD_ROOM = "-1009", "999"
RIVER = f"""community:
  id: river
  name: River
  default_language: en
  code_of_conduct: {COC}
moderators:
  rooms:
    telegram: "{TELEGRAM_ROOM}"
    discord: "{DISCORD_ROOM}"
  members: ["telegram:moda", "discord:modd"]
spaces:
  telegram: ["-1001", "{TELEGRAM_ROOM}"]
  discord: ["{SERVER}"]
"""
FOREST = f"""community:
  id: forest
  name: Forest
  default_language: es
  code_of_conduct: {COC}
moderators:
  rooms: {{telegram: "-1008"}}
  members: ["telegram:modf"]
spaces:
  telegram: ["-1002", "-1008"]
  discord: ["222"]
"""
REPORT = ("2", "Kim mocked my accent", "kim", "Yesterday", "1", "https://example.org/m/1", "2", "1")


class Recorder(RecordingAdapter):
    def __init__(self, platform: str) -> None:
        super().__init__()
        self.platform = platform


def write(folder: Path, river: str = RIVER, forest: str = FOREST) -> Path:
    (folder / "communities").mkdir(exist_ok=True)
    (folder / "communities" / "forest.yaml").write_text(forest, "utf-8")
    (folder / "communities" / "river.yaml").write_text(river, "utf-8")
    (folder / "concord.yaml").write_text(DEPLOYMENT, "utf-8")
    return folder / "concord.yaml"


@pytest.fixture
def adapters() -> dict[str, Recorder]:
    return {"telegram": Recorder("telegram"), "discord": Recorder("discord")}


@pytest.fixture
def engines(tmp_path: Path, adapters: dict[str, Recorder]) -> Iterator[list[Engine]]:
    built = build_engines(load_config(write(tmp_path)), tmp_path / "rooms.db")
    for adapter in adapters.values():
        built[0].add_adapter(adapter)
    yield built
    built[0].services.store.close()


def channel_says(adapters: dict[str, Recorder]) -> list[tuple[str, str, str]]:
    """Every text said in a channel: (platform, channel, text)."""
    return [
        (a.to.platform, a.to.id, a.text)
        for adapter in adapters.values()
        for a in adapter.sent
        if isinstance(a, Say) and a.to.kind is PlaceKind.CHANNEL
    ]


class Member:
    def __init__(self, host: AdapterHost, platform: str, name: str, channel: str, space: str):
        self.host, self.ref = host, MemberRef(platform, name, name.capitalize())
        self.channel = Place(platform, PlaceKind.CHANNEL, channel)
        self.space = space

    async def joins(self) -> None:
        event = MemberJoined(uuid.uuid4().hex, "", self.ref, place=self.channel, space=self.space)
        assert await self.host.handle(event)

    async def runs(self, text: str, where: Place | None = None) -> None:
        name, *args = text.lstrip("/").split()
        place = where or Place.direct(self.ref)
        event = CommandRun(
            uuid.uuid4().hex, "", self.ref, place=place, name=name, args=tuple(args),
            space=self.space if where else "",
        )  # fmt: skip
        assert await self.host.handle(event)

    async def says(self, text: str) -> None:
        place = Place.direct(self.ref)
        assert await self.host.handle(
            TextSaid(uuid.uuid4().hex, "", self.ref, place=place, text=text)
        )

    async def reports(self) -> None:
        await self.runs("/report")
        for answer in REPORT:
            await self.says(answer)


async def test_a_notice_goes_to_the_room_on_the_members_own_platform(
    engines: list[Engine], adapters: dict[str, Recorder]
) -> None:
    host = AdapterHost.of(engines)
    ana = Member(host, "telegram", "ana", "-1001", "-1001")
    dana = Member(host, "discord", "dana", GENERAL, SERVER)
    for member in (ana, dana):
        await member.joins()
        await member.runs("/stop")
    for adapter in adapters.values():
        adapter.take()
    await ana.reports()
    notices = channel_says(adapters)
    assert notices and {(p, c) for p, c, _ in notices} == {("telegram", TELEGRAM_ROOM)}
    for adapter in adapters.values():
        adapter.take()
    await dana.reports()
    notices = channel_says(adapters)
    assert notices and {(p, c) for p, c, _ in notices} == {("discord", DISCORD_ROOM)}


async def test_moderators_commands_are_at_home_in_each_room_on_its_own_platform(
    engines: list[Engine], adapters: dict[str, Recorder]
) -> None:
    host = AdapterHost.of(engines)
    modd = Member(host, "discord", "modd", GENERAL, SERVER)
    await modd.joins()
    await modd.runs("/stop")
    adapters["discord"].take()
    room = Place("discord", PlaceKind.CHANNEL, DISCORD_ROOM)
    await modd.runs("/reports list", where=room)
    answers = [a for a in adapters["discord"].take() if isinstance(a, Say)]
    assert answers and all(a.to == room for a in answers)  # answered there, not privately
    # The same command in a public channel of the server is answered privately.
    await modd.runs("/reports list", where=modd.channel)
    answers = [a for a in adapters["discord"].take() if isinstance(a, Say)]
    assert answers and all(a.to == Place.direct(modd.ref) for a in answers)


async def test_a_member_of_a_platform_with_no_room_is_noticed_in_the_first_named(
    engines: list[Engine], adapters: dict[str, Recorder]
) -> None:
    """Forest names a Telegram room only: its Discord members' notices go there."""
    host = AdapterHost.of(engines)
    eva = Member(host, "discord", "eva", "7001", "222")
    await eva.joins()
    await eva.runs("/stop")
    for adapter in adapters.values():
        adapter.take()
    await eva.reports()
    notices = channel_says(adapters)
    assert notices and {(p, c) for p, c, _ in notices} == {("telegram", "-1008")}


def test_a_room_per_platform_is_checked_like_every_room(tmp_path: Path) -> None:
    both = RIVER.replace("  rooms:\n", '  channel: "-1007"\n  rooms:\n')
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, river=both))
    assert error.value.key == "moderators.rooms" and "not both" in error.value.message
    # The schema says the same, for an editor to show before anything runs.
    checker = Draft7Validator(community_file_schema())
    assert [list(e.absolute_path) for e in checker.iter_errors(yaml.safe_load(both))] == [
        ["moderators"]
    ]
    assert not list(checker.iter_errors(yaml.safe_load(RIVER)))
    shared = FOREST.replace('"-1008"}', f'"{TELEGRAM_ROOM}"}}').replace(
        '"-1008"]', f'"{TELEGRAM_ROOM}"]'
    )
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, forest=shared))
    assert error.value.key.startswith("moderators.rooms") or error.value.key.startswith("spaces")
    assert "belongs to the community" in error.value.message
    wrong = RIVER.replace(f'discord: "{DISCORD_ROOM}"', 'discord: "#mods"')
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, river=wrong))
    assert error.value.key == "moderators.rooms.discord"


def test_a_config_of_one_community_names_its_rooms_in_each_platforms_section(
    tmp_path: Path,
) -> None:
    alone = tmp_path / "alone.yaml"
    alone.write_text(
        f"community: {{id: solo, name: Solo, code_of_conduct: {COC}}}\n"
        'moderators: {rooms: {telegram: "-1009"}}\n',
        "utf-8",
    )
    with pytest.raises(ConfigError) as error:
        load_config(alone)
    assert error.value.key == "moderators.rooms"
