"""Concord's actions as Bot API calls: plain texts, questions with inline keyboards,
documents, deleting the bot's messages, a deep link to a private chat, the member
role and moderator notices.

An action Telegram refuses for good raises Undeliverable, which the outbox records
with its reason; this module only translates an action into calls through the
Sender, the SentHistory and the Restrictions.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram.error import Forbidden

from adapters.telegram.history import SentHistory
from adapters.telegram.restrictions import Restrictions
from adapters.telegram.send import Markup, Sender, choices_keyboard, keyboard, link_button
from adapters.telegram.settings import TelegramSettings
from bot.core.actions import (
    Action,
    Ask,
    DeleteRecentMessages,
    GrantRole,
    NotifyModerators,
    OfferPrivateChat,
    OpenPrivateSpace,
    RemoveMessage,
    Restrict,
    RevokeRole,
    Say,
    SendFile,
)
from bot.core.errors import Undeliverable
from bot.core.events import MemberRef, Place, PlaceKind

log = logging.getLogger(__name__)


class Delivery:
    def __init__(
        self,
        settings: TelegramSettings,
        sender: Sender,
        history: SentHistory,
        restrictions: Restrictions,
        deep_link: Callable[[], Awaitable[str]],
        moderators_name: str = "moderators",
    ) -> None:
        self.settings = settings
        self.sender = sender
        self.history = history
        self.restrictions = restrictions
        self.deep_link = deep_link
        self.moderators_name = moderators_name  # the moderators' place (moderators.channel)
        # Private chats the last message to was refused (a dict kept in order, as a set).
        self.refused: dict[int, None] = {}

    async def deliver(self, action: Action) -> None:
        if isinstance(action, Say):
            await self._send(action.to, action.text)
        elif isinstance(action, Ask):
            await self._send(action.to, action.text, choices_keyboard(action.choices))
        elif isinstance(action, SendFile):
            to = self.chat(action.to)
            message_id = await self.sender.document(to, action.name, action.content.encode())
            if action.to.kind is PlaceKind.DIRECT:
                self.history.remember(to, message_id)
        elif isinstance(action, DeleteRecentMessages):
            if action.to.kind is not PlaceKind.DIRECT:
                log.info("telegram: only the bot's messages in private chats are deleted")
                return
            await self.history.delete_recent(self.chat(action.to))
        elif isinstance(action, OfferPrivateChat):
            if action.unless_reachable and self.reachable(action.member):
                return
            link = await self.deep_link()
            markup = keyboard([[link_button(action.button, link)]])
            # The link in the text too: a screen reader or a client without inline
            # buttons still has the way in (an accessibility requirement, not a style).
            await self._send(action.to, f"{action.text}\n{link}", markup)
        elif isinstance(action, Restrict):
            group = action.to.id
            joined = int(group) if group.lstrip("-").isdigit() else self.chat(action.to)
            if not action.member.id.isdigit():
                raise Undeliverable(f"{action.member.id!r} is not a Telegram user id")
            await self.restrictions.restrict_newcomer(joined, int(action.member.id))
        elif isinstance(action, GrantRole | RevokeRole):
            if action.role != self.settings.member_role:
                log.info("telegram: no Telegram equivalent for the role %r", action.role)
                return
            if not action.member.id.isdigit():
                raise Undeliverable(f"{action.member.id!r} is not a Telegram user id")
            granted = isinstance(action, GrantRole)
            await self.restrictions.set_member(int(action.member.id), granted, action.within)
        elif isinstance(action, NotifyModerators):
            chat = self.settings.moderators_chat
            if chat is None:
                raise Undeliverable("no moderators_chat is configured")
            await self.sender.send_text(chat, action.text)
        elif isinstance(action, OpenPrivateSpace):
            raise Undeliverable(f"bots cannot create private groups; {action.space} not opened")
        elif isinstance(action, RemoveMessage):
            await self.remove(action)

    async def remove(self, action: RemoveMessage) -> None:
        """Delete a member's message (a private command typed in a group): the event id
        is ``chat:message``. The bot must be an administrator allowed to delete
        messages; a refusal is Undeliverable: recorded with its reason, never retried."""
        chat, _, message = action.message.rpartition(":")
        if not (chat.lstrip("-").isdigit() and message.isdigit()):
            log.info("telegram: %r names no message; nothing removed", action.message)
            return
        bot = self.sender.bot
        try:
            await self.sender.call(int(chat), lambda c: bot.delete_message(c, int(message)))
        except Undeliverable as exc:
            raise Undeliverable(f"a member's message was not removed: {exc}") from exc

    def reachable(self, member: MemberRef) -> bool:
        """Whether the last message to the member's private chat went through."""
        return not (member.id.isdigit() and int(member.id) in self.refused)

    def chat(self, place: Place) -> int:
        chat: int | None = None
        if place.kind is PlaceKind.DIRECT:
            chat = int(place.id) if place.id.lstrip("-").isdigit() else None
        elif place.kind is PlaceKind.CHANNEL and place.id == self.moderators_name:
            chat = self.settings.moderators_chat
        elif place.kind is PlaceKind.CHANNEL:
            chat = self.settings.channel_chat(place.id)
        if chat is None:
            raise Undeliverable(f"no Telegram chat for {place.kind} {place.id!r}")
        return chat

    async def _send(self, place: Place, text: str, markup: Markup | None = None) -> None:
        chat = self.chat(place)
        # The bot's messages in a private chat are recorded for /clear.
        direct = place.kind is PlaceKind.DIRECT
        remember = (lambda m: self.history.remember(chat, m)) if direct else None
        try:
            await self.sender.send_text(chat, text, markup, remember)
        except Undeliverable as exc:
            if direct and isinstance(exc.__cause__, Forbidden):
                self.refused[chat] = None  # never opened, or the bot is blocked
                while len(self.refused) > 10_000:
                    del self.refused[next(iter(self.refused))]
            raise
        if direct:
            self.refused.pop(chat, None)
