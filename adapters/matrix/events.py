"""Matrix events as Concord's neutral events: pure translation, no I/O.

Commands are written ``!concord <command> <words>`` because Matrix clients keep ``/``
for themselves; in a member's direct room a message that reaches the bot as
``/command`` (Element's "send as message") is a command too. A question is answered by
typing its number or words, or by a keycap reaction (1️⃣ … 🔟) on the question.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nio import (  # type: ignore[import-untyped]
    ReactionEvent,
    RoomMemberEvent,
    RoomMessageText,
)

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

PLATFORM = "matrix"
# Keycap reactions the bot adds under a question with at most this many choices; more
# reactions than that would be noise for screen readers and slow on rate-limited servers.
MAX_REACTIONS = 5
KEYCAPS = (*(f"{n}\ufe0f\u20e3" for n in range(1, 10)), "\U0001f51f")


def keycap(number: int) -> str:
    return KEYCAPS[number - 1]


def reaction_number(key: str) -> int | None:
    """1 for "1️⃣" (with or without the emoji variation selector), None otherwise."""
    bare = key.replace("\ufe0f", "")
    for number, cap in enumerate(KEYCAPS, 1):
        if bare == cap.replace("\ufe0f", ""):
            return number
    return None


@dataclass(frozen=True)
class Question:
    """The latest question asked in a room: its event id and its choice keys."""

    event_id: str
    keys: tuple[str, ...]

    def dump(self) -> str:
        return json.dumps({"event": self.event_id, "keys": list(self.keys)})

    @staticmethod
    def load(text: str | None) -> Question | None:
        if not text:
            return None
        data = json.loads(text)
        return Question(str(data["event"]), tuple(str(k) for k in data["keys"]))


def message_text(content: dict[str, Any]) -> str | None:
    """What a member typed, or None for what is not a fresh text message (edits,
    notices of other bots, emotes)."""
    if content.get("msgtype") != "m.text" or "m.new_content" in content:
        return None
    relation = content.get("m.relates_to")
    relation = relation if isinstance(relation, dict) else {}
    if relation.get("rel_type") == "m.replace":
        return None
    body = content.get("body")
    if not isinstance(body, str):
        return None
    if "m.in_reply_to" in relation:
        body = strip_reply_fallback(body)
    return body


def strip_reply_fallback(body: str) -> str:
    """A reply's body starts with the quoted message ("> ..." lines, then a blank line)."""
    lines = body.split("\n")
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index and index < len(lines) and not lines[index].strip():
        index += 1
    return "\n".join(lines[index:]) if index else body


def parse_command(text: str, prefix: str, direct: bool) -> tuple[str, tuple[str, ...]] | None:
    """``!concord coc 3`` -> ("coc", ("3",)); a bare ``!concord`` asks for help."""
    words = text.split()
    if not words:
        return None
    if words[0].lower() == prefix.lower():
        if len(words) == 1:
            return "help", ()
        return words[1].lower().lstrip("/") or "help", tuple(words[2:])
    if direct and len(words[0]) > 1 and words[0].startswith("/") and words[0][1] != "/":
        return words[0][1:].lower(), tuple(words[1:])
    return None


def is_join(event: Any) -> bool:
    """A member arriving (not a display-name change, which is join after join)."""
    return (
        isinstance(event, RoomMemberEvent)
        and event.membership == "join"
        and event.prev_membership != "join"
        and event.state_key == event.sender
    )


def display_name(event: Any, room: Any) -> str:
    if isinstance(event, RoomMemberEvent):
        name = event.content.get("displayname")
        if isinstance(name, str) and name:
            return name
    user = room.users.get(event.sender) if room is not None else None
    return str(user.display_name) if user is not None and user.display_name else ""


def translate(
    event: Any,
    place: Place,
    community: str,
    member: MemberRef,
    roles: tuple[str, ...],
    prefix: str,
    question: Question | None,
) -> Event | None:
    """The neutral event for one room event, or None when it is not for the bot."""
    common: dict[str, Any] = {
        "event_id": event.event_id,
        "community": community,
        "member": member,
        "roles": roles,
        "place": place,
    }
    if is_join(event):
        return MemberJoined(**common)
    if isinstance(event, RoomMessageText):
        text = message_text(event.source.get("content", {}))
        if text is None:
            return None
        command = parse_command(text, prefix, direct=place.kind is PlaceKind.DIRECT)
        if command is not None:
            return CommandRun(**common, name=command[0], args=command[1])
        return TextSaid(**common, text=text)
    if isinstance(event, ReactionEvent) and question is not None:
        number = reaction_number(event.key)
        if event.reacts_to == question.event_id and number and number <= len(question.keys):
            return ChoiceMade(**common, choice=question.keys[number - 1])
    return None
