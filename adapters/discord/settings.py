"""Settings of the Discord adapter (``platforms.discord`` in concord.yaml).

No discord.py import here, so ``concord check`` works without the extra. The bot
token never lives in the file: ``token_env`` names the environment variable that
holds it. Example::

    platforms:
      discord:
        token_env: CONCORD_DISCORD_TOKEN
        guild: 123456789012345678              # the server Concord serves
        moderators_channel: 223456789012345678 # where "talk to a person" notices go
        welcome_channel: 323456789012345678    # optional: else the server's system channel
        spaces_channel: 423456789012345678     # optional: parent of private threads
        roles: {member: 523456789012345678}    # neutral role name -> Discord role id
        moderator_roles: [623456789012345678]  # members with these roles are moderators
        mediator_roles: [723456789012345678]
        channels: {rules: 823456789012345678}  # neutral channel names used by the config
        message_content: true                  # read members' words in server channels
        requests_per_second: 40                # REST pace (Discord allows 50 a second)
        guild_ready_timeout: 2                 # seconds to wait for server data at login
        shard_count: 4                         # optional: Discord shards of the whole bot
        shard_ids: [0, 1]                      # optional: the shards this process runs
        api_base: http://127.0.0.1:8080/api    # only for tests: a REST API stand-in
        gateway: ws://127.0.0.1:8080/gateway   # only for tests: a gateway stand-in

Sharding: a server's events come through shard ``(guild_id >> 22) % shard_count``
(direct messages through shard 0). Each process of a deployment runs its own
``shard_ids`` (or ``concord run --discord-shard N/COUNT``) of one common
``shard_count``; without either, one process runs the only shard.

Many communities in one deployment: the deployment's section leaves ``guild`` out and
each community's file names its servers (``spaces: discord: [guild ids]``); the bot
serves them all, a role maps to one id in each server (``roles: {member: [id, id]}``)
and each community's moderators' room and welcome channel are channel ids.

Only ``token_env`` and ``guild`` are required (``guild`` not in a deployment), and the
values above are the defaults where there is one; leave ``api_base`` and ``gateway``
out to talk to Discord itself.
The bot needs the "Server Members" and "Message Content" privileged intents (Developer
Portal, Bot page); ``message_content: false`` does without the second, and then only
buttons and slash commands work in server channels and threads.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlparse

from bot.config import validate as v
from bot.config.community import PlatformSection
from bot.config.fields import ENV_VARIABLE, Field, Section, custom
from bot.core.errors import ConfigError, UsageError
from bot.core.yamlsource import KeyPath, YamlDocument

_ID_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "minimum": 1, "maximum": 2**64 - 1},
        {"type": "string", "pattern": r"^\s*[0-9]{1,20}\s*$"},
    ]
}


def _id_field(name: str, description: str, required: bool = False, **more: Any) -> Field:
    return custom(name, description, _ID_SCHEMA, required=required, nullable=not required, **more)


def _named_ids_field(name: str, what: str, per_server: bool = False) -> Field:
    description = f"Neutral {what} names used by the config -> Discord {what} ids."
    ids = _ID_SCHEMA
    if per_server:
        description += " A list gives one in each server of a deployment."
        ids = {"anyOf": [_ID_SCHEMA, {"type": "array", "items": _ID_SCHEMA}]}
    schema = {"type": "object", "additionalProperties": ids}
    return custom(name, description, schema, nullable=True)


def _ids_field(name: str, description: str) -> Field:
    schema = {"anyOf": [_ID_SCHEMA, {"type": "array", "items": _ID_SCHEMA}]}
    return custom(name, description, schema, nullable=True)


def _url_field(name: str, schemes: str) -> Field:
    schema = {"type": "string", "pattern": rf"^\s*({schemes})://[^/\s]+"}
    return custom(name, "Only for tests: a loopback stand-in.", schema, nullable=True)


SPEC = Section(
    "The Discord platform.",
    (
        custom(
            "token_env",
            "The environment variable that holds the bot token.",
            ENV_VARIABLE,
            required=True,
        ),
        _id_field(
            "guild",
            "The server Concord serves; in a deployment of many communities each"
            " community's file names its servers (spaces.discord) instead.",
            required_alone=True,
        ),
        _id_field("moderators_channel", 'Where "talk to a person" notices go.'),
        _id_field("welcome_channel", "Welcomes go here; else the server's system channel."),
        _id_field("spaces_channel", "The parent of private threads."),
        _named_ids_field("channels", "channel"),
        _named_ids_field("roles", "role", per_server=True),
        _ids_field("moderator_roles", "Members with these roles are moderators."),
        _ids_field("mediator_roles", "Members with these roles are mediators."),
        Field(
            "message_content",
            "boolean",
            "Read members' words in server channels (a privileged intent).",
            default=True,
        ),
        Field(
            "requests_per_second",
            "number",
            "REST pace (Discord allows 50 a second).",
            default=40.0,
            low=0.1,
            high=10_000,
        ),
        Field(
            "guild_ready_timeout",
            "number",
            "Seconds to wait for server data at login.",
            default=2.0,
            low=0.01,
            high=60,
        ),
        Field(
            "shard_count",
            "integer",
            "Discord shards of the whole bot (every process gives the same count).",
            low=1,
            high=100_000,
        ),
        custom(
            "shard_ids",
            "The shards this process runs (0 to shard_count - 1); default: all of them.",
            {"type": "array", "items": {"type": "integer", "minimum": 0}},
            nullable=True,
        ),
        _url_field("api_base", "http|https"),
        _url_field("gateway", "ws|wss"),
    ),
)
KEYS = SPEC.keys
REQUIRED = SPEC.required
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SNOWFLAKE = re.compile(r"^[0-9]{1,20}$")
_MAX_ID = 2**64


@dataclass(frozen=True)
class DiscordSettings:
    token_env: str
    guild: int = 0  # 0: none; a deployment's communities name their servers (guilds)
    token: str = field(default="", repr=False)
    moderators_channel: int | None = None
    welcome_channel: int | None = None
    spaces_channel: int | None = None
    channels: tuple[tuple[str, int], ...] = ()
    roles: tuple[tuple[str, int], ...] = ()
    moderator_roles: tuple[int, ...] = ()
    mediator_roles: tuple[int, ...] = ()
    message_content: bool = True
    # Discord allows 50 requests a second per bot; stay well under it.
    requests_per_second: float = 40.0
    guild_ready_timeout: float = 2.0
    shard_count: int | None = None  # None: one shard, or as many as Discord advises
    shard_ids: tuple[int, ...] = ()  # () with a shard_count: every shard of the count
    api_base: str | None = None  # only for tests: a loopback stand-in of the REST API
    gateway: str | None = None  # only for tests: a loopback stand-in of the gateway
    # The servers the communities of a deployment name (``spaces: discord:``).
    guilds: tuple[int, ...] = ()

    @property
    def many(self) -> bool:
        """A deployment of many communities: each server is one community's."""
        return bool(self.guilds)

    def served_guilds(self) -> tuple[int, ...]:
        return ((self.guild,) if self.guild else ()) + self.guilds

    def role_id(self, name: str) -> int | None:
        """The Discord role id of a neutral role name."""
        return dict(self.roles).get(name)

    def role_ids(self, name: str) -> tuple[int, ...]:
        """Every Discord role of a neutral role name (one in each server)."""
        return tuple(role for known, role in self.roles if known == name)

    def neutral_roles(self, role_ids: set[int]) -> tuple[str, ...]:
        """The neutral roles ("moderator", "mediator") a member's Discord roles give."""
        found = []
        if role_ids & set(self.moderator_roles):
            found.append("moderator")
        if role_ids & set(self.mediator_roles):
            found.append("mediator")
        return tuple(found)

    def guild_shard(self, guild: int | None = None) -> int:
        """The shard whose gateway connection carries a server's events."""
        return ((self.guild if guild is None else guild) >> 22) % (self.shard_count or 1)

    def runs(self, guild: int) -> bool:
        """Whether this process receives this server's events (runs its shard)."""
        return not self.shard_ids or self.guild_shard(guild) in self.shard_ids

    def runs_guild_shard(self) -> bool:
        """Whether this process receives the events of a server it serves (of one of
        them, in a deployment of many)."""
        return any(self.runs(guild) for guild in self.served_guilds())

    def elsewhere(self) -> tuple[int, ...]:
        """The served servers on shards this process does not run."""
        return tuple(g for g in self.served_guilds() if not self.runs(g))


