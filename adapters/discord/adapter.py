"""The Discord adapter: discord.py's gateway in, plain inert messages with buttons out.

discord.py keeps the gateway connection (heartbeats, RESUME, re-identify with
backoff); ``on_ready`` comes again after every re-identify, so the one-time set-up
(publishing the slash commands) is guarded to run once. Events are translated in
``events``; each member's events are handed in in the order they arrived.

Interactions must be answered within three seconds, so a slash command is deferred
at once (Discord shows "thinking...") and the core's replies to the same direct
message or private thread become the interaction's followups. A command typed in a
public channel is deferred ephemerally, so nobody else sees that a member ran, say,
``/report``, and every reply to that member (in the channel or privately) is an
ephemeral followup, never a public message; a question that starts a private
conversation goes to their direct messages (see ``slash_reply.Reply``). The
moderators' channel is not public: answers there are for the moderators. A pressed
button is answered by removing the buttons from its message (the question is
answered), then the core's next message follows (ephemerally in a public channel).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any

import aiohttp
import discord
import yarl
from discord import app_commands

from adapters.discord import slash_commands
from adapters.discord.delivery import deliver
from adapters.discord.events import CHOICE_PREFIX, PLATFORM, Context
from adapters.discord.guilds import delivers_for
from adapters.discord.in_order import InOrder
from adapters.discord.send import Sender
from adapters.discord.settings import DiscordSettings, with_guilds
from adapters.discord.slash_reply import REPLY, Reply
from bot.core.actions import Action, Capabilities
from bot.core.errors import ConcordError
from bot.core.events import Event
from bot.engine.host import AdapterHost

log = logging.getLogger(__name__)

_MAX_BACKOFF = 60.0
NONCE_TAG = "discord:nonce_tag"  # the start of message nonces made from outbox ids


def create(settings: DiscordSettings, host: AdapterHost) -> DiscordAdapter:
    # Its own server, and those the communities of a deployment name (guilds.py).
    return DiscordAdapter(with_guilds(settings, host.spaces(PLATFORM)), host)


class ConcordClient(discord.Client):
    """discord.py's client with its events passed to the adapter."""

    def __init__(self, adapter: DiscordAdapter, **options: Any) -> None:
        super().__init__(**options)
        self.adapter = adapter

    async def on_ready(self) -> None:
        await self.adapter.on_ready()

    async def on_member_join(self, member: discord.Member) -> None:
        await self.adapter.hand_in(member.id, self.adapter.places.joined(member))

    async def on_member_remove(self, member: discord.Member) -> None:
        await self.adapter.hand_in(member.id, self.adapter.places.left(member))

    async def on_message(self, message: discord.Message) -> None:
        await self.adapter.hand_in(message.author.id, self.adapter.places.said(message))

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is discord.InteractionType.component:
            await self.adapter.on_press(interaction)


class ShardedClient(ConcordClient, discord.AutoShardedClient):
    """Several shards of the bot in this process (``shard_ids`` of ``shard_count``)."""


