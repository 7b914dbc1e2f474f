"""Settings of the Telegram adapter (``platforms.telegram`` in concord.yaml).

No python-telegram-bot import here, so ``concord check`` works without the extra.
The token never lives in the file: ``token_env`` names the environment variable
that holds it. Example::

    platforms:
      telegram:
        token_env: CONCORD_TELEGRAM_TOKEN
        groups: [-1001234567890]          # groups the bot serves; others are ignored
        moderators_chat: -1009876543210   # moderator notices; moderators' commands typed here
        restrict_until_acknowledged: true # newcomers may not post until they agree
        member_role: member               # the role whose grant lifts the restriction
        moderator_ids: [111111111]        # Telegram user ids with the moderator role
        mediator_ids: []
        channels: {welcome: -1001234567890}  # neutral channel names used by the config
        poll_timeout: 30                  # seconds a getUpdates long poll waits (1-60)
        base_url: https://api.telegram.org/bot  # the Bot API; a local Bot API server
                                          #   or a test stand-in goes here
        webhook:                          # updates POSTed by Telegram instead of polling
          listen: 127.0.0.1:8443          # where this process's endpoint listens
          path: /telegram
          secret_token_env: CONCORD_TELEGRAM_WEBHOOK_SECRET  # checked on every request
          url: https://public.example/telegram  # the public address Telegram posts to

Every key but ``token_env`` is optional; the values above are the defaults where
there is one (``restrict_until_acknowledged`` defaults to false). Without ``webhook``
Concord polls (getUpdates); with it, each process listens on ``listen`` (behind a load
balancer any process may receive any update) and answers Telegram only once the update
is committed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from bot.config import validate as v
from bot.config.community import PlatformSection
from bot.config.fields import ENV_VARIABLE, Field, Section, custom
from bot.core.yamlsource import KeyPath, YamlDocument

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
_ID: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "not": {"const": 0}},
        {"type": "string", "pattern": r"^\s*-?[0-9]{1,16}\s*$"},
    ]
}
_GROUP: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "maximum": -1},
        {"type": "string", "pattern": r"^\s*-[0-9]{1,16}\s*$"},
    ]
}
_USER: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "minimum": 1},
        {"type": "string", "pattern": r"^\s*[0-9]{1,16}\s*$"},
    ]
}


_LISTEN = r"^\s*\[?[0-9A-Za-z_.:-]+\]?:[0-9]{1,5}\s*$"
WEBHOOK = Section(
    "Updates POSTed by Telegram to this process instead of polling.",
    (
        custom(
            "listen",
            "host:port this process's endpoint listens on (loopback by default).",
            {"type": "string", "pattern": _LISTEN},
            default="127.0.0.1:8443",
        ),
        custom(
            "path",
            "The endpoint's path.",
            {"type": "string", "pattern": r"^/[^\s?#]*$"},
            default="/telegram",
        ),
        custom(
            "secret_token_env",
            "The environment variable that holds the webhook's secret token.",
            ENV_VARIABLE,
            required=True,
        ),
        custom(
            "url",
            "The public HTTPS address Telegram posts updates to.",
            {"type": "string", "pattern": r"^https://"},
            required=True,
        ),
    ),
)

SPEC = Section(
    "The Telegram platform.",
    (
        custom(
            "token_env",
            "The environment variable that holds the bot token.",
            ENV_VARIABLE,
            required=True,
        ),
        custom(
            "groups",
            "Groups the bot serves (negative ids); others are ignored.",
            {"type": ["array", "null"], "items": _GROUP},
            default=[],
        ),
        custom(
            "moderators_chat",
            "Moderator notices; moderators' commands typed here.",
            _ID,
            nullable=True,
        ),
        Field(
            "member_role",
            "text",
            "The role whose grant lifts the restriction.",
            default="member",
        ),
        Field(
            "restrict_until_acknowledged",
            "boolean",
            "Newcomers may not post until they agree.",
            default=False,
        ),
        custom(
            "moderator_ids",
            "Telegram user ids with the moderator role.",
            {"type": ["array", "null"], "items": _USER},
            default=[],
        ),
        custom(
            "mediator_ids",
            "Telegram user ids with the mediator role.",
            {"type": ["array", "null"], "items": _USER},
            default=[],
        ),
        custom(
            "channels",
            "Neutral channel names used by the config -> chat ids.",
            {"type": ["object", "null"], "additionalProperties": _ID},
            default={},
        ),
        custom(
            "base_url",
            "The Bot API; a local Bot API server or a test stand-in goes here.",
            {"type": "string", "pattern": r"^https?://"},
            default=DEFAULT_BASE_URL,
        ),
        Field(
            "poll_timeout",
            "integer",
            "Seconds a getUpdates long poll waits.",
            default=30,
            low=1,
            high=60,
        ),
        Field("webhook", "section", WEBHOOK.description, section=WEBHOOK),
    ),
)
KEYS = SPEC.keys
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Telegram ids fit in 52 bits; anything larger is a typo.
_MAX_ID = 2**52
# What Telegram accepts as a webhook's secret token.
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True)
class Webhook:
    """Where this process takes Telegram's POSTed updates, and the secret they carry."""

    host: str
    port: int
    path: str
    secret_token_env: str
    url: str
    secret: str = field(default="", repr=False)


