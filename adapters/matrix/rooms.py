"""Which Matrix room is which: served rooms, members' direct rooms, private spaces,
and the rooms and power levels that stand for roles.

A member's direct room is the one recorded for them when the bot made it or accepted
it from the member's invitation, and only while it stays private (see
adapters/matrix/direct_rooms.py); a private space is an invite-only room marked with a
``org.concord.space`` state event, so it is recognised again after a restart. A room
the bot creates is recorded (with its encryption) before anything is sent in it. The
configured moderators room is the moderators' place, named ``moderators.channel`` as on
every platform (the core decides what is answered there).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from functools import partial
from typing import Any

from nio import (  # type: ignore[import-untyped]
    InviteMemberEvent,
    MatrixRoom,
    RoomCreateEvent,
    RoomPreset,
    RoomVisibility,
    UnknownEvent,
)

from adapters.matrix.direct_rooms import ALGORITHM, Directs, Guard, direct_marker
from adapters.matrix.events import PLATFORM, Question
from adapters.matrix.send import Sender
from adapters.matrix.settings import Settings, is_room
from bot.core.actions import OpenPrivateSpace
from bot.core.errors import Undeliverable
from bot.core.events import Place, PlaceKind
from bot.engine.host import AdapterHost

log = logging.getLogger("concord.matrix")

SPACE_MARKER = "org.concord.space"
OLD_VERSIONS = {str(n) for n in range(1, 12)}
ENCRYPTION = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": ALGORITHM}}


class Rooms:
    def __init__(self, client: Any, sender: Sender, host: AdapterHost, settings: Settings) -> None:
        self.client = client
        self.sender = sender
        self.host = host
        self.settings = settings
        self.bot = settings.user_id
        # The moderators' place, named as in the config (``moderators.channel``), as on
        # every platform: the core decides what is answered there.
        self.moderators_name = host.moderators_place
        self.served: set[str] = set()
        self.moderators_room: str | None = None
        self.members_room: str | None = None
        self.aliases: dict[str, str] = {}
        # A deployment of many communities: room id -> the name a community file gives
        # it (its spaces, its moderators' room), the place id the core routes by.
        self.named: dict[str, str] = {}
        self.spaces: dict[str, str] = {}  # room id -> neutral space id
        self.questions: dict[str, Question] = {}
        self.creators: dict[str, set[str]] = {}
        self.directs = Directs(client, host, self.bot)
        self.guard = Guard(client, host)
        sender.check_room = self.guard.check

    @property
    def channels(self) -> set[str]:
        extra = {self.moderators_room, self.members_room}
        return self.served | set(self.named) | {room for room in extra if room}

    # Configured rooms ---------------------------------------------------------------

    async def resolve(self, name: str) -> str:
        """A room id for a room id or an alias (raises Undeliverable for an unknown alias)."""
        if name.startswith("!"):
            return name
        if name not in self.aliases:
            response = await self.sender.call(
                f"resolve {name}", lambda: self.client.room_resolve_alias(name), paced=False
            )
            self.aliases[name] = str(response.room_id)
        return self.aliases[name]

    async def join_configured(self) -> None:
        """Join the rooms of the settings and those the communities of a deployment
        name: their spaces (served: joins there are welcomed) and moderators' rooms."""
        settings = self.settings
        self.served = set()
        spaces = self.host.spaces(PLATFORM)
        rooms = [r for r in self.host.moderators_rooms() if is_room(r) and r not in spaces]
        for name in (*settings.rooms, settings.moderators_room, settings.members_room):
            if name is not None:
                await self._join(name)
        for name in (*spaces, *rooms):
            await self._join(name, named=True)

    async def _join(self, name: str, named: bool = False) -> None:
        settings = self.settings
        try:
            room_id = await self.resolve(name)
        except Undeliverable as exc:
            log.error("%s", exc)
            return
        if name in settings.rooms or name in self.host.spaces(PLATFORM):
            self.served.add(room_id)
        if named:
            self.named[room_id] = name
        if name == settings.moderators_room:
            self.moderators_room = room_id
        if name == settings.members_room:
            self.members_room = room_id
        try:
            await self.sender.call(f"join {name}", partial(self.client.join, room_id))
        except Undeliverable as exc:
            # Joined as soon as someone invites the bot.
            log.error("%s (is the bot invited?)", exc)

    def room_named(self, name: str) -> str | None:
        """The id of a room a community names (an id, or an alias already resolved)."""
        return name if name.startswith("!") else self.aliases.get(name)

    # Recognising rooms ----------------------------------------------------------------

    def scan_state(self, room_id: str, events: list[Any]) -> None:
        self.directs.joining.discard(room_id)
        if self.directs.seen.scan(room_id, events):
            self.guard.mark(room_id)
        for event in events:
            if isinstance(event, RoomCreateEvent) and event.room_version not in OLD_VERSIONS:
                # From room version 12 the creators hold the highest power, unlisted.
                content = event.source.get("content", {})
                extra = content.get("additional_creators")
                extra = [u for u in extra if isinstance(u, str)] if isinstance(extra, list) else []
                self.creators[room_id] = {event.sender, *extra}
            if isinstance(event, UnknownEvent) and event.type == SPACE_MARKER:
                space = event.source.get("content", {}).get("space")
                if isinstance(space, str) and space:
                    self.spaces[room_id] = space

    def forget(self, room_id: str) -> None:
        self.spaces.pop(room_id, None)
        self.questions.pop(room_id, None)
        self.directs.seen.forget(room_id)
        self.directs.joining.discard(room_id)

    def is_direct(self, room_id: str, user: str) -> bool:
        if room_id in self.channels or room_id in self.spaces:
            return False
        return self.directs.is_direct(room_id, user)

    def place_for(self, room_id: str, sender: str) -> Place | None:
        """Where an event in this room happened, or None for a room the bot does not serve."""
        if room_id == self.moderators_room:
            return Place(PLATFORM, PlaceKind.CHANNEL, self.moderators_name)
        if room_id in self.named:
            return Place(PLATFORM, PlaceKind.CHANNEL, self.named[room_id])
        if room_id in self.channels:
            return Place(PLATFORM, PlaceKind.CHANNEL, room_id)
        if room_id in self.spaces:
            return Place(PLATFORM, PlaceKind.PRIVATE, self.spaces[room_id])
        if self.is_direct(room_id, sender):
            return Place(PLATFORM, PlaceKind.DIRECT, sender)
        return None

    async def on_invite(self, room_id: str, info: Any) -> None:
        """Accept a member's invitation to a direct room, and invitations to configured
        rooms; leave other invitations pending (the bot is no general-purpose guest)."""
        invite = next(
            (
                e
                for e in info.invite_state
                if isinstance(e, InviteMemberEvent)
                and e.state_key == self.bot
                and e.membership == "invite"
            ),
            None,
        )
        if invite is None:
            return
        configured = room_id in self.channels
        if not configured and not invite.content.get("is_direct"):
            log.info("matrix: ignoring an invitation to a room not served")
            return
        try:
            await self.sender.call(f"join {room_id}", lambda: self.client.join(room_id))
        except Undeliverable as exc:
            log.warning("%s", exc)
            return
        if not configured:
            # Used only while it stays private between the two (adapters/matrix/direct_rooms.py).
            self.directs.accepted(invite.sender, room_id)
            log.info("matrix: accepted a direct room")

    # Rooms for places -----------------------------------------------------------------

    async def room_for(self, place: Place) -> str:
        if place.kind is PlaceKind.DIRECT:
            return await self.direct_room(place.id)
        if place.kind is PlaceKind.PRIVATE:
            room_id = self.host.platform_record(f"matrix:space:{place.id}")
            if room_id is None:
                raise Undeliverable(f"matrix: no room for the private space {place.id}")
            return room_id
        if place.id == self.moderators_name and self.moderators_room is not None:
            return self.moderators_room
        if is_room(place.id):
            return await self.resolve(place.id)
        raise Undeliverable(f"matrix: '{place.id}' is not a room id or alias")

    async def direct_room(self, user: str) -> str:
        """The member's private direct room; a new one when none is recorded or the
        recorded one is no longer private (never another room guessed from the list)."""
        room_id = self.directs.room_of(user) or self.directs.made_before(user)
        if room_id is not None:
            return room_id
        nonce = secrets.token_hex(8)
        self.directs.making(user, nonce)
        room_id = await self.create(
            f"direct room with {user}",
            [user],
            is_direct=True,
            preset=RoomPreset.private_chat,
            state=[direct_marker(user, nonce)],
            record=lambda room: self.directs.record(user, room),
        )
        log.info("matrix: opened a direct room")
        return room_id

    async def create(
        self,
        what: str,
        invite: list[str],
        *,
        is_direct: bool = False,
        preset: Any = None,
        name: str | None = None,
        state: list[dict[str, Any]] | None = None,
        record: Callable[[str], None] | None = None,
    ) -> str:
        """A new invite-only room; it is recorded (by ``record``, and as encrypted) before
        anything can be sent in it."""
        encrypted = self.settings.encryption
        initial = [*([ENCRYPTION] if encrypted else []), *(state or [])]
        response = await self.sender.call(
            f"create a {what}",
            lambda: self.client.room_create(
                visibility=RoomVisibility.private,
                name=name,
                is_direct=is_direct,
                preset=preset,
                invite=invite,
                initial_state=initial,
            ),
        )
        room_id = str(response.room_id)
        if encrypted:
            self.guard.mark(room_id)
        if record is not None:
            record(room_id)
        await self.register(room_id, invite, encrypted)
        return room_id

    async def register(self, room_id: str, invited: list[str], encrypted: bool) -> None:
        """Tell nio what the bot just created, before the next sync does, so that the
        first message (encrypted for the invited members' devices) can go out now. A
        sync may already have brought the room part-way through its creation (without
        its encryption or invitations yet): what it lacks is added, never left out."""
        room = self.client.rooms.get(room_id)
        if room is None:
            room = MatrixRoom(room_id, self.bot, encrypted)
            room.add_member(self.bot, None, None)
            room.members_synced = True
            self.client.rooms[room_id] = room
        for user in invited:
            if user not in room.users:
                room.add_member(user, None, None, invited=True)
        self.directs.seen.made(room_id, self.bot, [self.bot, *invited])
        if encrypted:
            room.encrypted = True
        if encrypted and self.client.olm is not None:
            self.client.encrypted_rooms.add(room_id)
            self.client.olm.update_tracked_users(room)
            if self.client.should_query_keys:
                await self.sender.call("query keys", self.client.keys_query, paced=False)

    # Questions answered by reactions -----------------------------------------------------

    def remember_question(self, room_id: str, question: Question, member: str | None) -> None:
        """The latest question in a room, for reactions to answer it. In a member's
        direct room it is a record about that member (erased with them by /forget)."""
        self.questions[room_id] = question
        if member is not None:
            self.host.save_member_record(PLATFORM, member, f"ask:{room_id}", question.dump())
        else:
            self.host.save_platform_record(f"matrix:ask:{room_id}", question.dump())

    def question(self, room_id: str, sender: str) -> Question | None:
        """The question a reaction by ``sender`` in ``room_id`` answers, if any."""
        if room_id not in self.questions:
            saved = self.host.member_record(PLATFORM, sender, f"ask:{room_id}")
            saved = saved or self.host.platform_record(f"matrix:ask:{room_id}")
            found = Question.load(saved)
            if found is None:
                return None
            self.questions[room_id] = found
        return self.questions[room_id]

    # Private spaces -------------------------------------------------------------------------

    async def open_space(self, action: OpenPrivateSpace) -> None:
        users = [m.id for m in action.members if m.platform == PLATFORM and m.id != self.bot]
        key = f"matrix:space:{action.space}"
        room_id = self.host.platform_record(key)
        if room_id is None:
            content = {"space": action.space}
            space_marker = {"type": SPACE_MARKER, "state_key": "", "content": content}
            room_id = await self.create(
                f"private space {action.space}",
                users,
                preset=RoomPreset.private_chat,
                name=action.title,
                state=[space_marker],
                record=lambda room: self.host.save_platform_record(key, room),
            )
            self.spaces[room_id] = action.space
            return
        room = self.client.rooms.get(room_id)
        for user in users:
            if room is None or user not in room.users:
                await self.invite(room_id, user)

    async def invite(self, room_id: str, user: str) -> None:
        await self.sender.call(
            f"invite {user} to {room_id}", lambda: self.client.room_invite(room_id, user), room_id
        )
