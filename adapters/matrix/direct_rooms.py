"""Members' direct rooms, and rooms that must stay encrypted.

A member's direct room is the one room recorded for them (the member record ``dm``, saved
the moment the room is made or accepted, before anything is sent in it, or when the
member writes in a room private between the two), and only while it is still private:

* the bot created it, or the member created it and invited the bot;
* nobody but the bot and the member ever had a membership in it (joined, invited,
  left or banned: someone who was once in it may have read it, or may come back);
* it is invite-only and its history is not world-readable;
* the member is in it (joined or invited) and so is the bot.

Anything else is never written to for that member, and nothing is guessed from other
rooms: without a usable record the bot makes a new direct room. This is what keeps an
attacker's "direct" room (public, shared history, the target invited) from receiving
what was meant for the target.

A crash between ``createRoom`` and that record would leave a room the member was
invited to and a record of none: so before creating, the bot records a random nonce
(the member record ``dm-pending``) and writes it into the new room's state
(``org.concord.direct``); after a restart, the room the bot created with that nonce is
taken (if still private) instead of inviting the member to a second one.

A room the bot created encrypted, or whose state says encrypted, is recorded as such
(``matrix:encrypted:<room>``), and nothing is ever sent there unless nio will encrypt it
(see ``Guard``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from nio import (  # type: ignore[import-untyped]
    RoomCreateEvent,
    RoomEncryptionEvent,
    RoomMemberEvent,
    UnknownEvent,
)

from adapters.matrix.events import PLATFORM
from bot.core.errors import DeliveryError, Undeliverable
from bot.engine.host import AdapterHost

log = logging.getLogger("concord.matrix")

ALGORITHM = "m.megolm.v1.aes-sha2"
DIRECT_MARKER = "org.concord.direct"


# Member records (erased with the member by /forget): their direct room, and the nonce
# of a direct room being made for them.
DM = "dm"
DM_PENDING = "dm-pending"


def direct_marker(user: str, nonce: str) -> dict[str, Any]:
    """The state event naming the member and nonce of a direct room the bot makes."""
    return {"type": DIRECT_MARKER, "state_key": "", "content": {"member": user, "nonce": nonce}}


def encrypted_key(room_id: str) -> str:
    return f"matrix:encrypted:{room_id}"


@dataclass
class Seen:
    """What the bot has seen of rooms' state: who created each room, and everyone who
    ever had a membership in it. Rebuilt from the full state on every start."""

    creators: dict[str, str] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)
    # (member, nonce) -> (room, who wrote the marker)
    markers: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    def scan(self, room_id: str, events: list[Any]) -> bool:
        """Take in state events; True when one says the room is encrypted."""
        encrypted = False
        for event in events:
            if isinstance(event, RoomCreateEvent):
                self.creators[room_id] = event.sender
            elif isinstance(event, RoomMemberEvent):
                self.members.setdefault(room_id, set()).add(event.state_key)
            elif isinstance(event, RoomEncryptionEvent):
                encrypted = True
            elif isinstance(event, UnknownEvent) and event.type == DIRECT_MARKER:
                content = event.source.get("content", {})
                found = (str(content.get("member")), str(content.get("nonce")))
                self.markers[found] = (room_id, event.sender)
        return encrypted

    def made(self, room_id: str, creator: str, members: list[str]) -> None:
        self.creators[room_id] = creator
        self.members.setdefault(room_id, set()).update(members)

    def forget(self, room_id: str) -> None:
        self.creators.pop(room_id, None)
        self.members.pop(room_id, None)
        for key in [k for k, (room, _) in self.markers.items() if room == room_id]:
            del self.markers[key]


def private_between(room: Any, seen: Seen, bot: str, user: str) -> str | None:
    """Why ``room`` (a nio room the bot is in) is not a private room of the bot and
    ``user``, or None when it is."""
    room_id = room.room_id
    allowed = {bot, user}
    joined = {u for u in room.users if u not in room.invited_users}
    if seen.creators.get(room_id) not in allowed:
        return "someone else created it"
    if not seen.members.get(room_id, set()) | set(room.users) <= allowed:
        return "someone else is or was in it"
    if room.join_rule != "invite":
        return f"anyone may join it ({room.join_rule})"
    if room.history_visibility == "world_readable":
        return "its history is world-readable"
    if user not in room.users or bot not in joined:
        return "they are not both in it"
    return None


class Directs:
    """The direct room recorded for each member, used only while it stays private."""

    def __init__(self, client: Any, host: AdapterHost, bot: str) -> None:
        self.client = client
        self.host = host
        self.bot = bot
        self.seen = Seen()
        self.joining: set[str] = set()  # accepted invitations not synced yet

    def record(self, user: str, room_id: str) -> None:
        if self.host.member_record(PLATFORM, user, DM) != room_id:
            self.host.save_member_record(PLATFORM, user, DM, room_id)

    def making(self, user: str, nonce: str) -> None:
        """Before a direct room is created for ``user``: the nonce its state will carry."""
        self.host.save_member_record(PLATFORM, user, DM_PENDING, nonce)

    def accepted(self, user: str, room_id: str) -> None:
        """The bot joined the member's direct room; its state comes with the next sync."""
        self.record(user, room_id)
        self.joining.add(room_id)

    def why_not(self, room_id: str, user: str) -> str | None:
        room = self.client.rooms.get(room_id)
        if room is None:
            return "the bot is not in it"
        return private_between(room, self.seen, self.bot, user)

    def room_of(self, user: str) -> str | None:
        """The member's recorded direct room while it is private, else None."""
        room_id = self.host.member_record(PLATFORM, user, DM)
        if not room_id:
            return None
        if room_id in self.joining and room_id not in self.client.rooms:
            # Not a reason for a second room: the state of the first is on its way.
            raise DeliveryError(f"matrix: {room_id} is joined but not synced yet; will retry")
        reason = self.why_not(room_id, user)
        if reason is not None:
            log.warning("matrix: not writing to a member in their direct room: %s", reason)
            return None
        return room_id

    def made_before(self, user: str) -> str | None:
        """The direct room the bot was making for ``user`` when it stopped (created,
        but not recorded), if it is private; it is recorded now."""
        nonce = self.host.member_record(PLATFORM, user, DM_PENDING)
        room_id, writer = self.seen.markers.get((user, nonce or ""), ("", ""))
        if not nonce or writer != self.bot or self.seen.creators.get(room_id) != self.bot:
            return None
        if self.why_not(room_id, user) is not None:
            return None
        self.record(user, room_id)
        log.info("matrix: found a direct room made before a restart")
        return room_id

    def is_direct(self, room_id: str, user: str) -> bool:
        """An event in ``room_id`` from ``user`` happened in a direct room of theirs: a
        room private between the two (the member wrote there, so it becomes the one
        recorded: after ``/forget``, say, they go on where they are)."""
        if self.why_not(room_id, user) is not None:
            return False
        self.record(user, room_id)
        return True


class Guard:
    """Nothing goes into an encrypted room in the clear: a room recorded as encrypted
    (created so by the bot, or seen with ``m.room.encryption``) is written to only when
    nio knows it is encrypted and will encrypt (otherwise the send is refused now and
    retried later, never made in the clear)."""

    def __init__(self, client: Any, host: AdapterHost) -> None:
        self.client = client
        self.host = host

    def mark(self, room_id: str) -> None:
        if self.host.platform_record(encrypted_key(room_id)) is None:
            self.host.save_platform_record(encrypted_key(room_id), ALGORITHM)

    def check(self, room_id: str) -> None:
        room = self.client.rooms.get(room_id)
        known = room is not None and room.encrypted
        if not known and self.host.platform_record(encrypted_key(room_id)) is None:
            return
        if self.client.olm is None:
            raise Undeliverable(
                f"matrix: {room_id} is encrypted but encryption is off: nothing sent there"
            )
        if not known:
            raise DeliveryError(
                f"matrix: {room_id} is encrypted but its state is not synced yet; "
                "not sending in the clear, will retry"
            )
