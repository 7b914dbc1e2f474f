"""The console community: type as any number of members; see where the bot answers.

Input syntax (stable: admins' transcripts and the tests rely on it)::

    ana joins               ana joins the community
    ana joins pt-BR         ... with the locale her platform reports
    ana leaves              ana leaves the community
    ana> hello              ana writes to the bot in a direct message
    ana #general> hello     ana says something in the channel #general
    ana (case-1)> hello     ana says something in the private space "case-1"
    ana> /coc 3             a command (in a direct message, or in a channel as above)
    :wait 2d                time passes (30m, 12h, 2d, 1w); due reminders fire
    :again                  the last event is delivered once more (a platform re-delivery)
    :restart                Concord restarts on the same database
    # a comment

Output: ``bot → ana: ...`` is a direct message to ana, ``bot → #general: ...`` is said in
a channel, ``* ...`` is an action such as a role granted, and ``· ...`` is the console's
own note when Concord says nothing to a line. A message of several lines continues on
lines indented by four spaces.
"""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from bot.core.actions import (
    Action,
    Ask,
    Capabilities,
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
from bot.core.durations import parse_duration
from bot.core.errors import DeliveryError, Undeliverable
from bot.core.events import (
    CommandRun,
    Event,
    MemberJoined,
    MemberLeft,
    MemberRef,
    Place,
    PlaceKind,
    TextSaid,
)

PLATFORM = "console"

_NAME = r"[A-Za-z0-9_.\-]{1,40}"
_JOIN = re.compile(rf"^({_NAME})\s+joins(?:\s+(\S+))?\s*$")
_LEAVE = re.compile(rf"^({_NAME})\s+leaves\s*$")
_SAY = re.compile(rf"^({_NAME})(?:\s+#({_NAME})|\s+\(({_NAME})\))?>(?: (.*)|)$")


class ConsoleSyntaxError(ValueError):
    """A console line that is not in the documented syntax."""


@dataclass(frozen=True)
class Directive:
    """A line that controls the console itself rather than speaking as a member."""

    name: str
    argument: str = ""


def parse_line(line: str, community: str) -> Event | Directive | None:
    """One typed line as an event, a directive, or None for blanks and comments."""
    text = line.rstrip("\r\n")
    stripped = text.strip()
    if not stripped or stripped.startswith("#"):
        return None
    if stripped.startswith(":"):
        return _directive(stripped)
    event_id = uuid.uuid4().hex
    if match := _JOIN.match(stripped):
        member = MemberRef(PLATFORM, match.group(1), match.group(1))
        return MemberJoined(event_id, community, member, locale=match.group(2))
    if match := _LEAVE.match(stripped):
        member = MemberRef(PLATFORM, match.group(1), match.group(1))
        return MemberLeft(event_id, community, member)
    if match := _SAY.match(text.lstrip()):
        name, channel, space, said = match.groups()
        said = said or ""
        member = MemberRef(PLATFORM, name, name)
        if channel:
            place = Place(PLATFORM, PlaceKind.CHANNEL, channel)
        elif space:
            place = Place(PLATFORM, PlaceKind.PRIVATE, space)
        else:
            place = Place.direct(member)
        if said.startswith("/") and len(said) > 1 and not said[1].isspace():
            words = said[1:].split()
            return CommandRun(
                event_id,
                community,
                member,
                place=place,
                name=words[0].lower(),
                args=tuple(words[1:]),
            )
        return TextSaid(event_id, community, member, place=place, text=said)
    raise ConsoleSyntaxError(
        "not understood; write 'NAME joins', 'NAME> text', 'NAME #channel> text' or ':wait 2d'"
    )


def _directive(text: str) -> Directive:
    name, _, argument = text[1:].partition(" ")
    argument = argument.strip()
    if name == "wait":
        if parse_duration(argument) is None:
            raise ConsoleSyntaxError("':wait' needs a duration such as 30m, 12h, 2d or 1w")
    elif name not in ("again", "restart"):
        raise ConsoleSyntaxError(f"unknown directive ':{name}' (use :wait, :again or :restart)")
    return Directive(name, argument)


def format_action(action: Action, moderators_channel: str) -> str:
    """How an action looks in the console: where it went, then what it says."""
    if isinstance(action, Say | Ask):
        return _message(_where(action.to), action.text)
    if isinstance(action, SendFile):
        return _message(_where(action.to), f"[file {action.name}]\n{action.content}")
    if isinstance(action, DeleteRecentMessages):
        return f"* the bot's recent messages to {_where(action.to)} are deleted"
    if isinstance(action, RemoveMessage):
        return f"* {action.member.id}'s message in {_where(action.to)} is removed"
    if isinstance(action, OfferPrivateChat):
        return _message(_where(action.to), f"{action.text}\n[{action.button}]")
    if isinstance(action, NotifyModerators):
        return _message(f"#{moderators_channel}", action.text)
    if isinstance(action, GrantRole):
        return f'* {action.member.id} is given the role "{action.role}"'
    if isinstance(action, RevokeRole):
        return f'* {action.member.id} loses the role "{action.role}"'
    if isinstance(action, OpenPrivateSpace):
        members = ", ".join(m.id for m in action.members)
        return f'* private space "{action.space}" opened for {members}'
    raise TypeError(f"unknown action {action!r}")


def _where(place: Place) -> str:
    if place.kind is PlaceKind.DIRECT:
        return place.id
    if place.kind is PlaceKind.CHANNEL:
        return f"#{place.id}"
    return f"({place.id})"


def _message(where: str, text: str) -> str:
    first, *rest = text.split("\n")
    lines = [f"bot → {where}: {first}"] + [f"    {line}" if line else "" for line in rest]
    return "\n".join(lines)


def write_out(text: str, stream: TextIO | None = None) -> None:
    """Write a delivered action to standard output and flush it: a delivery counts only
    once the text has left the process (with output to a pipe, Python keeps it in a
    buffer that a killed process loses)."""
    out = stream or sys.stdout
    out.write(text + "\n")
    out.flush()


class ConsoleAdapter:
    """Delivers actions by writing them out. ``write`` must hand the text to the
    operating system before it returns (``write_out`` does): then it is delivered.
    Output that fails is retried; a text the output cannot show is undeliverable."""

    platform = PLATFORM
    capabilities = Capabilities(
        native_choices=False,
        private_spaces=True,
        direct_first=True,
        roles=True,
        delete_messages=True,
        max_length=100_000,
    )

    def __init__(self, write: Callable[[str], None], moderators_channel: str) -> None:
        self.write = write
        self.moderators_channel = moderators_channel

    async def deliver(self, action: Action, idempotency_key: str | None = None) -> None:
        """Write the action; a terminal keeps no key, so ``idempotency_key`` is ignored."""
        text = format_action(action, self.moderators_channel)
        try:
            self.write(text)
        except UnicodeEncodeError as exc:
            raise Undeliverable(
                f"console: the output ({exc.encoding}) cannot show this text;"
                " a UTF-8 locale or PYTHONIOENCODING=utf-8 can"
            ) from exc
        except OSError as exc:
            raise DeliveryError(f"console: output failed: {exc}") from exc
