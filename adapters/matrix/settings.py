"""Settings of the Matrix adapter (``platforms.matrix``), validated strictly.

No matrix-nio import here, so ``concord check`` runs without the extra. The access
token never lives in the file: ``token_env`` names the environment variable.

Example (every key but the first three is optional)::

    platforms:
      matrix:
        homeserver: https://matrix.example.org
        user_id: "@concord:example.org"
        token_env: CONCORD_MATRIX_TOKEN       # names the variable with the access token
        device_id: CONCORDBOT                 # default: the token's device (whoami)
        rooms: ["#community:example.org"]     # rooms served: joins there are welcomed
        moderators_room: "#moderators:example.org"   # notices go here; moderator commands
                                              #   typed here are answered here
        members_room: "#members:example.org"  # for role_mode: room
        role_mode: power                      # power: a role is a power level in the
        role_powers: {member: 1}              #   served rooms; room: an invitation to
                                              #   members_room (taken back by a kick)
        moderator_power: 50                   # this level or more: role "moderator"
        moderators: ["@alice:example.org"]    # ... and these members, whatever their level
        mediators: ["@bo:example.org"]        # role "mediator"
        store_path: matrix-store              # crypto store (relative to this file);
                                              #   default: next to the database. Keep it
                                              #   and back it up: without it the bot can
                                              #   no longer decrypt.
        store_key_env: CONCORD_MATRIX_STORE_KEY   # optional passphrase for that store
        encryption: true                      # read and answer in encrypted rooms
        command_prefix: "!concord"            # clients keep "/" for themselves
        reactions: true                       # add 1️⃣ 2️⃣ … under short questions
        send_rate: 1.0                        # messages a second, and bursts: match the
        send_burst: 10                        #   homeserver's rc_message for the bot

In a deployment of many communities the bot also joins and serves the rooms each
community file names (``spaces: matrix: [...]``) and each one's ``moderators.channel``
room; people's roles are then the communities' own (``moderators``, ``mediators`` and
``members_room`` are refused here), and power levels count in the event's community's
rooms only (adapters/matrix/roles.py).

Trust: the bot encrypts for every device of the members in a room, verified or not
(``ignore_unverified_devices``), the usual choice for a bot nobody verifies by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from adapters.settings_checks import (
    COMMAND_PREFIX,
    command_prefix,
    env_variable,
    file_path,
    secret,
    send_rate,
)
from bot.config import validate as v
from bot.config.community import PlatformSection
from bot.config.fields import ENV_VARIABLE, Field, Section, custom

_USER: dict[str, Any] = {"type": "string", "pattern": r"^@[^ ]*:[^ ]*$"}
_ROOM: dict[str, Any] = {"type": "string", "pattern": r"^\s*(![^ ]+|#[^ ]*:[^ ]*)\s*$"}
_USERS: dict[str, Any] = {"anyOf": [_USER, {"type": "array", "items": _USER}]}


SPEC = Section(
    "The Matrix platform.",
    (
        custom(
            "homeserver",
            "The homeserver's URL, such as https://matrix.example.org.",
            {"type": "string", "pattern": r"^\s*https?://[^/\s]+"},
            required=True,
        ),
        custom("user_id", "The bot's user id, such as @concord:example.org.", _USER, required=True),
        custom(
            "token_env",
            "The environment variable with the access token.",
            ENV_VARIABLE,
            required=True,
        ),
        Field("device_id", "text", "Default: the token's device (whoami).", nullable=True),
        custom(
            "rooms",
            "Rooms served: joins there are welcomed.",
            {"anyOf": [_ROOM, {"type": "array", "items": _ROOM}]},
            default=[],
        ),
        custom(
            "moderators_room",
            "Notices go here; moderator commands here are answered here.",
            _ROOM,
            nullable=True,
        ),
        custom("members_room", "For role_mode: room.", _ROOM, nullable=True),
        Field(
            "role_mode",
            "choice",
            "power: a role is a power level in the served rooms; room: an invitation to "
            "members_room.",
            default="power",
            choices=("power", "room"),
        ),
        custom(
            "role_powers",
            "Role names -> power levels (0-100).",
            {
                "type": "object",
                "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 100},
            },
            default={"member": 1},
        ),
        Field(
            "moderator_power",
            "integer",
            'This power level or more: role "moderator".',
            default=50,
            low=1,
            high=1_000_000,
        ),
        custom(
            "moderators", "These members are moderators, whatever their level.", _USERS, default=[]
        ),
        custom("mediators", 'Members with role "mediator".', _USERS, default=[]),
        Field(
            "store_path",
            "text",
            "The crypto store (relative to this file); default: next to the database.",
            nullable=True,
        ),
        custom(
            "store_key_env", "An optional passphrase for that store.", ENV_VARIABLE, nullable=True
        ),
        Field("encryption", "boolean", "Read and answer in encrypted rooms.", default=True),
        custom(
            "command_prefix",
            "One word such as !concord (clients keep /).",
            COMMAND_PREFIX,
            default="!concord",
        ),
        Field("reactions", "boolean", "Add 1️⃣ 2️⃣ … under short questions.", default=True),
        custom(
            "send_rate",
            "Messages a second: match the homeserver's rc_message for the bot.",
            {"type": "number", "exclusiveMinimum": 0, "maximum": 10_000},
            default=1.0,
        ),
        Field("send_burst", "integer", "Messages in a burst.", default=10, low=1, high=10_000),
    ),
)
KEYS = SPEC.keys
REQUIRED = SPEC.required


@dataclass(frozen=True)
class Settings:
    homeserver: str
    user_id: str
    token_env: str
    token: str = field(default="", repr=False)
    device_id: str | None = None
    rooms: tuple[str, ...] = ()
    moderators_room: str | None = None
    members_room: str | None = None
    role_mode: str = "power"
    role_powers: dict[str, int] = field(default_factory=lambda: {"member": 1})
    moderator_power: int = 50
    moderators: tuple[str, ...] = ()
    mediators: tuple[str, ...] = ()
    # None: a folder "matrix-store" next to the Concord database.
    store_path: Path | None = None
    store_key_env: str | None = None
    store_key: str = field(default="", repr=False)
    encryption: bool = True
    command_prefix: str = "!concord"
    reactions: bool = True
    send_rate: float = 1.0
    send_burst: int = 10


def parse(section: PlatformSection, check_only: bool = False) -> Settings:
    doc, base = section.doc, section.path
    data = SPEC.check(doc, base, section.data)

    def at(key: str) -> tuple[str, ...]:
        return (*base, key)

    homeserver = v.text(doc, at("homeserver"), data["homeserver"]).rstrip("/")
    url = urlparse(homeserver)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise doc.error(at("homeserver"), "expected a URL such as https://matrix.example.org")
    user_id = _user_id(section, "user_id", data["user_id"])
    token_env = env_variable(section, "token_env", data["token_env"])
    token = secret(section, "token_env", token_env, check_only).strip()
    store_key_env = (
        env_variable(section, "store_key_env", data["store_key_env"])
        if data.get("store_key_env") is not None
        else None
    )
    store_key = secret(section, "store_key_env", store_key_env, check_only)
    rooms = tuple(
        _room(section, ("rooms", i), room)
        for i, room in enumerate(v.text_list(doc, at("rooms"), data.get("rooms", [])))
    )
    role_mode = SPEC.read(doc, base, data, "role_mode")
    members_room = _optional_room(section, "members_room", data.get("members_room"))
    if role_mode == "room" and members_room is None:
        raise doc.error(at("role_mode"), "role_mode 'room' needs members_room")
    return Settings(
        homeserver=homeserver,
        user_id=user_id,
        token_env=token_env,
        token=token,
        device_id=(
            v.text(doc, at("device_id"), data["device_id"])
            if data.get("device_id") is not None
            else None
        ),
        rooms=rooms,
        moderators_room=_optional_room(section, "moderators_room", data.get("moderators_room")),
        members_room=members_room,
        role_mode=role_mode,
        role_powers=_powers(section, data.get("role_powers", SPEC.default("role_powers"))),
        moderator_power=SPEC.read(doc, base, data, "moderator_power"),
        moderators=_users(section, "moderators", data.get("moderators", [])),
        mediators=_users(section, "mediators", data.get("mediators", [])),
        store_path=file_path(section, "store_path", data.get("store_path")),
        store_key_env=store_key_env,
        store_key=store_key,
        encryption=SPEC.read(doc, base, data, "encryption"),
        command_prefix=command_prefix(
            section, data.get("command_prefix", SPEC.default("command_prefix"))
        ),
        reactions=SPEC.read(doc, base, data, "reactions"),
        send_rate=send_rate(section, data.get("send_rate", SPEC.default("send_rate"))),
        send_burst=SPEC.read(doc, base, data, "send_burst"),
    )


def _user_id(section: PlatformSection, key: str | tuple[str | int, ...], value: Any) -> str:
    path = (*section.path, *((key,) if isinstance(key, str) else key))
    text = v.text(section.doc, path, value)
    if not text.startswith("@") or ":" not in text or " " in text:
        raise section.doc.error(path, "expected a Matrix user id such as @concord:example.org")
    return text


def _users(section: PlatformSection, key: str, value: Any) -> tuple[str, ...]:
    items = v.text_list(section.doc, (*section.path, key), value)
    return tuple(_user_id(section, (key, i), item) for i, item in enumerate(items))


def _room(section: PlatformSection, key: tuple[str | int, ...], value: Any) -> str:
    path = (*section.path, *key)
    text = v.text(section.doc, path, value).strip()
    if not is_room(text):
        raise section.doc.error(
            path, "expected a room id (!abc:example.org) or alias (#room:example.org)"
        )
    return text


def is_room(text: str) -> bool:
    """A room id (from room version 12 without a server part) or an alias."""
    if " " in text or len(text) < 2:
        return False
    return text[0] == "!" or (text[0] == "#" and ":" in text)


def _optional_room(section: PlatformSection, key: str, value: Any) -> str | None:
    return None if value is None else _room(section, (key,), value)


def _powers(section: PlatformSection, value: Any) -> dict[str, int]:
    path = (*section.path, "role_powers")
    if not isinstance(value, dict):
        raise section.doc.error(path, "expected a mapping of role names to power levels")
    return {
        str(role): v.integer(section.doc, (*path, str(role)), level, 0, 100)
        for role, level in value.items()
    }