@dataclass(frozen=True)
class TelegramSettings:
    token_env: str
    token: str = field(default="", repr=False)
    groups: tuple[int, ...] = ()
    moderators_chat: int | None = None
    member_role: str = "member"
    restrict_until_acknowledged: bool = False
    moderator_ids: tuple[int, ...] = ()
    mediator_ids: tuple[int, ...] = ()
    channels: tuple[tuple[str, int], ...] = ()
    base_url: str = DEFAULT_BASE_URL
    poll_timeout: int = 30
    webhook: Webhook | None = None

    def channel_chat(self, name: str) -> int | None:
        """The chat id of a neutral channel name, or of a channel given by its id."""
        for channel, chat in self.channels:
            if channel == name:
                return chat
        try:
            return int(name)
        except ValueError:
            return None


def parse(section: PlatformSection, check_only: bool = False) -> TelegramSettings:
    doc, base, data = section.doc, section.path, section.data
    SPEC.check(doc, base, data)
    token_env = v.text(doc, (*base, "token_env"), data["token_env"])
    if not _ENV_NAME.fullmatch(token_env):
        raise doc.error((*base, "token_env"), "expected the name of an environment variable")
    token = "" if check_only else os.environ.get(token_env, "").strip()
    if not check_only and not token:
        raise doc.error((*base, "token_env"), f"environment variable {token_env} is not set")
    groups = _ids(doc, (*base, "groups"), data.get("groups", []))
    for i, group in enumerate(groups):
        if group >= 0:
            raise doc.error(
                (*base, "groups", i), "group chat ids are negative (for example -1001234567890)"
            )
    moderators_chat = data.get("moderators_chat")
    member_role = data.get("member_role", SPEC.default("member_role"))
    base_url = v.text(doc, (*base, "base_url"), data.get("base_url", DEFAULT_BASE_URL))
    if not base_url.startswith(("https://", "http://")):
        raise doc.error((*base, "base_url"), "expected an http(s) URL such as " + DEFAULT_BASE_URL)
    return TelegramSettings(
        token_env=token_env,
        token=token,
        groups=tuple(groups),
        moderators_chat=(
            _id(doc, (*base, "moderators_chat"), moderators_chat)
            if moderators_chat is not None
            else None
        ),
        member_role=v.text(doc, (*base, "member_role"), member_role),
        restrict_until_acknowledged=SPEC.read(doc, base, data, "restrict_until_acknowledged"),
        moderator_ids=tuple(_users(doc, (*base, "moderator_ids"), data.get("moderator_ids", []))),
        mediator_ids=tuple(_users(doc, (*base, "mediator_ids"), data.get("mediator_ids", []))),
        channels=_channels(doc, (*base, "channels"), data.get("channels", {})),
        base_url=base_url.rstrip("/"),
        poll_timeout=SPEC.read(doc, base, data, "poll_timeout"),
        webhook=_webhook(doc, (*base, "webhook"), data.get("webhook"), check_only),
    )


def _webhook(doc: YamlDocument, path: KeyPath, value: Any, check_only: bool) -> Webhook | None:
    if value is None:
        return None
    data = WEBHOOK.check(doc, path, value)
    listen = v.text(doc, (*path, "listen"), data.get("listen", WEBHOOK.default("listen")))
    host, _, port = listen.strip().rpartition(":")
    if not re.fullmatch(_LISTEN, listen) or not host or not 0 < int(port) < 65536:
        raise doc.error((*path, "listen"), "expected host:port, such as 127.0.0.1:8443")
    route = v.text(doc, (*path, "path"), data.get("path", WEBHOOK.default("path")))
    if not route.startswith("/") or any(c in route for c in " ?#"):
        raise doc.error((*path, "path"), "expected a path such as /telegram")
    url = v.text(doc, (*path, "url"), data["url"])
    if not url.startswith("https://"):
        raise doc.error((*path, "url"), "Telegram posts only to an https:// address")
    env = v.text(doc, (*path, "secret_token_env"), data["secret_token_env"])
    if not _ENV_NAME.fullmatch(env):
        raise doc.error((*path, "secret_token_env"), "expected the name of an environment variable")
    secret = "" if check_only else os.environ.get(env, "").strip()
    if not check_only and not _SECRET.fullmatch(secret):
        raise doc.error(
            (*path, "secret_token_env"),
            f"environment variable {env} must hold 1-256 characters: letters, digits, _ or -",
        )
    return Webhook(host.strip("[] "), int(port), route, env, url, secret)


def _id(doc: YamlDocument, path: KeyPath, value: Any) -> int:
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,16}", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value == 0:
        raise doc.error(path, "expected a Telegram id (a whole number such as -1001234567890)")
    if abs(value) >= _MAX_ID:
        raise doc.error(path, "too large for a Telegram id")
    return value


def _ids(doc: YamlDocument, path: KeyPath, value: Any) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise doc.error(path, "expected a list of Telegram ids")
    return [_id(doc, (*path, i), item) for i, item in enumerate(value)]


def _users(doc: YamlDocument, path: KeyPath, value: Any) -> list[int]:
    users = _ids(doc, path, value)
    for i, user in enumerate(users):
        if user < 0:
            raise doc.error((*path, i), "user ids are positive (negative ids are group chats)")
    return users


def _channels(doc: YamlDocument, path: KeyPath, value: Any) -> tuple[tuple[str, int], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise doc.error(path, "expected a mapping of channel names to chat ids")
    return tuple(
        (v.text(doc, (*path, name), name), _id(doc, (*path, name), chat))
        for name, chat in value.items()
    )