def parse(section: PlatformSection, check_only: bool = False) -> DiscordSettings:
    doc, base, data = section.doc, section.path, section.data
    SPEC.check(doc, base, data)

    def at(key: str) -> KeyPath:
        return (*base, key)

    token_env = v.text(doc, at("token_env"), data["token_env"])
    if not _ENV_NAME.fullmatch(token_env):
        raise doc.error(at("token_env"), "expected the name of an environment variable")
    token = "" if check_only else os.environ.get(token_env, "").strip()
    if not check_only and not token:
        raise ConfigError(
            doc.name,
            doc.line(at("token_env")),
            f"{'.'.join(base)}.token_env",
            f"environment variable {token_env} is not set",
        )
    shard_count = None
    if data.get("shard_count") is not None:
        shard_count = SPEC.read(doc, base, data, "shard_count")
    if data.get("guild") is None and not doc.data.get("communities"):
        raise doc.error(at("guild"), "guild is required: the id of the server Concord serves")
    return DiscordSettings(
        token_env=token_env,
        token=token,
        guild=_id(doc, at("guild"), data["guild"]) if data.get("guild") is not None else 0,
        moderators_channel=_optional_id(doc, at("moderators_channel"), data),
        welcome_channel=_optional_id(doc, at("welcome_channel"), data),
        spaces_channel=_optional_id(doc, at("spaces_channel"), data),
        channels=_named_ids(doc, at("channels"), data.get("channels"), "channel"),
        roles=_named_ids(doc, at("roles"), data.get("roles"), "role"),
        moderator_roles=_ids(doc, at("moderator_roles"), data.get("moderator_roles")),
        mediator_roles=_ids(doc, at("mediator_roles"), data.get("mediator_roles")),
        message_content=SPEC.read(doc, base, data, "message_content"),
        requests_per_second=SPEC.read(doc, base, data, "requests_per_second"),
        guild_ready_timeout=SPEC.read(doc, base, data, "guild_ready_timeout"),
        shard_count=shard_count,
        shard_ids=_shard_ids(doc, at("shard_ids"), data.get("shard_ids"), shard_count),
        api_base=_url(doc, at("api_base"), data.get("api_base"), ("http", "https")),
        gateway=_url(doc, at("gateway"), data.get("gateway"), ("ws", "wss")),
    )


