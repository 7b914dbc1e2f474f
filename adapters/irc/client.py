"""The connection: a pydle client that only reports what the server says to its owner
(adapters/irc/adapter.py), which decides. pydle's own reconnection is off: the adapter
reconnects with its own backoff and logs each fault once."""

from __future__ import annotations

from typing import Any, Protocol

import pydle

from adapters.irc.events import Sender

# Numerics refusing a JOIN: channel full, invite only, banned, wrong key, registered
# nicks only, secure connections only.
JOIN_REFUSALS = {
    "471": "the channel is full",
    "473": "the channel is invite-only",
    "474": "the bot is banned from the channel",
    "475": "the channel needs a key",
    "477": "the channel takes registered accounts only",
    "489": "the channel takes secure connections only",
}


class Owner(Protocol):
    async def registered(self) -> None: ...
    async def lost(self, expected: bool) -> None: ...
    async def message(self, sender: Sender, target: str, text: str) -> None: ...
    async def joined(self, sender: Sender, channel: str) -> None: ...
    def pong(self, token: str) -> None: ...
    def refused(self, numeric: str, target: str, reason: str) -> None: ...
    def join_refused(self, channel: str, numeric: str) -> None: ...
    def nick_in_use(self, nick: str) -> None: ...
    def sasl_done(self, ok: bool) -> None: ...
    def server_error(self, reason: str) -> None: ...
    def member_quit(self, reason: str) -> None: ...
    def kicked(self, channel: str) -> None: ...


class IrcClient(pydle.Client):  # type: ignore[misc]
    RECONNECT_ON_ERROR = False

    def __init__(self, owner: Owner, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.owner = owner

    def sender_of(self, nick: str) -> Sender:
        user = self.users.get(nick) or {}
        return Sender(nick, user.get("username") or "", user.get("hostname") or "")

    async def handle_forever(self) -> None:
        """pydle's read loop, which lets a reset connection end it without saying so:
        then the owner is told, as for any lost connection."""
        try:
            await super().handle_forever()
        except OSError as exc:
            self.owner.server_error(exc.strerror or type(exc).__name__)
            if self.connected:
                await self.disconnect(expected=False)

    async def on_raw_001(self, message: Any) -> None:
        # The nick the server registered us with, at once (pydle sets it a few awaits
        # later, after its own look-ups).
        if not self.registered:
            self.nickname = str(message.params[0])
        await super().on_raw_001(message)

    async def on_connect(self) -> None:
        await super().on_connect()  # joins the channels given to connect()
        await self.owner.registered()

    async def on_disconnect(self, expected: bool) -> None:
        await self.owner.lost(expected)

    async def on_message(self, target: str, by: str, message: str) -> None:
        await super().on_message(target, by, message)
        await self.owner.message(self.sender_of(by), target, message)

    async def on_join(self, channel: str, user: str) -> None:
        await super().on_join(channel, user)
        await self.owner.joined(self.sender_of(user), channel)

    async def on_quit(self, user: str, message: str | None = None) -> None:
        await super().on_quit(user, message)
        self.owner.member_quit(message or "")

    async def on_kick(self, channel: str, target: str, by: str, reason: str | None = None) -> None:
        await super().on_kick(channel, target, by, reason)
        if self.is_same_nick(target, self.nickname):
            self.owner.kicked(channel)

    async def _send(self, input: Any) -> None:
        """pydle's ``_send``, except that a SASL or server password line is never
        logged (pydle logs every line it sends at debug level)."""
        data = input if isinstance(input, bytes) else str(input).encode(self.encoding)
        if not data.upper().startswith((b"AUTHENTICATE ", b"PASS ")):
            self.logger.debug(">> %s", data.decode(self.encoding, "replace"))
        try:
            await self.connection.send(data)
        except TimeoutError:
            self.logger.error("send() timed out - connection appears dead, disconnecting")
            await self.disconnect(expected=False)
            raise

    async def on_ctcp_version(self, by: str, target: str, contents: str) -> None:
        """Not answered: a CTCP reply would bypass the paced queue, so a member sending
        many requests could get the bot disconnected for flooding."""

    async def on_raw_pong(self, message: Any) -> None:
        self.owner.pong(str(message.params[-1]))

    async def on_raw_error(self, message: Any) -> None:
        # The server closes the link; the owner logs it once (pydle would log the
        # same again as a socket error).
        self.owner.server_error(" ".join(message.params))
        await self.disconnect(expected=False)

    async def on_raw_433(self, message: Any) -> None:
        if not self.registered:
            self.owner.nick_in_use(str(message.params[1]))
        await super().on_raw_433(message)

    async def on_raw_903(self, message: Any) -> None:
        self.owner.sasl_done(True)
        await super().on_raw_903(message)

    async def on_raw_904(self, message: Any) -> None:
        # Not pydle's handling (abort, then register without a login): the owner stops.
        self.owner.sasl_done(False)

    async def on_raw_905(self, message: Any) -> None:
        self.owner.sasl_done(False)

    async def on_unknown(self, message: Any) -> None:
        """A numeric pydle has no handler for (379 "is using modes"): not a fault."""
        self.logger.debug("unhandled %s", message.command)

    async def on_raw(self, message: Any) -> None:
        code = str(message.command).zfill(3)
        params = [str(p) for p in message.params]
        if code in JOIN_REFUSALS and len(params) >= 2 and params[1][:1] in "#&":
            self.owner.join_refused(params[1], code)
        elif len(params) >= 2:
            self.owner.refused(code, params[1], params[-1])
        await super().on_raw(message)
