"""IRC messages as Concord's neutral events: pure translation, no I/O.

A member is their nick, casefolded as the server compares nicks (RFC 1459: ``[]\\~``
are the capitals of ``{}|^``). A private message to the bot is in the member's direct
place; a message in a served channel is in that channel (the moderators' channel is
the moderators' place). IRC clients keep ``/`` for themselves, so commands are
``!concord <command> <words>`` anywhere; in a private message also ``!<command>``,
``/<command>`` (when the client passes it on) and a command's bare name alone
(``/msg Concord help``). A member joining a served channel is ``MemberJoined``.
Roles come from the member's full mask (``nick!user@host``), never from the nick alone,
which anyone can take.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from adapters.irc.text import strip_formatting
from bot.core.events import (
    CommandRun,
    Event,
    MemberJoined,
    MemberRef,
    Place,
    PlaceKind,
    TextSaid,
)

PLATFORM = "irc"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ[]\\~"
_LOWER = "abcdefghijklmnopqrstuvwxyz{}|^"
_FOLD = str.maketrans(_UPPER, _LOWER)


def casefold(name: str) -> str:
    """A nick or channel as the server compares them (CASEMAPPING=rfc1459)."""
    return name.translate(_FOLD)


@dataclass(frozen=True)
class Sender:
    """Who sent a line: the parts of ``nick!user@host``."""

    nick: str
    user: str = ""
    host: str = ""

    @property
    def mask(self) -> str:
        return f"{self.nick}!{self.user or '*'}@{self.host or '*'}"


@dataclass(frozen=True)
class Context:
    """What translation needs: whose bot this is, which channels it serves (casefolded
    name -> configured name), who has which role, how commands are written."""

    community: str
    bot_nick: str
    channels: dict[str, str]
    moderators_channel: str | None = None
    moderators_name: str = "moderators"
    moderator_masks: tuple[str, ...] = ()
    mediator_masks: tuple[str, ...] = ()
    prefix: str = "!concord"
    command_names: frozenset[str] = frozenset()


# A netsplit's QUIT reason names the two servers that lost each other; a member's own
# reason cannot look like it (servers put "Quit: " before it).
# Libera.Chat hides the names: "*.net *.split".
_SPLIT = re.compile(r"^([\w.*-]+\.[\w*-]+) ([\w.*-]+\.[\w*-]+)$")


def netsplit(reason: str) -> tuple[str, str] | None:
    """The two servers of a netsplit QUIT reason, or None for any other quit."""
    match = _SPLIT.match(reason)
    return (match.group(1), match.group(2)) if match else None


def member_ref(sender: Sender) -> MemberRef:
    return MemberRef(PLATFORM, casefold(sender.nick), sender.nick)


def roles_of(sender: Sender, context: Context) -> tuple[str, ...]:
    mask = casefold(sender.mask)
    roles = []
    if any(fnmatchcase(mask, casefold(m)) for m in context.moderator_masks):
        roles.append("moderator")
    if any(fnmatchcase(mask, casefold(m)) for m in context.mediator_masks):
        roles.append("mediator")
    return tuple(roles)


def channel_place(channel: str, context: Context) -> Place | None:
    """The neutral place of a channel, or None for a channel the bot does not serve."""
    folded = casefold(channel)
    moderators = context.moderators_channel
    if moderators is not None and folded == casefold(moderators):
        return Place(PLATFORM, PlaceKind.CHANNEL, context.moderators_name)
    name = context.channels.get(folded)
    return Place(PLATFORM, PlaceKind.CHANNEL, name) if name is not None else None


def parse_command(
    text: str, prefix: str, direct: bool, names: frozenset[str]
) -> tuple[str, tuple[str, ...]] | None:
    """``!concord coc 3`` -> ("coc", ("3",)); a bare ``!concord`` asks for help."""
    words = text.split()
    if not words:
        return None
    first = words[0].lower()
    if first == prefix.lower():
        if len(words) == 1:
            return "help", ()
        return words[1].lower().lstrip("/!") or "help", tuple(words[2:])
    if not direct:
        return None
    if len(first) > 1 and first[0] in "/!" and first[1] not in "/!":
        return first[1:], tuple(words[1:])
    if len(words) == 1 and first in names:
        return first, ()
    return None


def translate_message(sender: Sender, target: str, text: str, context: Context) -> Event | None:
    """The event for a PRIVMSG from ``sender`` to ``target`` (a channel or the bot),
    or None when it is not for Concord."""
    if casefold(sender.nick) == casefold(context.bot_nick) or not sender.nick:
        return None  # the server echoing the bot's own line
    member = member_ref(sender)
    direct = casefold(target) == casefold(context.bot_nick)
    place = Place.direct(member) if direct else channel_place(target, context)
    if place is None:
        return None
    common = _common(sender, member, context)
    text = strip_formatting(text)  # the core strips the other control codes
    command = parse_command(text, context.prefix, direct, context.command_names)
    if command is not None:
        return CommandRun(**common, place=place, name=command[0], args=command[1])
    return TextSaid(**common, place=place, text=text)


def translate_join(sender: Sender, channel: str, context: Context) -> Event | None:
    """A member (not the bot) joining a served channel."""
    if casefold(sender.nick) == casefold(context.bot_nick):
        return None
    place = channel_place(channel, context)
    if place is None or place.id == context.moderators_name:
        return None
    member = member_ref(sender)
    return MemberJoined(**_common(sender, member, context), place=place)


def _common(sender: Sender, member: MemberRef, context: Context) -> dict[str, Any]:
    # IRC messages carry no id (unless the server adds a msgid tag) and are never
    # replayed: a fresh id for each keeps them apart in the inbox.
    return {
        "event_id": f"irc:{uuid.uuid4().hex}",
        "community": context.community,
        "member": member,
        "roles": roles_of(sender, context),
    }
