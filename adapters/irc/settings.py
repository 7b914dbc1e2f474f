"""Settings of the IRC adapter (``platforms.irc`` in concord.yaml), validated strictly.

No pydle import here, so ``concord check`` works without the extra. Passwords never
live in the file: ``password_env`` names the environment variable. Example::

    platforms:
      irc:
        host: irc.libera.chat
        port: 6697                      # default: 6697 with TLS, 6667 without
        tls: true                       # default true
        tls_verify: true                # check the server's certificate (default true)
        nick: Concord                   # members write /msg Concord help
        username: concord               # default: the nick in lower case
        operator: "alice (alice on Libera.Chat)"   # who runs the bot: its realname says
                                        #   "Concord community bot, run by alice (...)"
        sasl: plain                     # plain (account + password), external (client
        sasl_username: concord          #   certificate) or none; default: plain when
        password_env: CONCORD_IRC_PASSWORD   #   password_env is set, else none
        client_cert: concord.pem        # for sasl: external (relative to this file)
        client_key: concord.key         # optional when the key is in client_cert
        channels: ["#example-community"]     # the only channels joined (ask the channel
        moderators_channel: "#example-mods"  #   operators first); notices go to the
                                        #   moderators' channel, and moderators'
                                        #   commands typed there are answered there
        channel_names: {welcome: "#example-community"}   # neutral channel names
        moderator_masks: ["*!*@user/alice"]  # nick!user@host patterns: use the cloak
        mediator_masks: []              #   (a nick alone proves nothing on IRC)
        command_prefix: "!concord"      # commands in channels: !concord help
        send_rate: 1.0                  # lines a second, with bursts of send_burst:
        send_burst: 4                   #   no network publishes a limit; this is safe

Members are known by their nick (``irc:ana``): on a network with services, ask members
to register their nick, and give roles by mask (the cloak services set), never by nick.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

_NICK: dict[str, Any] = {
    "type": "string",
    "pattern": r"^[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,29}$",
}
_CHANNEL: dict[str, Any] = {"type": "string", "pattern": r"^\s*[#&][^ ,\x07]{0,63}\s*$"}
# nick!user@host: a "!" and an "@" in either order, no space (as ``_masks`` checks).
_MASK: dict[str, Any] = {"type": "string", "pattern": "^[^ ]*(![^ ]*@|@[^ ]*!)[^ ]*$"}


def _one_or_list(item: dict[str, Any]) -> dict[str, Any]:
    """One text or a list of them, as the loader reads a list (``pattern`` applies to
    the text alone, ``items`` to the list alone)."""
    return {"type": ["string", "array"], "pattern": item["pattern"], "items": item}


_MASKS = _one_or_list(_MASK)
_OPERATOR = r"^\s*[^\x00-\x1f\s](?:[^\x00-\x1f]{0,78}[^\x00-\x1f\s])?\s*$"
SPEC = Section(
    "The IRC platform.",
    (
        Field("host", "text", "The IRC server.", required=True),
        Field("port", "integer", "6697 with TLS, 6667 without (the default).", low=1, high=65535),
        Field("tls", "boolean", "Connect with TLS.", default=True),
        Field("tls_verify", "boolean", "Check the server's certificate.", default=True),
        custom("nick", "The bot's nick: members write /msg NICK help.", _NICK, default="Concord"),
        custom("username", "The user name (default: the nick in lower case).", _NICK),
        custom(
            "operator",
            "Who runs the bot: its realname names them (bot policies ask it).",
            # 1 to 80 characters once trimmed, none a control one; a number is text too
            {"type": ["string", "number"], "pattern": _OPERATOR},
            required=True,
        ),
        Field(
            "sasl",
            "choice",
            "SASL: plain (password_env), external (client_cert) or none.",
            choices=("none", "plain", "external"),
        ),
        Field("sasl_username", "text", "The services account (default: the nick)."),
        custom(
            "password_env",
            "The environment variable with the SASL password.",
            ENV_VARIABLE,
            nullable=True,
        ),
        Field("client_cert", "text", "For sasl: external (relative to this file).", nullable=True),
        Field("client_key", "text", "The key, when not in client_cert.", nullable=True),
        custom(
            "channels",
            "The only channels joined.",
            _one_or_list(_CHANNEL),
            required=True,
        ),
        custom(
            "moderators_channel",
            "Moderator notices; moderators' commands typed here.",
            _CHANNEL,
            nullable=True,
        ),
        custom(
            "channel_names",
            "Neutral channel names used by the config -> IRC channels.",
            {"type": "object", "additionalProperties": _CHANNEL},
            default={},
        ),
        custom("moderator_masks", "nick!user@host patterns with the moderator role.", _MASKS),
        custom("mediator_masks", "nick!user@host patterns with the mediator role.", _MASKS),
        custom(
            "command_prefix",
            "One word such as !concord for commands in channels.",
            COMMAND_PREFIX,
            default="!concord",
        ),
        custom(
            "send_rate",
            "Lines a second (no network publishes a limit; 1 is safe).",
            {"type": "number", "exclusiveMinimum": 0, "maximum": 10_000},
            default=1.0,
        ),
        Field("send_burst", "integer", "Lines in a burst.", default=4, low=1, high=10_000),
    ),
)
KEYS = SPEC.keys
REQUIRED = SPEC.required
_NICK_FIRST = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ[]\\`_^{|}"
_NICK_REST = _NICK_FIRST + "0123456789-"


@dataclass(frozen=True)
class IrcSettings:
    host: str
    operator: str
    channels: tuple[str, ...]
    port: int = 6697
    tls: bool = True
    tls_verify: bool = True
    nick: str = "Concord"
    username: str = "concord"
    sasl: str = "none"
    sasl_username: str = ""
    password_env: str | None = None
    password: str = field(default="", repr=False)
    client_cert: Path | None = None
    client_key: Path | None = None
    moderators_channel: str | None = None
    channel_names: tuple[tuple[str, str], ...] = ()
    moderator_masks: tuple[str, ...] = ()
    mediator_masks: tuple[str, ...] = ()
    command_prefix: str = "!concord"
    send_rate: float = 1.0
    send_burst: int = 4

    @property
    def realname(self) -> str:
        """What /whois shows: a bot, and whose (Libera.Chat's bot policy asks both)."""
        return f"Concord community bot, run by {self.operator}"

    def channel(self, name: str) -> str | None:
        """The IRC channel of a neutral channel name, or a served channel by its name;
        None for any other (the bot writes only where it was invited)."""
        for neutral, channel in self.channel_names:
            if neutral == name:
                return channel
        served = [c for c in self.channels if c.lower() == name.lower()]
        return served[0] if served else None


def parse(section: PlatformSection, check_only: bool = False) -> IrcSettings:
    doc, base = section.doc, section.path
    data = v.mapping(doc, base, section.data, KEYS, REQUIRED)

    def at(key: str) -> tuple[str, ...]:
        return (*base, key)

    tls = v.boolean(doc, at("tls"), data.get("tls", True))
    nick = _nick(section, "nick", data.get("nick", "Concord"))
    password_env = (
        env_variable(section, "password_env", data["password_env"])
        if data.get("password_env") is not None
        else None
    )
    sasl = v.one_of(
        doc,
        at("sasl"),
        data.get("sasl", "plain" if password_env else "none"),
        ("none", "plain", "external"),
    )
    if sasl == "plain" and password_env is None:
        raise doc.error(at("sasl"), "sasl: plain needs password_env")
    client_cert = file_path(section, "client_cert", data.get("client_cert"))
    if sasl == "external" and (client_cert is None or not tls):
        raise doc.error(at("sasl"), "sasl: external needs tls and a client_cert")
    channels = _channels(section, "channels", data["channels"])
    return IrcSettings(
        host=v.text(doc, at("host"), data["host"]).strip(),
        operator=_operator(section, data["operator"]),
        channels=channels,
        port=v.integer(doc, at("port"), data.get("port", 6697 if tls else 6667), 1, 65535),
        tls=tls,
        tls_verify=v.boolean(doc, at("tls_verify"), data.get("tls_verify", True)),
        nick=nick,
        username=_nick(section, "username", data.get("username", nick.lower())),
        sasl=sasl,
        sasl_username=v.text(doc, at("sasl_username"), data.get("sasl_username", nick)),
        password_env=password_env,
        password=secret(section, "password_env", password_env, check_only),
        client_cert=client_cert,
        client_key=file_path(section, "client_key", data.get("client_key")),
        moderators_channel=(
            _channel(section, ("moderators_channel",), data["moderators_channel"])
            if data.get("moderators_channel") is not None
            else None
        ),
        channel_names=_names(section, data.get("channel_names", {})),
        moderator_masks=_masks(section, "moderator_masks", data.get("moderator_masks", [])),
        mediator_masks=_masks(section, "mediator_masks", data.get("mediator_masks", [])),
        command_prefix=command_prefix(section, data.get("command_prefix", "!concord")),
        send_rate=send_rate(section, data.get("send_rate", 1.0)),
        send_burst=v.integer(doc, at("send_burst"), data.get("send_burst", 4), 1, 10_000),
    )


def _nick(section: PlatformSection, key: str, value: Any) -> str:
    path = (*section.path, key)
    text = v.text(section.doc, path, value)
    if text[0] not in _NICK_FIRST or any(c not in _NICK_REST for c in text) or len(text) > 30:
        raise section.doc.error(path, "expected an IRC nick such as Concord")
    return text


def _operator(section: PlatformSection, value: Any) -> str:
    path = (*section.path, "operator")
    text = v.text(section.doc, path, value).strip()
    if any(ord(c) < 32 for c in text) or len(text) > 80:
        raise section.doc.error(path, "expected who runs the bot, on one short line")
    return text


def _channel(section: PlatformSection, key: tuple[str | int, ...], value: Any) -> str:
    path = (*section.path, *key)
    text = v.text(section.doc, path, value).strip()
    if text[:1] not in ("#", "&") or any(c in text for c in " ,\x07") or len(text) > 64:
        raise section.doc.error(path, "expected a channel name such as #example")
    return text


def _channels(section: PlatformSection, key: str, value: Any) -> tuple[str, ...]:
    items = v.text_list(section.doc, (*section.path, key), value)
    return tuple(_channel(section, (key, i), item) for i, item in enumerate(items))


def _names(section: PlatformSection, value: Any) -> tuple[tuple[str, str], ...]:
    path = (*section.path, "channel_names")
    if not isinstance(value, dict):
        raise section.doc.error(path, "expected a mapping of channel names to IRC channels")
    return tuple(
        (v.text(section.doc, (*path, name), name), _channel(section, ("channel_names", name), c))
        for name, c in value.items()
    )


def _masks(section: PlatformSection, key: str, value: Any) -> tuple[str, ...]:
    path = (*section.path, key)
    masks = v.text_list(section.doc, path, value)
    for i, mask in enumerate(masks):
        if "!" not in mask or "@" not in mask or " " in mask:
            raise section.doc.error((*path, i), "expected a mask such as *!*@user/alice")
    return tuple(masks)
