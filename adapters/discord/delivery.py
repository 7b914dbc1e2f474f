"""Neutral actions as Discord calls, through the ``Sender``: translation only.

Raises Undeliverable for what Discord refuses for good: the outbox records it, with
the reason, instead of counting it sent. Messages carry nonces made from the
outbox's idempotency key and the database's tag (none outside the outbox), so one
re-sent after a crash is created once. What acts inside a server (a role, a private
thread) acts in the servers of the community whose action it is (``guilds.py``).
"""

from __future__ import annotations

import logging

from adapters.discord.buttons import choice_view, link_view
from adapters.discord.events import PLATFORM
from adapters.discord.send import Sender
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
from bot.core.events import MemberRef, Place, PlaceKind

log = logging.getLogger("adapters.discord.adapter")


async def deliver(send: Sender, action: Action, key: str | None = None) -> None:
    """One action, with ``key`` (the outbox row's) for the messages' nonces."""
    if isinstance(action, Say):
        await send.text(action.to, action.text, key=key)
    elif isinstance(action, Ask):
        choices = action.choices
        await send.text(action.to, action.text, lambda: choice_view(choices), True, key)
    elif isinstance(action, OfferPrivateChat):
        url = f"https://discord.com/users/{send.client.user.id if send.client.user else ''}"
        button = action.button
        await send.text(action.to, action.text, lambda: link_view(button, url), True, key)
    elif isinstance(action, SendFile):
        await send.file(action.to, action.name, action.content)
    elif isinstance(action, DeleteRecentMessages):
        await send.delete_recent(action.to)
    elif isinstance(action, RemoveMessage):
        await send.remove(action.to, action.message)
    elif isinstance(action, GrantRole | RevokeRole):
        await _set_role(send, action.member, action.role, isinstance(action, GrantRole))
    elif isinstance(action, OpenPrivateSpace):
        members = [_user_id(m) for m in action.members if m.platform == PLATFORM]
        await send.open_thread(action.space, action.title, members)
    elif isinstance(action, NotifyModerators):
        channel = send.places.settings.moderators_channel
        if channel is None:
            raise Undeliverable("no moderators_channel is configured")
        place = Place(PLATFORM, PlaceKind.CHANNEL, str(channel))
        await send.text(place, action.text, key=key)


async def _set_role(send: Sender, member: MemberRef, name: str, granted: bool) -> None:
    """A role granted or revoked in the servers of the action's community only."""
    found = False
    for guild in send.places.guilds.delivering():
        role = send.places.guilds.role_in(guild, name)
        if role is not None:
            found = True
            await send.set_role(guild, _user_id(member), role, granted)
    if not found:
        log.info("discord: no Discord role for %r in platforms.discord.roles", name)


def _user_id(member: MemberRef) -> int:
    if not member.id.isdigit():
        raise Undeliverable(f"{member.id!r} is not a Discord user id")
    return int(member.id)
