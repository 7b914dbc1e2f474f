"""Roles on Matrix: power levels in rooms, or an invitation to the members' room.

A member's roles for an event come from the rooms of that event's community: the
served rooms for a config of one community; in a deployment of many, the core routes
the event first and asks ``roles_in`` with that community's rooms (its spaces and
moderators' room), so power in one community's room never counts in another's. A
role granted or taken back is set in the rooms of the community that grants it
(``GrantRole.within``), or in every served room for a config of one community.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from adapters.matrix.events import PLATFORM
from adapters.matrix.rooms import Rooms
from bot.core.errors import Undeliverable
from bot.core.events import MemberRef

log = logging.getLogger("concord.matrix")

CREATOR_POWER = 1_000_000


def power(rooms: Rooms, user: str, room_ids: Iterable[str]) -> int:
    """The member's highest power level in these rooms (those the bot is in)."""
    client = rooms.client
    levels = [
        CREATOR_POWER
        if user in rooms.creators.get(r, ())
        else client.rooms[r].power_levels.get_user_level(user)
        for r in room_ids
        if r in client.rooms
    ]
    return max(levels, default=0)


def roles_of(rooms: Rooms, user: str, room_ids: Iterable[str] | None = None) -> tuple[str, ...]:
    """The member's roles from power levels in ``room_ids`` (default: every room of the
    settings) and the settings' lists."""
    settings = rooms.settings
    found = []
    level = power(rooms, user, rooms.channels if room_ids is None else room_ids)
    if user in settings.moderators or level >= settings.moderator_power:
        found.append("moderator")
    if user in settings.mediators:
        found.append("mediator")
    return tuple(found)


def roles_in(rooms: Rooms, user: str, spaces: tuple[str, ...]) -> tuple[str, ...]:
    """The member's roles within one community's rooms, named as its file names them."""
    return roles_of(rooms, user, _ids(rooms, spaces))


def _ids(rooms: Rooms, names: Iterable[str]) -> set[str]:
    return {room for name in names if (room := rooms.room_named(name)) is not None}


async def set_role(
    rooms: Rooms, member: MemberRef, role: str, granted: bool, within: tuple[str, ...] | None
) -> None:
    if member.platform != PLATFORM:
        return
    if rooms.settings.role_mode == "room":
        await _members_room(rooms, member.id, granted)
        return
    level = rooms.settings.role_powers.get(role)
    if level is None:
        log.warning("matrix: no power level configured for the role %r (role_powers)", role)
        return
    targets = rooms.served if within is None else rooms.served & _ids(rooms, within)
    for room_id in sorted(targets):
        await _power_level(rooms, room_id, member.id, level, granted)


async def _members_room(rooms: Rooms, user: str, granted: bool) -> None:
    room_id = rooms.members_room
    if room_id is None:
        raise Undeliverable("matrix: the members room could not be joined")
    client = rooms.client
    room = client.rooms.get(room_id)
    present = room is not None and user in room.users
    if granted and not present:
        await rooms.invite(room_id, user)
    elif not granted and present:
        await rooms.sender.call(
            f"remove {user} from {room_id}",
            lambda: client.room_kick(room_id, user),
            room_id,
        )


async def _power_level(rooms: Rooms, room_id: str, user: str, level: int, granted: bool) -> None:
    """Raise a member to ``level`` (never lowering a higher level), or take back
    exactly the level a grant gave."""
    client = rooms.client
    response = await rooms.sender.call(
        f"read power levels of {room_id}",
        lambda: client.room_get_state_event(room_id, "m.room.power_levels"),
        paced=False,
    )
    content = dict(response.content)
    users = dict(content.get("users") or {})
    current = int(users.get(user, content.get("users_default", 0)) or 0)
    if granted and current < level:
        users[user] = level
    elif not granted and user in users and users[user] == level:
        del users[user]
    else:
        return
    content["users"] = users
    await rooms.sender.call(
        f"set the power level of {user} in {room_id}",
        lambda: client.room_put_state(room_id, "m.room.power_levels", content),
        room_id,
    )
