"""What goes out: platform-neutral actions, delivered by adapters from the outbox.

Every text is already in the member's language. Adapters send it as plain text
with mentions and markup disabled, so member-supplied values inside it stay inert.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.events import MemberRef, Place, PlaceKind
from bot.core.jsontext import dumps


@dataclass(frozen=True, slots=True)
class Choice:
    key: str
    label: str


@dataclass(frozen=True, slots=True)
class Say:
    to: Place
    text: str


@dataclass(frozen=True, slots=True)
class Ask:
    """A question. ``text`` already lists the choices by number, so a platform
    without native choices can send it as it is."""

    to: Place
    text: str
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True, slots=True)
class OfferPrivateChat:
    """Where a bot may not write first (Telegram), a public message with a way for the
    member to open a private chat (a deep link); opening it runs ``/start``. With
    ``unless_reachable`` it is sent only when the platform has just refused a message
    to the member's private chat (they never opened it, or blocked the bot)."""

    to: Place
    member: MemberRef
    text: str
    button: str
    unless_reachable: bool = False


@dataclass(frozen=True, slots=True)
class SendFile:
    """A file (for example the JSON of /mydata), where the platform allows files."""

    to: Place
    name: str
    content: str


@dataclass(frozen=True, slots=True)
class DeleteRecentMessages:
    """Safety exit: the bot deletes its own recent messages in a place, where the
    platform allows (capability ``delete_messages``)."""

    to: Place


@dataclass(frozen=True, slots=True)
class RemoveMessage:
    """A member's message removed from a shared place (a private command typed in a
    channel), where the platform allows and the bot may. ``message`` is the id the
    event carried (``Event.event_id``), which only the adapter reads. A refusal by the
    platform is logged and the action counts as done: it is never retried."""

    to: Place
    member: MemberRef
    message: str


@dataclass(frozen=True, slots=True)
class Restrict:
    """A newcomer held silent in a shared place until they agree to the code of conduct:
    granting them the onboarding role (``GrantRole``) lets them write again. Sent only
    to a platform that restricts newcomers (capability ``restricts_newcomers``)."""

    to: Place
    member: MemberRef


@dataclass(frozen=True, slots=True)
class GrantRole:
    """``within``: in a deployment of many communities, the spaces (and moderators'
    room) of the community that grants it, on the member's platform: the role is given
    there only. None: wherever the adapter gives roles (a config of one community)."""

    member: MemberRef
    role: str
    within: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class RevokeRole:
    """``within``: as for ``GrantRole``."""

    member: MemberRef
    role: str
    within: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class OpenPrivateSpace:
    space: str
    title: str
    members: tuple[MemberRef, ...] = ()


@dataclass(frozen=True, slots=True)
class NotifyModerators:
    platform: str
    text: str


@dataclass(frozen=True, slots=True)
class ScheduleTimer:
    """Handled by the core (a timer row), never by an adapter."""

    member: MemberRef
    kind: str
    due_at: datetime
    payload: str = ""


Action = (
    Say
    | Ask
    | OfferPrivateChat
    | SendFile
    | DeleteRecentMessages
    | RemoveMessage
    | Restrict
    | GrantRole
    | RevokeRole
    | OpenPrivateSpace
    | NotifyModerators
)
_ACTION_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        Say,
        Ask,
        OfferPrivateChat,
        SendFile,
        DeleteRecentMessages,
        RemoveMessage,
        Restrict,
        GrantRole,
        RevokeRole,
        OpenPrivateSpace,
        NotifyModerators,
    )
}


def action_platform(action: Action) -> str:
    if isinstance(
        action,
        Say | Ask | OfferPrivateChat | SendFile | DeleteRecentMessages | RemoveMessage | Restrict,
    ):
        return action.to.platform
    if isinstance(action, GrantRole | RevokeRole):
        return action.member.platform
    if isinstance(action, OpenPrivateSpace):
        return action.members[0].platform if action.members else ""
    return action.platform


def action_to_json(action: Action) -> str:
    # The action's own fields, shallow: the dataclasses inside (places, members,
    # choices) are encoded as such, without ``dataclasses.asdict``'s deep copies.
    names = type(action).__dataclass_fields__
    return dumps({"type": type(action).__name__, **{n: getattr(action, n) for n in names}})


def action_from_json(text: str) -> Action:
    data: dict[str, Any] = json.loads(text)
    cls = _ACTION_TYPES[data.pop("type")]
    return cls(**{name: _revive(name, value) for name, value in data.items()})  # type: ignore[no-any-return]


def _revive(name: str, value: Any) -> Any:
    if name == "to":
        return Place(value["platform"], PlaceKind(value["kind"]), value["id"])
    if name == "member":
        return MemberRef(**value)
    if name == "members":
        return tuple(MemberRef(**item) for item in value)
    if name == "within" and value is not None:
        return tuple(value)
    if name == "choices":
        return tuple(Choice(**item) for item in value)
    return value


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What an adapter's platform can do; the core adapts to these, never to a name."""

    native_choices: bool = False
    private_spaces: bool = False
    direct_first: bool = True
    roles: bool = True
    delete_messages: bool = False
    files: bool = False
    max_length: int = 4000
    # Newcomers are held silent where they join until they agree (``Restrict``): the
    # community's choice for a platform whose groups have no roles of their own.
    restricts_newcomers: bool = False