def _shard_ids(doc: YamlDocument, path: KeyPath, ids: Any, count: int | None) -> tuple[int, ...]:
    if ids is None:
        return ()
    if count is None:
        raise doc.error(path, "shard_ids needs shard_count beside it (the bot's shards)")
    if not isinstance(ids, list) or not ids:
        raise doc.error(path, "expected a list of shard numbers such as [0, 1]")
    for i, shard in enumerate(ids):
        if isinstance(shard, bool) or not isinstance(shard, int) or not 0 <= shard < count:
            raise doc.error((*path, i), f"expected a shard number from 0 to {count - 1}")
    return tuple(sorted(set(ids)))


def with_shard(settings: DiscordSettings, shard: str) -> DiscordSettings:
    """The settings of a process that runs the one shard ``N/COUNT`` (the
    ``--discord-shard`` option); a UsageError, one line, when it is no such shard."""
    number, _, count = shard.partition("/")
    if not (number.strip().isdigit() and count.strip().isdigit()):
        raise UsageError(f"--discord-shard {shard!r}: expected N/COUNT, such as 0/4")
    n, total = int(number), int(count)
    if not 0 <= n < total:
        raise UsageError(f"--discord-shard {shard!r}: the shard number must be from 0 to COUNT - 1")
    return replace(settings, shard_ids=(n,), shard_count=total)


def refuse_split(settings: DiscordSettings, spaces: dict[str, tuple[str, ...]]) -> None:
    """One line (a UsageError) when this process runs the shards of some of one
    community's servers but not all: one process delivers a community's actions
    (``guilds.delivers_for``), and a role is granted in each of its servers."""
    for community, named in spaces.items():
        guilds = [int(g) for g in named if g.isdigit()]
        if any(map(settings.runs, guilds)) and not all(map(settings.runs, guilds)):
            shards = sorted({settings.guild_shard(g) for g in guilds})
            raise UsageError(
                f"Discord shards: community {community}'s servers are on shards"
                f" {', '.join(map(str, shards))}; run them in one process (shard_ids: {shards})"
            )


def with_guilds(settings: DiscordSettings, guilds: tuple[str, ...]) -> DiscordSettings:
    """The settings with the servers a deployment's communities name (``spaces``)."""
    known = set(settings.served_guilds())
    more = tuple(int(g) for g in guilds if g.isdigit() and int(g) not in known)
    return replace(settings, guilds=settings.guilds + tuple(dict.fromkeys(more)))


def _id(doc: YamlDocument, path: KeyPath, value: Any) -> int:
    """A Discord id (a snowflake): a whole number, in YAML as a number or a string."""
    if isinstance(value, str) and _SNOWFLAKE.fullmatch(value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < _MAX_ID:
        raise doc.error(path, "expected a Discord id (a number such as 123456789012345678)")
    return value


def _optional_id(doc: YamlDocument, path: KeyPath, data: dict[str, Any]) -> int | None:
    value = data.get(str(path[-1]))
    return None if value is None else _id(doc, path, value)


def _ids(doc: YamlDocument, path: KeyPath, value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        value = [value]
    return tuple(_id(doc, (*path, i), item) for i, item in enumerate(value))


def _named_ids(
    doc: YamlDocument, path: KeyPath, value: Any, what: str
) -> tuple[tuple[str, int], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise doc.error(path, f"expected a mapping of {what} names to Discord {what} ids")
    found = []
    for name, item in value.items():
        where = (*path, str(name))
        items = item if isinstance(item, list) and what == "role" else [item]
        for i, one in enumerate(items):
            at = (*where, i) if isinstance(item, list) else where
            found.append((v.text(doc, where, name), _id(doc, at, one)))
    return tuple(found)


def _url(doc: YamlDocument, path: KeyPath, value: Any, schemes: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    text = v.text(doc, path, value).strip()
    url = urlparse(text)
    if url.scheme not in schemes or not url.netloc:
        raise doc.error(path, f"expected a {' or '.join(schemes)} URL")
    return text.rstrip("/")
