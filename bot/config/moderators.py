"""The ``moderators`` section: who the moderators are and where their notices go.

A community of a deployment that lives on several platforms names its moderators' room
on each (``rooms``); one room (``channel``) serves every platform otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.config.keys import COMMUNITY_MODERATORS, MODERATOR_ROOMS, MODERATORS
from bot.core.yamlsource import KeyPath, YamlDocument


@dataclass(frozen=True)
class Moderators:
    channel: str = "moderators"
    members: tuple[str, ...] = ()
    # (platform, room), in the order written; empty when ``channel`` serves all.
    rooms: tuple[tuple[str, str], ...] = ()

    def room_for(self, platform: str) -> tuple[str, str]:
        """Where a notice about a member of ``platform`` goes, as (platform, room):
        the room on their platform, else the first one named."""
        for on, room in self.rooms:
            if on == platform:
                return on, room
        return self.rooms[0] if self.rooms else (platform, self.channel)

    def is_room(self, platform: str, place: str) -> bool:
        """Whether ``place`` on ``platform`` is one of the moderators' rooms."""
        if not self.rooms:
            return place == self.channel
        return (platform, place) in self.rooms

    @property
    def all_rooms(self) -> tuple[str, ...]:
        return tuple(room for _, room in self.rooms) or (self.channel,)


def parse_moderators(doc: YamlDocument, raw: Any, *, community_file: bool) -> Moderators:
    """``community_file``: the file of one community of a deployment, which may name
    a room per platform (``rooms``); a config of one community names each platform's
    moderators' room in that platform's own section."""
    section = COMMUNITY_MODERATORS if community_file else MODERATORS
    where = ("moderators",)
    raw = section.check(doc, where, raw)
    members = tuple(section.read(doc, where, raw, "members"))
    rooms = _rooms(doc, raw.get("rooms") or {})
    if rooms:
        return Moderators(channel=rooms[0][1], members=members, rooms=rooms)
    return Moderators(channel=section.read(doc, where, raw, "channel"), members=members)


def _rooms(doc: YamlDocument, raw: Any) -> tuple[tuple[str, str], ...]:
    where = ("moderators", "rooms")
    raw = MODERATOR_ROOMS.check(doc, where, raw)
    rooms = []
    for platform in raw:
        room = str(MODERATOR_ROOMS.read(doc, where, raw, platform)).strip()
        check_place_id(doc, (*where, platform), platform, room, discord="channel")
        rooms.append((str(platform), room))
    return tuple(rooms)


def check_place_id(
    doc: YamlDocument, path: KeyPath, platform: str, place: str, *, discord: str
) -> None:
    """A Telegram group's id is a negative number and a Discord id (of a ``discord``:
    server or channel) a number; other platforms' names are free text."""
    if platform == "telegram" and not (place.startswith("-") and place[1:].isdigit()):
        raise doc.error(path, "a Telegram group id is a negative number")
    if platform == "discord" and not place.isdigit():
        raise doc.error(path, f"a Discord {discord} id is a number")