class DiscordAdapter:
    platform = PLATFORM

    def __init__(self, settings: DiscordSettings, host: AdapterHost) -> None:
        self.settings = settings
        self.host = host
        # Roles, threads and the server's channels need the server's shard: a process
        # without one hands events in and leaves delivery to one that has it.
        self.delivers = settings.runs_guild_shard()
        # ... and of the communities whose servers its shards carry, only theirs.
        self.delivers_for = delivers_for(settings, host)
        self.capabilities = Capabilities(
            native_choices=True,
            # A private thread needs a parent channel known from the config (in a
            # deployment, each server's system channel will do: guilds.py); without
            # one the core relays a mediation through direct messages instead.
            private_spaces=settings.spaces_channel is not None
            or settings.welcome_channel is not None
            or settings.many,
            direct_first=True,
            roles=bool(settings.roles),
            delete_messages=True,
            files=True,
            max_length=2000,
        )
        if settings.api_base:
            discord.http.Route.BASE = settings.api_base
        if settings.gateway:
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway)
        self.client = self._new_client()
        self.tree = app_commands.CommandTree(self.client)
        self.places = Context(
            settings, self.client, host, host.welcome_channel, host.moderators_place
        )
        self.sender = Sender(self.client, self.places, settings.requests_per_second)
        self.sender.nonce_tag = host.database_tag(NONCE_TAG)
        self.sender.waited = lambda seconds: host.rate_limit_waited(PLATFORM, seconds)
        self.order = InOrder()
        self._ready_before = False
        self._started = False
        self._commands_published = False
        self._publishing = asyncio.Lock()

    # Connecting --------------------------------------------------------------------

    async def run(self) -> None:
        if self._started:
            await self.client.close()  # started again after a failure: a fresh client
        self._started = True
        await self._login()
        try:
            await self.client.connect(reconnect=True)
        except discord.PrivilegedIntentsRequired:
            raise ConcordError(
                "discord: turn on the Server Members intent"
                + (" and the Message Content intent" if self.settings.message_content else "")
                + " for the bot (Developer Portal, Bot page)"
            ) from None
        except discord.ConnectionClosed as exc:
            if exc.code == 4004:
                raise self._token_rejected() from None
            raise ConcordError(
                f"discord: the gateway closed the connection ({exc.code} {exc.reason})"
            ) from None

    def _new_client(self) -> ConcordClient:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.members = True
        intents.guild_messages = True
        intents.dm_messages = True
        intents.message_content = self.settings.message_content
        options: dict[str, Any] = {
            "intents": intents,
            "allowed_mentions": discord.AllowedMentions.none(),
            "guild_ready_timeout": self.settings.guild_ready_timeout,
            "max_messages": None,
        }
        count, ids = self.settings.shard_count, self.settings.shard_ids
        if count is None:
            return ConcordClient(self, **options)
        if len(ids) == 1:  # one shard: discord.py's plain client identifies as it
            return ConcordClient(self, shard_id=ids[0], shard_count=count, **options)
        return ShardedClient(
            self, shard_ids=list(ids or range(count)), shard_count=count, **options
        )

    async def _login(self) -> None:
        """Log in, retrying with backoff. A failed login leaves discord.py's client
        closed for good (its HTTP session and connector), so each retry is made on a
        fresh client."""
        backoff = 1.0
        while True:
            if self.client.is_closed():
                self._replace_client()
            try:
                await self.client.login(self.settings.token)
                return
            except discord.LoginFailure:
                raise self._token_rejected() from None
            except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("discord: cannot log in (%s); retrying in %.0f s", exc, backoff)
                await self.client.close()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)

    def _replace_client(self) -> None:
        self.client = self._new_client()
        self.tree = app_commands.CommandTree(self.client)
        self.places.client = self.client
        self.sender.client = self.client
        self._commands_published = False

    def _token_rejected(self) -> ConcordError:
        return ConcordError(
            f"discord: the token in {self.settings.token_env} was rejected (LoginFailure);"
            " copy the bot token again from the Developer Portal"
        )

    async def on_ready(self) -> None:
        """After every (re-)identify; what must happen once is guarded."""
        user = self.client.user
        if not self._ready_before:
            self._ready_before = True
            log.info("discord ready as %s", user.name if user else "?")
            self.places.guilds.report_ready()
        else:
            log.info("discord: connected again")
        # Before the first await: an interaction's replies must not wait for the outbox.
        self.host.ready(PLATFORM)
        await self.publish_commands()

    async def publish_commands(self) -> None:
        """The slash commands, with their localized descriptions, once per process
        (in a deployment, each server's in its community's languages)."""
        async with self._publishing:
            if self._commands_published:
                return
            guilds = self.places.guilds.published()
            try:
                await slash_commands.publish(self.tree, self.host, self.on_slash, guilds)
            except discord.HTTPException as exc:
                log.warning("discord: slash commands not published (%s); next time", exc)
                return
            self._commands_published = True

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.close()

    # Receiving ---------------------------------------------------------------------

    async def hand_in(self, user_id: int, event: Event | None) -> None:
        if event is None:
            return
        previous, mine = self.order.ticket(user_id)
        try:
            await self.order.wait(previous)
            await self._handle(event)
        finally:
            self.order.done(user_id, mine)

    async def _handle(self, event: Event) -> None:
        try:
            await self.host.handle(event)
        except Exception:
            # Discord does not deliver an event twice: say clearly that one was lost.
            log.exception(
                "discord: %s %s could not be handled", type(event).__name__, event.event_id
            )

    async def on_slash(self, interaction: discord.Interaction, words: str | None) -> None:
        """A slash command: acknowledged at once, then handed in in order."""
        name = interaction.command.name if interaction.command else ""
        event = self.places.command(interaction, name, words)
        previous, mine = self.order.ticket(interaction.user.id)
        try:
            place = event.place if event is not None else None
            # In a public channel only the member sees that a command was run, and
            # only they see its answers. The moderators' channel is not public, but a
            # command answered privately even there (a member's /reports, a case) is
            # shown to its sender alone too.
            public = self.places.is_public(place) or (
                event is not None and not self.host.answered_where_typed(event)
            )
            deferred = await self._acknowledge(
                interaction.response.defer(thinking=True, ephemeral=public)
            )
            if event is None or place is None:
                await self._withdraw(interaction, deferred)
                return
            await self.order.wait(previous)
            reply = Reply(interaction, place, public, broken=not deferred)
            token = REPLY.set(reply if deferred or public else None)
            try:
                await self._handle(event)
            finally:
                REPLY.reset(token)
            if not reply.used:
                await self._withdraw(interaction, deferred)
        finally:
            self.order.done(interaction.user.id, mine)

    async def on_press(self, interaction: discord.Interaction) -> None:
        """A button: its buttons are removed (the question is answered), then the
        choice is handed in. Buttons that are not Concord's are left alone."""
        event = self.places.pressed(interaction)
        data: dict[str, Any] = dict(interaction.data or {})
        if event is None:
            if str(data.get("custom_id", "")).startswith(CHOICE_PREFIX):
                await self._acknowledge(interaction.response.defer())
            return
        previous, mine = self.order.ticket(interaction.user.id)
        try:
            answered = await self._acknowledge(interaction.response.edit_message(view=None))
            await self.order.wait(previous)
            # In a public channel (a question sent ephemerally after a slash command)
            # the answers stay ephemeral, as the command's own were.
            place = event.place
            reply = None
            if place is not None and self.places.is_public(place):
                reply = Reply(interaction, place, True, broken=not answered)
            token = REPLY.set(reply)
            try:
                await self._handle(event)
            finally:
                REPLY.reset(token)
        finally:
            self.order.done(interaction.user.id, mine)

    @staticmethod
    async def _acknowledge(call: Awaitable[Any]) -> bool:
        try:
            await call
            return True
        except discord.HTTPException as exc:
            # Too late (over three seconds) or already answered: the event still counts.
            log.warning("discord: an interaction could not be acknowledged: %s", exc)
            return False

    @staticmethod
    async def _withdraw(interaction: discord.Interaction, deferred: bool) -> None:
        """Remove the "thinking..." notice when the answer went elsewhere."""
        if not deferred:
            return
        try:
            await interaction.delete_original_response()
        except discord.HTTPException as exc:
            log.info("discord: could not remove an interaction notice: %s", exc)

    # Delivering --------------------------------------------------------------------

    async def deliver(self, action: Action, idempotency_key: str | None = None) -> None:
        """One action to Discord (``delivery.deliver``)."""
        await deliver(self.sender, action, idempotency_key)
