"""What comes in: platform-neutral events, built by adapters."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class PlaceKind(StrEnum):
    CHANNEL = "channel"
    DIRECT = "direct"
    PRIVATE = "private"


@dataclass(frozen=True, slots=True)
class MemberRef:
    """A member on one platform. ``name`` is member-chosen text: never trust it."""

    platform: str
    id: str
    name: str = ""

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.id}"


@dataclass(frozen=True, slots=True)
class Place:
    """Where a message is said: a channel, a member's direct messages, a private space."""

    platform: str
    kind: PlaceKind
    id: str

    @staticmethod
    def direct(member: MemberRef) -> Place:
        return Place(member.platform, PlaceKind.DIRECT, member.id)


@dataclass(frozen=True, slots=True)
class Event:
    """Common fields: the platform's event id (for de-duplication), the community,
    the member, the member's platform-reported locale when the platform knows it, and
    the neutral roles ("moderator", "mediator") the adapter found for the member.
    ``space`` is the platform space (a Discord server) the event came from, where its
    place alone does not name one (a channel id of the server): a deployment of many
    communities routes by it (bot/engine/routing.py)."""

    event_id: str
    community: str
    member: MemberRef
    locale: str | None = None
    roles: tuple[str, ...] = ()
    space: str = field(default="", kw_only=True)


@dataclass(frozen=True, slots=True)
class MemberJoined(Event):
    """``place`` is the channel or group joined, when the platform says."""

    place: Place | None = None


@dataclass(frozen=True, slots=True)
class MemberLeft(Event):
    pass


@dataclass(frozen=True, slots=True)
class TextSaid(Event):
    place: Place | None = None
    text: str = ""


@dataclass(frozen=True, slots=True)
class CommandRun(Event):
    place: Place | None = None
    name: str = ""
    args: tuple[str, ...] = ()
    # The platform shows the command only to its sender (a Discord slash command):
    # nobody else saw it typed, so there is nothing to remove or to explain.
    unseen: bool = False


@dataclass(frozen=True, slots=True)
class ChoiceMade(Event):
    """A native choice (button, keyboard) pressed; ``choice`` is the choice key."""

    place: Place | None = None
    choice: str = ""


@dataclass(frozen=True, slots=True)
class TimerFired(Event):
    kind: str = ""
    payload: str = ""


def event_place(event: Event) -> Place | None:
    return getattr(event, "place", None)
