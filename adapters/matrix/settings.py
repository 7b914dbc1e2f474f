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

Trust: the bot encrypts for every device of the members in a room, verified or not
(``ignore_unverified_devices``), the usual choice for a bot nobody verifies by hand.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bot.config import validate as v
from bot.config.community import PlatformSection
from bot.core.errors import ConfigError

KEYS = (
    "homeserver",
    "user_id",
    "token_env",
    "device_id",
    "rooms",
    "moderators_room",
    "members_room",
    "role_mode",
    "role_powers",
    "moderator_power",
    "moderators",
    "mediators",
    "store_path",
    "store_key_env",
    "encryption",
    "command_prefix",
    "reactions",
    "send_rate",
    "send_burst",
)
REQUIRED = ("homeserver", "user_id", "token_env")


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
    data = v.mapping(doc, base, section.data, KEYS, REQUIRED)

    def at(key: str) -> tuple[str, ...]:
        return (*base, key)

    homeserver = v.text(doc, at("homeserver"), data["homeserver"]).rstrip("/")
    url = urlparse(homeserver)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise doc.error(at("homeserver"), "expected a URL such as https://matrix.example.org")
    user_id = _user_id(section, "user_id", data["user_id"])
    token_env = _variable(section, "token_env", data["token_env"])
    token = _secret(section, "token_env", token_env, check_only).strip()
    store_key_env = (
        _variable(section, "store_key_env", data["store_key_env"])
        if data.get("store_key_env") is not None
        else None
    )
    store_key = _secret(section, "store_key_env", store_key_env, check_only)
    rooms = tuple(
        _room(section, ("rooms", i), room)
        for i, room in enumerate(v.text_list(doc, at("rooms"), data.get("rooms", [])))
    )
    role_mode = v.one_of(doc, at("role_mode"), data.get("role_mode", "power"), ("power", "room"))
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
        role_powers=_powers(section, data.get("role_powers", {"member": 1})),
        moderator_power=v.integer(
            doc, at("moderator_power"), data.get("moderator_power", 50), 1, 1_000_000
        ),
        moderators=_users(section, "moderators", data.get("moderators", [])),
        mediators=_users(section, "mediators", data.get("mediators", [])),
        store_path=_store_path(section, data.get("store_path")),
        store_key_env=store_key_env,
        store_key=store_key,
        encryption=v.boolean(doc, at("encryption"), data.get("encryption", True)),
        command_prefix=_prefix(section, data.get("command_prefix", "!concord")),
        reactions=v.boolean(doc, at("reactions"), data.get("reactions", True)),
        send_rate=_rate(section, data.get("send_rate", 1.0)),
        send_burst=v.integer(doc, at("send_burst"), data.get("send_burst", 10), 1, 10_000),
    )


def _secret(section: PlatformSection, key: str, variable: str | None, check_only: bool) -> str:
    """The value of the environment variable ``key`` names; a missing one stops the
    start (``concord check`` only checks the file)."""
    value = os.environ.get(variable, "") if variable else ""
    if variable and not value and not check_only:
        doc, path = section.doc, (*section.path, key)
        raise ConfigError(
            doc.name,
            doc.line(path),
            ".".join(map(str, path)),
            f"environment variable {variable} is not set",
        )
    return value


def _store_path(section: PlatformSection, value: Any) -> Path | None:
    """The encryption store's folder; a relative one is beside the config file."""
    if value is None:
        return None
    doc = section.doc
    path = Path(v.text(doc, (*section.path, "store_path"), value)).expanduser()
    return path if path.is_absolute() else Path(doc.name).resolve().parent / path


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


def _variable(section: PlatformSection, key: str, value: Any) -> str:
    path = (*section.path, key)
    name = v.text(section.doc, path, value)
    if not name.replace("_", "").isalnum() or name[0].isdigit():
        raise section.doc.error(path, "expected the name of an environment variable")
    return name


def _powers(section: PlatformSection, value: Any) -> dict[str, int]:
    path = (*section.path, "role_powers")
    if not isinstance(value, dict):
        raise section.doc.error(path, "expected a mapping of role names to power levels")
    return {
        str(role): v.integer(section.doc, (*path, str(role)), level, 0, 100)
        for role, level in value.items()
    }


def _prefix(section: PlatformSection, value: Any) -> str:
    path = (*section.path, "command_prefix")
    text = v.text(section.doc, path, value)
    if any(c.isspace() for c in text) or text.startswith("/"):
        raise section.doc.error(path, "expected one word such as !concord (clients keep '/')")
    return text


def _rate(section: PlatformSection, value: Any) -> float:
    path = (*section.path, "send_rate")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 10_000:
        raise section.doc.error(path, "expected messages per second, such as 0.2 or 5")
    return float(value)
