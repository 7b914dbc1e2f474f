"""The IRC adapter, over pydle.

Why pydle (1.2): it is asyncio-native, maintained (releases for Python 3.10 to 3.14),
and does SASL PLAIN and EXTERNAL with a TLS client certificate. irc3 (1.1.12) is
maintained too but its SASL plugin knows PLAIN only; jaraco's ``irc`` has SASL only in
its synchronous client.

The bot registers with a realname naming it a bot and its operator, logs in with SASL
when configured (and stops if the credentials are rejected: no retry can fix them),
joins only the configured channels, and answers in private messages whatever must not
be said in a channel. Faults get one log line each and a retry with backoff where a
retry can help: a nick in use (the bot runs as ``nick_`` and takes its nick back when
it is free), a channel that refuses the bot (banned, invite-only, full: tried again
later), a lost connection (a netsplit, a server restart: reconnect). Lines go out
through the paced, confirmed send queue of adapters/irc/send.py, so a reconnect
neither loses nor repeats a reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from typing import Any

from adapters.command_mentions import CommandMentions, command_names
from adapters.irc.client import JOIN_REFUSALS, IrcClient
from adapters.irc.delivery import Delivery
from adapters.irc.events import (
    PLATFORM,
    Context,
    Sender,
    casefold,
    netsplit,
    translate_join,
    translate_message,
)
from adapters.irc.send import Sender as LineSender
from adapters.irc.settings import IrcSettings
from adapters.irc.text import payload_budget
from bot.core.actions import Action, Capabilities
from bot.core.errors import ConcordError
from bot.core.events import Event
from bot.engine.host import AdapterHost

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
JOIN_BACKOFF = (60.0, 3600.0)  # first and longest wait before joining again
NICK_RETRY = 30.0  # first wait before asking for the configured nick again
DEFAULT_HOSTLEN = 63


def create(settings: IrcSettings, host: AdapterHost) -> IrcAdapter:
    # Its own channels, and those the communities of a deployment name.
    known = {casefold(c) for c in settings.channels}
    more = tuple(c for c in host.spaces(PLATFORM) if casefold(c) not in known)
    return IrcAdapter(replace(settings, channels=settings.channels + more), host)


class IrcAdapter:
    platform = PLATFORM

    def __init__(self, settings: IrcSettings, host: AdapterHost) -> None:
        self.settings = settings
        self.host = host
        # Anyone may be written to first; no buttons, roles, private rooms, files or
        # taking messages back. Mediation relays through private messages.
        self.capabilities = Capabilities(
            native_choices=False,
            private_spaces=False,
            direct_first=True,
            roles=False,
            delete_messages=False,
            files=False,
            max_length=4000,
        )
        self.sender = LineSender(settings.send_rate, settings.send_burst)
        self.sender.stalled = self._stalled
        self.sender.waited = lambda seconds: host.rate_limit_waited(PLATFORM, seconds)
        names = command_names(host)
        self.names = frozenset(n.lower() for n in names)
        mentions = CommandMentions(names, settings.command_prefix)
        self.delivery = Delivery(
            settings, self.sender, self.budget, mentions.rewrite, host.moderators_place
        )
        self.client: IrcClient | None = None
        self._lost = asyncio.Event()
        self._fatal: str | None = None
        self._why = ""  # the server's reason for closing the connection
        self._sasl_ok = False
        self._was_registered = False
        # Per member: a lock keeping their events in order, and how many wait for it.
        self._members: dict[str, tuple[asyncio.Lock, list[int]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._handling: set[asyncio.Task[Any]] = set()  # events being handed in
        self._join_waits: dict[str, float] = {}
        self._reported: set[str] = set()  # faults already logged since the last success

    # Connecting ------------------------------------------------------------------

    def _new_client(self) -> IrcClient:
        s = self.settings
        kwargs: dict[str, object] = {
            "nickname": s.nick,
            "fallback_nicknames": [f"{s.nick}_", f"{s.nick}__"],
            "username": s.username,
            "realname": s.realname,
        }
        if s.sasl == "plain":
            kwargs |= {"sasl_username": s.sasl_username, "sasl_password": s.password}
            kwargs["sasl_mechanism"] = "PLAIN"
        elif s.sasl == "external":
            kwargs["sasl_mechanism"] = "EXTERNAL"
        if s.client_cert is not None:
            kwargs["tls_client_cert"] = str(s.client_cert)
            kwargs["tls_client_cert_key"] = str(s.client_key or s.client_cert)
        return IrcClient(self, **kwargs)

    async def run(self) -> None:
        backoff = 1.0
        while True:
            self._lost.clear()
            self._why = ""
            self._was_registered = False
            self._sasl_ok = False
            client = self.client = self._new_client()
            try:
                await client.connect(
                    self.settings.host,
                    self.settings.port,
                    tls=self.settings.tls,
                    tls_verify=self.settings.tls_verify,
                    channels=list(self._channels()),
                )
            except (OSError, TimeoutError) as exc:
                log.warning(
                    "irc: cannot connect to %s:%s (%s); retrying in %.0f s",
                    self.settings.host,
                    self.settings.port,
                    exc or type(exc).__name__,
                    backoff,
                )
            else:
                await self._lost.wait()
                if self._fatal is not None:
                    raise ConcordError(self._fatal)
                if self._was_registered:
                    backoff = 1.0
                log.warning(
                    "irc: disconnected from %s (%s); reconnecting in %.0f s",
                    self.settings.host,
                    self._why or "connection lost",
                    backoff,
                )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _channels(self) -> list[str]:
        channels = list(self.settings.channels)
        moderators = self.settings.moderators_channel
        if moderators is not None and casefold(moderators) not in map(casefold, channels):
            channels.append(moderators)
        return channels

    async def registered(self) -> None:
        client = self.client
        assert client is not None
        if self.settings.sasl != "none" and not self._sasl_ok:
            self._stop(
                f"irc: SASL {self.settings.sasl.upper()} login as {self.settings.sasl_username}"
                " did not succeed (the server offers no SASL, or refused it)"
            )
            return
        self._was_registered = True
        self._reported.clear()
        log.info("irc ready on %s as %s", self.settings.host, client.nickname)
        if "BOT" in getattr(client, "_isupport", {}):
            # The server's bot mode (+B): /whois says "is a bot".
            await client.rawmsg("MODE", client.nickname, "+" + str(client._isupport["BOT"]))
        self.sender.connected(client)
        self.host.ready(PLATFORM)
        if casefold(client.nickname) != casefold(self.settings.nick):
            self._spawn(self._take_nick_back(client))

    async def lost(self, expected: bool) -> None:
        self.sender.disconnected()
        self._lost.set()

    def _stalled(self) -> None:
        """The server stopped answering: drop the connection and make a new one."""
        client = self.client
        if client is not None and client.connected:
            self._why = "the server stopped answering"
            self._spawn(client.disconnect(expected=False))

    def _stop(self, reason: str) -> None:
        log.error("%s", reason)
        self._fatal = reason
        if self.client is not None:
            self._spawn(self.client.disconnect(expected=True))
        self._lost.set()

    def sasl_done(self, ok: bool) -> None:
        self._sasl_ok = ok
        if not ok:
            self._stop(
                f"irc: the server rejected the SASL {self.settings.sasl.upper()} login as"
                f" {self.settings.sasl_username} (check the account, password_env or client_cert)"
            )

    def nick_in_use(self, nick: str) -> None:
        self._once(
            f"nick:{nick}",
            "irc: the nick %s is in use; trying another and taking it back when it is free",
            nick,
        )

    def server_error(self, reason: str) -> None:
        """The server's ERROR line (a restart, a K-line, a ping timeout), for the log."""
        self._why = reason[:200]

    def kicked(self, channel: str) -> None:
        """A channel operator removed the bot: it stays out (joining again after a kick
        is what bot policies forbid) until the next start or reconnection."""
        log.warning("irc: the bot was kicked from %s; it does not join again by itself", channel)

    def member_quit(self, reason: str) -> None:
        """Members leaving in a netsplit: one line per split, not one per member."""
        servers = netsplit(reason)
        if servers is not None:
            self._once(
                f"split:{servers[0]} {servers[1]}",
                "irc: netsplit between %s and %s: private messages to members on the far"
                " side are refused until it heals (set aside, not retried)",
                *servers,
            )

    def _once(self, key: str, message: str, *args: object) -> None:
        if key not in self._reported:
            self._reported.add(key)
            log.warning(message, *args)

    async def _take_nick_back(self, client: IrcClient) -> None:
        wait = NICK_RETRY
        while client.connected and casefold(client.nickname) != casefold(self.settings.nick):
            await asyncio.sleep(wait)
            with contextlib.suppress(Exception):
                await client.set_nickname(self.settings.nick)
            wait = min(wait * 2, MAX_BACKOFF)

    def join_refused(self, channel: str, numeric: str) -> None:
        folded = casefold(channel)
        wait = self._join_waits.get(folded, JOIN_BACKOFF[0])
        self._join_waits[folded] = min(wait * 2, JOIN_BACKOFF[1])
        log.warning(
            "irc: cannot join %s: %s (%s); trying again in %.0f s",
            channel,
            JOIN_REFUSALS[numeric],
            numeric,
            wait,
        )
        client = self.client
        self._spawn(self._join_later(client, channel, wait))

    async def _join_later(self, client: IrcClient | None, channel: str, wait: float) -> None:
        await asyncio.sleep(wait)
        if client is not None and client is self.client and client.connected:
            with contextlib.suppress(Exception):
                await client.join(channel)

    def _spawn(self, coroutine: object) -> None:
        task = asyncio.ensure_future(coroutine)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # Receiving -------------------------------------------------------------------

    def context(self) -> Context:
        client = self.client
        s = self.settings
        return Context(
            community=self.host.community,
            bot_nick=client.nickname if client is not None else s.nick,
            channels={casefold(c): self._place_name(c) for c in s.channels},
            moderators_channel=s.moderators_channel,
            moderators_name=self.host.moderators_place,
            moderator_masks=s.moderator_masks,
            mediator_masks=s.mediator_masks,
            prefix=s.command_prefix,
            command_names=self.names,
        )

    def _place_name(self, channel: str) -> str:
        """A served channel's place id: its neutral name when it has one."""
        for neutral, named in self.settings.channel_names:
            if casefold(named) == casefold(channel):
                return neutral
        return channel

    async def message(self, sender: Sender, target: str, text: str) -> None:
        event = translate_message(sender, target, text, self.context())
        if event is not None:
            await self._hand_in(event)

    async def joined(self, sender: Sender, channel: str) -> None:
        client = self.client
        if client is not None and casefold(sender.nick) == casefold(client.nickname):
            self._join_waits.pop(casefold(channel), None)
            return
        event = translate_join(sender, channel, self.context())
        if event is not None:
            await self._hand_in(event)

    async def _hand_in(self, event: Event) -> None:
        """One member's events in arrival order (the lock is fair), members apart."""
        key = event.member.id
        lock, waiting = self._members.setdefault(key, (asyncio.Lock(), [0]))
        waiting[0] += 1
        task = asyncio.current_task()
        if task is not None:
            self._handling.add(task)
        try:
            async with lock:
                await self.host.handle(event)
        except Exception:
            log.exception("irc: an event could not be handled")
        finally:
            self._handling.discard(task)
            waiting[0] -= 1
            if not waiting[0]:
                del self._members[key]

    # Delivering ------------------------------------------------------------------

    def pong(self, token: str) -> None:
        self.sender.pong(token)

    def refused(self, numeric: str, target: str, reason: str) -> None:
        self.sender.refused(numeric, target, reason)

    def budget(self, target: str) -> int:
        """Bytes of text a PRIVMSG to ``target`` may carry: 512 less what the server
        adds (the bot's ``nick!~user@host``, the host as long as the server allows)."""
        client = self.client
        nick = client.nickname if client is not None else self.settings.nick
        isupport = getattr(client, "_isupport", {}) or {}
        hostlen = int(isupport.get("HOSTLEN") or DEFAULT_HOSTLEN)
        prefix = len(f"{nick}!~{self.settings.username}@".encode()) + hostlen
        return payload_budget(prefix, "PRIVMSG", target)

    async def deliver(self, action: Action, idempotency_key: str) -> None:
        """DeliveryError while disconnected or unconfirmed (the outbox retries; lines
        already confirmed are not sent again), Undeliverable for what IRC refuses."""
        await self.delivery.deliver(action, idempotency_key)

    async def close(self) -> None:
        """Stop handing in (an event cut short is not committed) and quit."""
        for task in [*self._tasks, *self._handling]:
            task.cancel()
        client = self.client
        if client is not None and client.connected:
            with contextlib.suppress(Exception):
                await client.rawmsg("QUIT")  # no reason: a text members read needs a catalog
                await client.disconnect(expected=True)
