"""Messages the bot cannot decrypt: wait briefly for their key, then say so.

A key can arrive a little after its message (or be forwarded by another device after
a key request), so an undecryptable message waits ``grace`` seconds. After that the
member is told plainly, in the room and in their language, and the log says why: a bot
that silently drops what it cannot read loses private reports without anyone knowing.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from nio import MegolmEvent  # type: ignore[import-untyped]
from nio.exceptions import EncryptionError  # type: ignore[import-untyped]

from adapters.matrix.rooms import Rooms
from bot.core.events import MemberRef, PlaceKind
from bot.engine.host import AdapterHost
from bot.i18n import N_

log = logging.getLogger("concord.matrix")

NOTICE = N_("matrix.cannot_decrypt")
NOTICE_EN = (
    "I could not read your last message: it is end-to-end encrypted and I do not have "
    "its key. Please send it again. If this keeps happening, tell a moderator."
)
MAX_REPORTED = 10_000


class Undecryptable:
    def __init__(self) -> None:
        self.pending: list[tuple[str, Any, float]] = []
        self.reported: dict[tuple[str, str], None] = {}

    def add(self, room_id: str, event: Any) -> None:
        self.pending.append((room_id, event, time.monotonic()))

    def sort(
        self, client: Any, grace: float
    ) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
        """(decrypted now, given up on); the others keep waiting."""
        decrypted: list[tuple[str, Any]] = []
        expired: list[tuple[str, Any]] = []
        waiting, self.pending = self.pending, []
        for room_id, event, since in waiting:
            try:
                found = client.decrypt_event(event)
            except EncryptionError:
                found = None
            if found is not None and not isinstance(found, MegolmEvent):
                decrypted.append((room_id, found))
            elif time.monotonic() - since < grace:
                self.pending.append((room_id, event, since))
            else:
                expired.append((room_id, event))
        return decrypted, expired

    def first_report(self, room_id: str, event: Any, store: Path) -> bool:
        """Log the failure; True the first time for this room and session (one notice
        per lost session, not one per message)."""
        log.warning(
            "matrix: cannot decrypt %s in %s (session %s); if the crypto store at "
            "%s was lost or replaced, the bot cannot read what was sent to it before",
            event.event_id,
            room_id,
            event.session_id,
            store,
        )
        key = (room_id, str(event.session_id))
        if key in self.reported:
            return False
        self.reported[key] = None
        if len(self.reported) > MAX_REPORTED:
            self.reported.pop(next(iter(self.reported)))
        return True


def notice(host: AdapterHost, member: MemberRef, rooms: Rooms | None, room_id: str) -> str:
    """The notice in the member's language (in the community of the room, or else
    their own) when the catalogs have it."""
    place = rooms.place_for(room_id, member.id) if rooms is not None else None
    space = place.id if place is not None and place.kind is PlaceKind.CHANNEL else ""
    text = host.member_text(member, NOTICE, space=space)
    return NOTICE_EN if text == NOTICE else text
