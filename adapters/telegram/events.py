"""Telegram updates as Concord's neutral events: translation only, no decisions.

A message in a served group, in the moderators' chat or in a private chat becomes
``TextSaid`` or, when it starts with a bot command, ``CommandRun`` (a forwarded
message never does: see ``_forwarded``); a pressed inline button becomes
``ChoiceMade``; a member coming into a served group (a ``chat_member`` update or a
``new_chat_members`` message) becomes ``MemberJoined``. Everything else is ignored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from telegram import Chat, ChatMember, ChatMemberRestricted, Message, MessageEntity, Update, User
from telegram.constants import ChatMemberStatus

from bot.core.events import (
    ChoiceMade,
    CommandRun,
    Event,
    MemberJoined,
    MemberRef,
    Place,
    PlaceKind,
    TextSaid,
)

log = logging.getLogger(__name__)

PLATFORM = "telegram"
# The payload of the deep link offered in a group: ``/start welcome`` in the private
# chat is the member opening the chat from that link, not words for the dialog.
START_PAYLOAD = "welcome"
# Updates the adapter asks for: chat_member is not delivered unless asked for.
ALLOWED_UPDATES = ("message", "callback_query", "chat_member", "my_chat_member")

_COMMAND = re.compile(r"^/([^\s/@]{1,64})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+(.*))?$", re.DOTALL)
_MEDIA = (
    "animation",
    "audio",
    "contact",
    "document",
    "location",
    "photo",
    "poll",
    "sticker",
    "video",
    "video_note",
    "voice",
)
_IN = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER)


@dataclass(frozen=True)
class Context:
    """What translation needs to know: whose bot this is and which chats it serves.
    The moderators' chat is the moderators' place, named as in the config
    (``moderators.channel``, as ``#moderators`` on the console): the core decides
    what is answered there."""

    community: str
    bot_username: str
    groups: frozenset[int]
    moderator_ids: frozenset[int] = frozenset()
    mediator_ids: frozenset[int] = frozenset()
    moderators_chat: int | None = None
    moderators_name: str = "moderators"


@dataclass(frozen=True)
class Incoming:
    """One neutral event (None for a press that means nothing to Concord), with what
    the adapter must do around handing it in: ``join_chat`` is the group a newcomer
    joined (for restriction), ``callback_id`` the press to answer once handled."""

    user_id: int
    event: Event | None
    join_chat: int | None = None
    joined_at: float = 0.0
    callback_id: str | None = None


class Person(Protocol):
    """What translation reads of a user: PTB's ``User``, or the plain record of
    adapters/telegram/plain.py."""

    @property
    def id(self) -> int: ...
    @property
    def is_bot(self) -> bool: ...
    @property
    def full_name(self) -> str: ...
    @property
    def language_code(self) -> str | None: ...


class ChatLike(Protocol):
    """What translation reads of a chat: its id and its type."""

    @property
    def id(self) -> int: ...
    @property
    def type(self) -> str: ...


def member_ref(user: Person) -> MemberRef:
    return MemberRef(PLATFORM, str(user.id), user.full_name)


def roles_of(user: Person, context: Context) -> tuple[str, ...]:
    roles = []
    if user.id in context.moderator_ids:
        roles.append("moderator")
    if user.id in context.mediator_ids:
        roles.append("mediator")
    return tuple(roles)


def place_of(chat: ChatLike, member: MemberRef, context: Context) -> Place | None:
    """The neutral place of a chat, or None for a chat the bot does not serve."""
    if chat.type == Chat.PRIVATE:
        return Place.direct(member) if str(chat.id) == member.id else None
    if chat.type not in (Chat.GROUP, Chat.SUPERGROUP):
        return None
    if chat.id == context.moderators_chat:
        return Place(PLATFORM, PlaceKind.CHANNEL, context.moderators_name)
    if chat.id in context.groups:
        return Place(PLATFORM, PlaceKind.CHANNEL, str(chat.id))
    return None


def translate(update: Update, context: Context) -> list[Incoming]:
    if update.message is not None:
        return _from_message(update.message, context)
    if update.callback_query is not None:
        return _from_press(update, context)
    if update.chat_member is not None:
        return _from_member_change(update, context)
    if update.my_chat_member is not None:
        change = update.my_chat_member
        chat = change.chat
        added = _is_in(change.new_chat_member) and not _is_in(change.old_chat_member)
        if added and chat.type != Chat.PRIVATE and chat.id not in context.groups:
            log.warning(
                "telegram: the bot was added to chat %s, which is not in "
                "platforms.telegram.groups; add it there to serve it",
                chat.id,
            )
    return []


def _member_event(
    kind: Callable[..., Event],
    event_id: str,
    user: Person,
    place: Place,
    context: Context,
    **of: Any,
) -> Event:
    """A neutral event of ``kind`` by ``user`` in ``place``, with the fields ``of``."""
    return kind(
        event_id,
        context.community,
        member_ref(user),
        locale=user.language_code or None,
        roles=roles_of(user, context),
        place=place,
        **of,
    )


def _said(event_id: str, user: Person, place: Place, text: str, context: Context) -> Incoming:
    return Incoming(user.id, _member_event(TextSaid, event_id, user, place, context, text=text))


def _from_message(message: Message, context: Context) -> list[Incoming]:
    if message.migrate_to_chat_id:
        log.warning(
            "telegram: group %s became supergroup %s; put the new id in platforms.telegram.groups",
            message.chat.id,
            message.migrate_to_chat_id,
        )
        return []
    if message.new_chat_members:
        return _joins(message, context)
    user = message.from_user
    if user is None or user.is_bot:
        return []
    member = member_ref(user)
    place = place_of(message.chat, member, context)
    if place is None:
        return []
    event_id = f"{message.chat.id}:{message.message_id}"
    if message.forward_origin is not None or message.is_automatic_forward:
        return _forwarded(event_id, user, place, context)
    text = message.text
    if text is not None:
        starts = any(
            e.type == MessageEntity.BOT_COMMAND and e.offset == 0 for e in message.entities or ()
        )
        return from_text(event_id, user, place, text, starts, context)
    if place.kind is PlaceKind.DIRECT and (
        message.caption is not None or any(getattr(message, kind) for kind in _MEDIA)
    ):
        # A photo or sticker in answer to a question: the core says what it expects.
        return [_said(event_id, user, place, message.caption or "", context)]
    return []


def _forwarded(event_id: str, user: User, place: Place, context: Context) -> list[Incoming]:
    """A forward carries someone else's words: never a command (a moderator forwarding
    "/sanction ..." runs nothing) and never an answer. In a private chat it is content
    the member shared, handed in like a photo (no text), so the core says what it
    expects; in a group it is chatter between people."""
    if place.kind is not PlaceKind.DIRECT:
        return []
    return [_said(event_id, user, place, "", context)]


def from_text(
    event_id: str, user: Person, place: Place, text: str, starts: bool, context: Context
) -> list[Incoming]:
    """A member's text in a place served: a command when it starts with one (``starts``:
    Telegram marked a bot command at its start), else words said."""
    command = _command(text, starts, context)
    if command is None:
        return [_said(event_id, user, place, text, context)]
    name, args = command
    if not name:
        return []  # a command for another bot in the same group
    event = _member_event(CommandRun, event_id, user, place, context, name=name, args=args)
    return [Incoming(user.id, event)]


def _command(text: str, starts: bool, context: Context) -> tuple[str, tuple[str, ...]] | None:
    """(name, args) of a bot command at the start of ``text``; ("", ()) when it is
    addressed to another bot; None when the message is no command."""
    match = _COMMAND.match(text)
    # Telegram marks only ASCII names as commands; a name in another script (a
    # command's localized name, "/idioma" works either way) is recognized by its shape.
    if match is None or not (starts or not match.group(1).isascii()):
        return None
    name, target, rest = match.group(1), match.group(2), match.group(3) or ""
    if target and target.lower() != context.bot_username.lower():
        return "", ()
    args = tuple(rest.split())
    if name.lower() == "start" and args[:1] == (START_PAYLOAD,):
        args = args[1:]
    return name.lower(), args


def _joins(message: Message, context: Context) -> list[Incoming]:
    chat = message.chat
    if chat.id not in context.groups:
        return []
    found = []
    for user in message.new_chat_members or ():
        if not user.is_bot:
            found.append(_join(chat, user, message.date, context))
    return found


def _from_member_change(update: Update, context: Context) -> list[Incoming]:
    change = update.chat_member
    assert change is not None
    user = change.new_chat_member.user
    joined = not _is_in(change.old_chat_member) and _is_in(change.new_chat_member)
    if not joined or user.is_bot or change.chat.id not in context.groups:
        return []
    return [_join(change.chat, user, change.date, context)]


def _join(chat: Chat, user: User, date: datetime, context: Context) -> Incoming:
    when = date.timestamp()
    event_id = f"join:{chat.id}:{user.id}:{int(when)}"
    place = Place(PLATFORM, PlaceKind.CHANNEL, str(chat.id))
    event = MemberJoined(
        event_id,
        context.community,
        member_ref(user),
        locale=user.language_code or None,
        roles=roles_of(user, context),
        place=place,
    )
    return Incoming(user.id, event, join_chat=chat.id, joined_at=when)


def _is_in(member: ChatMember) -> bool:
    if member.status in _IN:
        return True
    return isinstance(member, ChatMemberRestricted) and member.is_member


def _from_press(update: Update, context: Context) -> list[Incoming]:
    query = update.callback_query
    assert query is not None
    message = query.message
    chat = message.chat if message is not None else None
    return from_press(query.id, query.from_user, chat, query.data, context)


def from_press(
    query_id: str, user: Person, chat: ChatLike | None, data: str | None, context: Context
) -> list[Incoming]:
    """A pressed button, under a message in ``chat`` (None when Telegram did not say)."""
    place = place_of(chat, member_ref(user), context) if chat is not None else None
    if place is None or not data or user.is_bot:
        # Nothing for Concord, but the press is still answered so its spinner stops.
        return [Incoming(user.id, None, callback_id=query_id)]
    event = _member_event(ChoiceMade, f"cb:{query_id}", user, place, context, choice=data)
    return [Incoming(user.id, event, callback_id=query_id)]
