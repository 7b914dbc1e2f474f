"""Concord's actions as IRC lines: texts and questions as PRIVMSG to a member's nick
or a channel, moderator notices to the moderators' channel.

IRC has no buttons (a question's text already lists its choices by number), no files,
no roles the bot can give, no private rooms and no way to take a message back: those
actions are logged and count as done, or are Undeliverable when something would be
lost (a file, a private space). Every text goes through adapters/irc/text.py (no
control codes, no command character at the start of a line, split to the line limit)
after ``/help`` mentions became ``!concord help`` (IRC clients keep ``/``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from adapters.irc.send import Sender
from adapters.irc.settings import IrcSettings
from adapters.irc.text import irc_lines
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
from bot.core.errors import Undeliverable
from bot.core.events import Place, PlaceKind

log = logging.getLogger(__name__)


class Delivery:
    def __init__(
        self,
        settings: IrcSettings,
        sender: Sender,
        budget: Callable[[str], int],
        rewrite: Callable[[str], str],
        moderators_name: str = "moderators",
    ) -> None:
        self.settings = settings
        self.sender = sender
        self.budget = budget  # bytes of text a PRIVMSG to a target may carry
        self.rewrite = rewrite  # command mentions: "/help" -> "!concord help"
        self.moderators_name = moderators_name

    async def deliver(self, action: Action, key: str) -> None:
        if isinstance(action, Say | Ask):
            await self.say(key, self.target(action.to), action.text)
        elif isinstance(action, OfferPrivateChat):
            # Anyone can be written to first on IRC: the member is reachable.
            if not action.unless_reachable:
                await self.say(key, self.target(action.to), action.text)
        elif isinstance(action, NotifyModerators):
            channel = self.settings.moderators_channel
            if channel is None:
                raise Undeliverable("no moderators_channel is configured")
            await self.say(key, channel, action.text)
        elif isinstance(action, SendFile):
            raise Undeliverable("IRC sends no files")
        elif isinstance(action, OpenPrivateSpace):
            raise Undeliverable(f"IRC has no private rooms; {action.space} not opened")
        elif isinstance(action, RemoveMessage | DeleteRecentMessages):
            log.info("irc: messages cannot be taken back on IRC; nothing removed")
        elif isinstance(action, GrantRole | RevokeRole):
            log.info("irc: no IRC equivalent for the role %r", action.role)

    async def say(self, key: str, target: str, text: str) -> None:
        lines = irc_lines(self.rewrite(text), self.budget(target))
        await self.sender.send(key, "PRIVMSG", target, lines)

    def target(self, place: Place) -> str:
        """The nick or channel a place is on IRC."""
        target: str | None = None
        if place.kind is PlaceKind.DIRECT:
            target = place.id
        elif place.kind is PlaceKind.CHANNEL and place.id == self.moderators_name:
            target = self.settings.moderators_channel
        elif place.kind is PlaceKind.CHANNEL:
            target = self.settings.channel(place.id)
        if not target:
            raise Undeliverable(f"no IRC channel for {place.kind} {place.id!r}")
        return target
