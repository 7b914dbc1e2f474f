"""Concord's actions as Matrix requests: texts, questions with keycap reactions, files,
taking messages back, private spaces, roles and moderator notices.

The adapter (adapters/matrix/adapter.py) runs one delivery at a time under its lock; this module
only translates an action into requests through the Sender, Rooms and History.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from adapters.matrix.events import MAX_REACTIONS, Question, keycap
from adapters.matrix.history import History
from adapters.matrix.roles import set_role
from adapters.matrix.rooms import Rooms
from adapters.matrix.send import Sender
from adapters.matrix.settings import Settings
from bot.core.actions import (
    Action,
    Ask,
    DeleteRecentMessages,
    GrantRole,
    NotifyModerators,
    OfferPrivateChat,
    OpenPrivateSpace,
    RemoveMessage,
    RevokeRole,
    Say,
    SendFile,
)
from bot.core.errors import DeliveryError, Undeliverable
from bot.core.events import PlaceKind

log = logging.getLogger("concord.matrix")

REMOVE_REASON = "A private command, answered in a direct message"


class Delivery:
    def __init__(
        self, client: Any, sender: Sender, rooms: Rooms, history: History, settings: Settings
    ) -> None:
        self.client = client
        self.sender = sender
        self.rooms = rooms
        self.history = history
        self.settings = settings

    async def deliver(self, action: Action, key: str | None) -> None:
        """Perform ``action``; messages carry transaction ids made from the idempotency
        ``key`` (None: random ones)."""
        rooms, sender, history = self.rooms, self.sender, self.history
        if isinstance(action, Say | Ask | SendFile):
            room_id = self.joined(await rooms.room_for(action.to))
            if self.client.olm is not None and self.client.should_query_keys:
                await sender.call("query keys", self.client.keys_query, paced=False)
            sent: list[str] = []
            try:
                if isinstance(action, SendFile):
                    sent.append(await history.send_file(room_id, action.name, action.content, key))
                else:
                    await sender.send_text(room_id, action.text, sent, key)
                    if isinstance(action, Ask) and action.choices and sent:
                        await self.offer_reactions(room_id, sent[-1], action, sent, key)
            finally:
                if action.to.kind is PlaceKind.DIRECT:
                    history.remember(action.to.id, room_id, sent)
        elif isinstance(action, DeleteRecentMessages):
            if action.to.kind is not PlaceKind.DIRECT:
                raise Undeliverable("matrix: only messages in direct rooms are deleted")
            await history.take_back(action.to.id)
        elif isinstance(action, OfferPrivateChat):
            room_id = self.joined(await rooms.room_for(action.to))
            link = f"https://matrix.to/#/{self.settings.user_id}"
            await sender.send_text(room_id, f"{action.text}\n{action.button}: {link}", key=key)
        elif isinstance(action, NotifyModerators):
            if rooms.moderators_room is None:
                raise Undeliverable("matrix: no moderators_room is configured or joined")
            await sender.send_text(self.joined(rooms.moderators_room), action.text, key=key)
        elif isinstance(action, GrantRole | RevokeRole):
            granted = isinstance(action, GrantRole)
            await set_role(rooms, action.member, action.role, granted, action.within)
        elif isinstance(action, OpenPrivateSpace):
            await rooms.open_space(action)
        elif isinstance(action, RemoveMessage):
            await self.remove(action)

    async def remove(self, action: RemoveMessage) -> None:
        """Redact a member's message (a private command typed in a shared room); the
        bot needs the power level to redact others' events. A refusal is logged and the
        action counts as done: it is never retried."""
        if action.to.kind is PlaceKind.DIRECT:
            return
        try:
            room_id = self.joined(await self.rooms.room_for(action.to))
            await self.sender.call(
                f"redact {action.message} in {room_id}",
                partial(self.client.room_redact, room_id, action.message, REMOVE_REASON),
                room_id,
            )
        except Undeliverable as exc:
            log.warning("%s; the member's message stays", exc)

    def joined(self, room_id: str) -> str:
        if room_id not in self.client.rooms:
            raise Undeliverable(f"matrix: the bot is not in the room {room_id} (is it invited?)")
        return room_id

    async def offer_reactions(
        self, room_id: str, event_id: str, action: Ask, sent: list[str], key: str | None
    ) -> None:
        keys = tuple(choice.key for choice in action.choices)
        member = action.to.id if action.to.kind is PlaceKind.DIRECT else None
        self.rooms.remember_question(room_id, Question(event_id, keys), member)
        if not self.settings.reactions or len(keys) > MAX_REACTIONS:
            return
        for number in range(1, len(keys) + 1):
            try:
                sent.append(await self.sender.react(room_id, event_id, keycap(number), key))
            except (DeliveryError, Undeliverable) as exc:
                # Reactions are a shortcut; typing the number always works.
                log.warning("%s", exc)
                return
