"""The commonest updates, a member's plain text message and a pressed button, read
straight from their JSON.

Parsing an update with python-telegram-bot builds a ``Message`` of about a hundred
fields (and its ``User``, ``Chat``, entities and keyboard) to read six of them. Here
an update of exactly a plain shape (the keys among those listed, every value read of
the type Telegram gives it) is translated from the dict, through the same
``from_text`` or ``from_press`` as a parsed one. Anything else (a forward, a photo, a
join, a field of an unexpected type, a key not listed) gives None, and the adapter
parses the update with PTB as before: what PTB refuses is still refused, and where
both apply they give the same events (tests/test_telegram_plain.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.telegram.events import (
    Context,
    Incoming,
    from_press,
    from_text,
    member_ref,
    place_of,
)

# A message of these keys only: any other (forward_origin, new_chat_members, photo,
# caption, migrate_to_chat_id, reply_to_message, ...) changes what it means.
_MESSAGE_KEYS = frozenset({"message_id", "date", "chat", "from", "text", "entities"})
# Keys whose values PTB only stores (unread here): a ``User`` and a ``Chat`` as
# python-telegram-bot 22 declares them. An unlisted key goes to PTB.
_USER_KEYS = frozenset(
    {
        "id",
        "is_bot",
        "first_name",
        "last_name",
        "username",
        "language_code",
        "is_premium",
        "added_to_attachment_menu",
    }
)
_CHAT_KEYS = frozenset({"id", "type", "title", "username", "first_name", "last_name", "is_forum"})
# A button press, and the message it was under (the bot's question, its keyboard).
_QUERY_KEYS = frozenset({"id", "from", "message", "chat_instance", "data"})
_SHOWN_KEYS = _MESSAGE_KEYS | {"reply_markup"}
_BUTTON_KEYS = frozenset({"text", "callback_data", "url"})
_ENTITY_KEYS = frozenset({"type", "offset", "length", "url", "language", "custom_emoji_id"})
# PTB turns ``date`` into a datetime, which fails far outside this range (then PTB
# decides, and skips the update).
_LAST_DATE = 2**32


@dataclass(frozen=True, slots=True)
class Author:
    """The fields of a ``User`` that translation reads."""

    id: int
    is_bot: bool
    full_name: str
    language_code: str | None


@dataclass(frozen=True, slots=True)
class ChatRef:
    """The fields of a ``Chat`` that translation reads."""

    id: int
    type: str


def translate_plain(item: dict[str, Any], context: Context) -> list[Incoming] | None:
    """The events of a plain text message or button press update, or None when the
    update has any other shape (PTB parses it then). The caller has checked
    ``update_id``."""
    if len(item) != 2:
        return None
    if "message" in item:
        return _text(item["message"], context)
    if "callback_query" in item:
        return _press(item["callback_query"], context)
    return None


def _text(message: object, context: Context) -> list[Incoming] | None:
    if type(message) is not dict or not message.keys() <= _MESSAGE_KEYS:
        return None
    message_id, date, text = message.get("message_id"), message.get("date"), message.get("text")
    if type(message_id) is not int or type(text) is not str:
        return None
    if type(date) is not int or not 0 <= date < _LAST_DATE:
        return None
    user, chat = _author(message.get("from")), _chat(message.get("chat"))
    starts = _command_at_start(message.get("entities"))
    if user is None or chat is None or starts is None:
        return None
    if user.is_bot:
        return []
    place = place_of(chat, member_ref(user), context)
    if place is None:
        return []
    return from_text(f"{chat.id}:{message_id}", user, place, text, starts, context)


def _press(query: object, context: Context) -> list[Incoming] | None:
    """A button pressed under a message of the bot's (or of an inline query's)."""
    if type(query) is not dict or not query.keys() <= _QUERY_KEYS:
        return None
    query_id, data = query.get("id"), query.get("data")
    if type(query_id) is not str or type(query.get("chat_instance")) is not str:
        return None
    user = _author(query.get("from"))
    if user is None or not (data is None or type(data) is str):
        return None
    chat = None
    if "message" in query:
        chat = _chat_shown(query["message"])
        if chat is None:
            return None
    return from_press(query_id, user, chat, data, context)


def _chat_shown(message: object) -> ChatRef | None:
    """The chat of the message a button was under, when PTB would read that message
    (a question of the bot's, with its keyboard; or one too old to show, of date 0)."""
    if type(message) is not dict or not message.keys() <= _SHOWN_KEYS:
        return None
    date, text = message.get("date"), message.get("text")
    if type(message.get("message_id")) is not int or not (text is None or type(text) is str):
        return None
    if type(date) is not int or not 0 <= date < _LAST_DATE:
        return None
    if "from" in message and _author(message["from"]) is None:
        return None
    if _command_at_start(message.get("entities")) is None:
        return None
    if "reply_markup" in message and not _is_keyboard(message["reply_markup"]):
        return None
    return _chat(message.get("chat"))


def _is_keyboard(raw: object) -> bool:
    if type(raw) is not dict or raw.keys() != {"inline_keyboard"}:
        return False
    rows = raw["inline_keyboard"]
    if type(rows) is not list or any(type(row) is not list for row in rows):
        return False
    return all(
        type(button) is dict and button.keys() <= _BUTTON_KEYS and type(button.get("text")) is str
        for row in rows
        for button in row
    )


def _author(raw: object) -> Author | None:
    if type(raw) is not dict or not raw.keys() <= _USER_KEYS:
        return None
    user_id, is_bot, first = raw.get("id"), raw.get("is_bot"), raw.get("first_name")
    last, language = raw.get("last_name"), raw.get("language_code")
    if type(user_id) is not int or type(is_bot) is not bool or type(first) is not str:
        return None
    if not first or not (last is None or type(last) is str):
        return None  # PTB names a user without a first name None
    if not (language is None or type(language) is str):
        return None
    return Author(user_id, is_bot, f"{first} {last}" if last else first, language)


def _chat(raw: object) -> ChatRef | None:
    if type(raw) is not dict or not raw.keys() <= _CHAT_KEYS:
        return None
    chat_id, kind = raw.get("id"), raw.get("type")
    if type(chat_id) is not int or type(kind) is not str:
        return None
    return ChatRef(chat_id, kind)


def _command_at_start(raw: object) -> bool | None:
    """Whether Telegram marked a bot command at offset 0; None for entities of a shape
    not read here."""
    if raw is None:
        return False
    if type(raw) is not list:
        return None
    starts = False
    for entity in raw:
        if type(entity) is not dict or not entity.keys() <= _ENTITY_KEYS:
            return None
        kind, offset = entity.get("type"), entity.get("offset")
        if type(kind) is not str or type(offset) is not int:
            return None
        if type(entity.get("length")) is not int:
            return None
        starts = starts or (kind == "bot_command" and offset == 0)
    return starts
