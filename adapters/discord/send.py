"""Sending to Discord as inert text, under its rate limits, never dropping on 429.

Every message goes with ``allowed_mentions`` set to none (so ``@everyone``, role and
member mentions in member-supplied names or words never ping anyone) and with its
Markdown escaped (so a member's ``[text](link)`` or ``**bold**`` shows as typed), in
pieces of at most 2,000 characters cut at line breaks.

discord.py keeps Discord's per-route buckets and waits out a 429 itself; the pacer
here keeps the whole bot under the global 50 requests a second. A 429 that outlasts
discord.py's retries, a server error or a network failure raises ``DeliveryError``,
so the action stays in the outbox and is sent again in order. A refusal that a retry
cannot fix (a member who closed their direct messages, a deleted channel, missing
permissions) raises ``Undeliverable``, which the outbox records with its reason.

The ids of the bot's own messages in each direct-message conversation (the last
100) are kept as the member record ``sent`` of the user, so the safety exit
(``DeleteRecentMessages``) can delete them one by one, also after a restart: in a
direct message a bot may delete its own messages, but bulk deletion is for servers
only. A message that cannot be deleted (already gone) is logged and skipped.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import aiohttp
import discord

from adapters.discord.events import PLATFORM, Context, space_key, thread_key
from adapters.discord.slash_reply import REPLY, Reply
from adapters.pacing import TokenBucket
from bot.core.errors import DeliveryError, Undeliverable
from bot.core.events import Place, PlaceKind
from bot.core.text import split_message

log = logging.getLogger(__name__)

MAX_MESSAGE = 2000
MAX_FILE = 10 * 1024 * 1024  # Discord's upload limit for a bot without boosts
SENT_KEPT = 100  # the bot's own messages remembered per direct-message conversation
NO_MENTIONS = discord.AllowedMentions.none()
T = TypeVar("T")


# The member record with the ids of the bot's recent messages in their direct messages.
SENT = "sent"


def message_ids(saved: str | None) -> list[int]:
    """The message ids in a ``SENT`` record, oldest first (nothing when unreadable)."""
    try:
        loaded = json.loads(saved) if saved else []
    except ValueError:
        return []
    if not isinstance(loaded, list):
        return []
    return [int(i) for i in loaded if isinstance(i, int) or (isinstance(i, str) and i.isdigit())]


def inert(text: str) -> str:
    """Markdown shown as typed; links are left alone so they stay clickable."""
    return discord.utils.escape_markdown(text)


def sending(
    send: Callable[..., Awaitable[Any]],
    content: str,
    view: discord.ui.View | None,
    nonce: str | None = None,
    ephemeral: bool = False,
) -> Callable[[], Awaitable[Any]]:
    """A message send, mentions disabled; buttons only when there are some; with a
    nonce, Discord creates it once however often it is sent (discord.py enforces it);
    an interaction's followup may be ephemeral."""
    extra: dict[str, Any] = {} if view is None else {"view": view}
    if nonce is not None:
        extra["nonce"] = nonce
    if ephemeral:
        extra["ephemeral"] = True
    return functools.partial(send, content, allowed_mentions=NO_MENTIONS, **extra)


def _upload(
    send: Callable[..., Awaitable[Any]], data: bytes, name: str, reply: Reply | None = None
) -> Callable[[], Awaitable[Any]]:
    """Send ``data`` as a file, with a fresh file for every attempt (a sent one has
    been read to its end); as an ephemeral followup when the reply is ephemeral."""
    extra: dict[str, Any] = {"ephemeral": True} if reply is not None and reply.ephemeral else {}

    def upload() -> Awaitable[Any]:
        attachment = discord.File(io.BytesIO(data), filename=name)
        return send(file=attachment, allowed_mentions=NO_MENTIONS, **extra)

    return upload


class Sender:
    def __init__(self, client: discord.Client, places: Context, per_second: float) -> None:
        self.client = client
        self.places = places
        self.bucket = TokenBucket(per_second, max(1.0, per_second * 0.2))
        self._dms: OrderedDict[int, int] = OrderedDict()  # user id -> DM channel id
        self.nonce_tag = ""  # per database (set by the adapter), so ids never collide
        self._max_dms = 10_000
        # Told of every wait under the limits, in seconds (operators' metrics).
        self.waited: Callable[[float], None] = lambda seconds: None

    async def call(self, make: Callable[[], Awaitable[T]]) -> T:
        """One REST call, paced; Discord's errors become DeliveryError (worth retrying
        later, in order) or Undeliverable (not)."""
        if self.client.user is None or self.client.is_closed():
            raise DeliveryError("discord: not connected yet")
        delay = self.bucket.wait_time()
        if delay > 0:
            self.waited(delay)
            await asyncio.sleep(delay)
        try:
            return await make()
        except (discord.Forbidden, discord.NotFound) as exc:
            raise Undeliverable(f"{exc.status} {exc.text or exc}") from exc
        except discord.RateLimited as exc:
            raise DeliveryError(f"discord: rate limited for {exc.retry_after:.0f} s") from exc
        except discord.HTTPException as exc:
            if exc.status == 429 or exc.status >= 500:
                raise DeliveryError(f"discord: HTTP {exc.status}") from exc
            raise Undeliverable(f"{exc.status} {exc.text or exc}") from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise DeliveryError(f"discord: {type(exc).__name__}: {exc}") from exc

    # Messages ---------------------------------------------------------------------

    async def text(
        self,
        place: Place,
        text: str,
        view: Callable[[], discord.ui.View | None] = lambda: None,
        question: bool = False,
        key: str | None = None,
    ) -> None:
        """Send ``text`` to a neutral place; ``view`` (made fresh, for the last piece)
        adds buttons; a ``question`` starts a conversation where it is sent. Each piece
        carries a nonce made from the delivery's idempotency ``key`` (none without)."""
        pieces = split_message(inert(text), MAX_MESSAGE)
        reply = REPLY.get()
        if reply is not None and reply.takes(place, question):
            if not reply.broken:
                pieces = await self._followups(reply, pieces, view)
                if not pieces:
                    return
            place = reply.redirect(place)
        target = await self.messageable(place)
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            # The same outbox row gives the same nonce after a restart: a reply sent
            # just before a crash is not shown twice when it is delivered again.
            nonce = f"{self.nonce_tag}{key}-{index}" if key is not None else None
            send = sending(target.send, piece, view() if last else None, nonce)
            message = await self.call(send)
            self.remember(place, message)

    async def _followups(
        self, reply: Reply, pieces: list[str], view: Callable[[], discord.ui.View | None]
    ) -> list[str]:
        """Send pieces as followups; what could not be sent so is returned."""
        webhook = reply.interaction.followup
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            send = sending(webhook.send, piece, view() if last else None, None, reply.ephemeral)
            try:
                message = await self.call(send)
            except (Undeliverable, DeliveryError) as exc:
                if isinstance(exc, DeliveryError) and not reply.ephemeral:
                    raise  # sent again later to the same private place
                # An expired or unknown interaction: send the rest the ordinary way
                # (an ephemeral reply to the member's direct messages, never later
                # to the public channel, where a retry would have no interaction).
                log.info("discord: followup refused (%s); sending the ordinary way", exc)
                reply.broken = True
                return pieces[index:]
            reply.used = True
            if not reply.ephemeral:  # an ephemeral message is not in any DM to clear
                self.remember(reply.place, message)
        return []

    async def file(self, place: Place, name: str, content: str) -> None:
        """``content`` as a UTF-8 file attachment named ``name``, without any text."""
        data = content.encode("utf-8")
        if len(data) > MAX_FILE:
            raise Undeliverable(f"{name!r} is {len(data)} bytes, over Discord's upload limit")
        reply = REPLY.get()
        if reply is not None and not reply.ephemeral:
            reply = None  # in a direct message or a thread: an ordinary message, kept
        if reply is not None and reply.takes(place) and not reply.broken:
            try:
                await self.call(_upload(reply.interaction.followup.send, data, name, reply))
                reply.used = True
                return
            except (Undeliverable, DeliveryError) as exc:
                log.info("discord: file followup refused (%s); sending the ordinary way", exc)
                reply.broken = True
        if reply is not None and reply.takes(place):
            place = reply.redirect(place)
        target = await self.messageable(place)
        self.remember(place, await self.call(_upload(target.send, data, name)))

    # The bot's own messages in direct messages -----------------------------------------

    def remember(self, place: Place, message: discord.abc.Snowflake | None) -> None:
        """Note a message the bot sent to a member's direct messages (the last
        ``SENT_KEPT``), so that the safety exit can delete it later."""
        if place.kind is not PlaceKind.DIRECT or message is None:
            return
        host = self.places.host
        ids = [*message_ids(host.member_record(PLATFORM, place.id, SENT)), message.id]
        host.save_member_record(PLATFORM, place.id, SENT, json.dumps(ids[-SENT_KEPT:]))

    async def delete_recent(self, place: Place) -> None:
        """Delete the bot's remembered messages in a member's direct messages, newest
        first, one by one. One that cannot be deleted (already deleted, unknown) is
        logged and skipped; a failure worth retrying (rate limit, server error,
        network) raises ``DeliveryError`` with what is done already forgotten."""
        if place.kind is not PlaceKind.DIRECT:
            raise Undeliverable("only the bot's messages in direct messages are deleted")
        host = self.places.host
        pending = message_ids(host.member_record(PLATFORM, place.id, SENT))
        if not pending:
            return
        target = await self.messageable(place)
        done: set[int] = set()
        deleted = 0
        try:
            for message_id in reversed(pending):
                try:
                    await self.call(target.get_partial_message(message_id).delete)
                    deleted += 1
                except Undeliverable as exc:
                    log.info("discord: a message was not deleted (%s); skipped", exc)
                done.add(message_id)
        finally:
            # Read again: a message sent meanwhile (for another member's event) stays.
            saved = host.member_record(PLATFORM, place.id, SENT)
            left = [i for i in message_ids(saved) if i not in done]
            host.save_member_record(PLATFORM, place.id, SENT, json.dumps(left))
        log.info("discord: deleted %d of %d recent messages in a DM", deleted, len(pending))

    async def remove(self, place: Place, message_id: str) -> None:
        """Delete a member's message (a private command typed in a channel); the bot
        needs Manage Messages. A slash command leaves no message to delete (its reply is
        ephemeral). A refusal is Undeliverable: logged, never retried."""
        if not message_id.isdigit():
            raise Undeliverable(f"{message_id!r} is not a Discord message id")
        target = await self.messageable(place)
        message = target.get_partial_message(int(message_id))

        async def delete() -> None:
            try:
                await message.delete()
            except discord.NotFound:
                log.info("discord: no message %s to remove (gone, or a slash command)", message_id)

        await self.call(delete)

    async def messageable(self, place: Place) -> discord.PartialMessageable:
        if place.kind is PlaceKind.DIRECT:
            if not place.id.isdigit():
                raise Undeliverable(f"{place.id!r} is not a Discord user id")
            direct = await self.direct_channel(int(place.id))
            return self.client.get_partial_messageable(direct, type=discord.ChannelType.private)
        guild_id = self.places.settings.guild or None
        if place.kind is PlaceKind.PRIVATE:
            key = self.places.guilds.private_space_key(place.id)
            thread = self.places.host.platform_record(key) if key else None
            if not thread:
                raise Undeliverable(f"no Discord thread for the private space {place.id!r}")
            return self.client.get_partial_messageable(int(thread), guild_id=guild_id)
        channel_id = self.places.channel_id_of(place.id)
        if channel_id is None:
            raise Undeliverable(
                f"no Discord channel for {place.id!r}; map it in platforms.discord.channels"
            )
        return self.client.get_partial_messageable(channel_id, guild_id=guild_id)

    async def direct_channel(self, user_id: int) -> int:
        """The direct-message channel with a member (created once, then remembered)."""
        known = self._dms.pop(user_id, None)
        if known is None:
            channel = await self.call(lambda: self.client.create_dm(discord.Object(user_id)))
            known = channel.id
        channel_id = known
        self._dms[user_id] = channel_id
        if len(self._dms) > self._max_dms:
            self._dms.popitem(last=False)
        return channel_id

    # Members and threads --------------------------------------------------------------

    async def member(self, user_id: int, guild_id: int) -> discord.Member:
        guild = self.places.guilds.get(guild_id)
        if guild is None:
            raise DeliveryError("discord: the server is not available yet")
        found = guild.get_member(user_id)
        if found is None:
            found = await self.call(lambda: guild.fetch_member(user_id))
        return found

    async def set_role(self, guild_id: int, user_id: int, role_id: int, granted: bool) -> None:
        member = await self.member(user_id, guild_id)
        role = discord.Object(role_id)
        if granted:
            await self.call(lambda: member.add_roles(role, reason="Concord"))
        else:
            await self.call(lambda: member.remove_roles(role, reason="Concord"))

    async def open_thread(self, space: str, title: str, user_ids: Sequence[int]) -> None:
        """A private thread for a private space: created once (its id kept in the
        store, both ways), then every member added (adding twice does no harm). In a
        deployment, in the first server of the space's community."""
        guilds = self.places.guilds.delivering()
        guild = self.places.guilds.get(guilds[0]) if guilds else None
        if guild is None:
            raise DeliveryError("discord: the server is not available yet")
        host = self.places.host
        saved = host.platform_record(self.places.guilds.private_space_key(space) or "")
        thread: discord.Thread | None = None
        if saved:
            thread = guild.get_thread(int(saved))
            if thread is None:
                fetched = await self.call(lambda: guild.fetch_channel(int(saved)))
                if not isinstance(fetched, discord.Thread):
                    raise Undeliverable(f"channel {saved} of space {space!r} is not a thread")
                thread = fetched
        else:
            thread = await self._create_thread(guild, space, title)
        for user_id in user_ids:
            await self.call(functools.partial(thread.add_user, discord.Object(user_id)))

    async def _create_thread(self, guild: discord.Guild, space: str, title: str) -> discord.Thread:
        parent_id = self.places.guilds.thread_parent(guild.id)
        parent = guild.get_channel(parent_id) if parent_id else None
        if not isinstance(parent, discord.TextChannel):
            raise Undeliverable(
                "private spaces need a text channel: set platforms.discord.spaces_channel"
            )
        name = " ".join(title.split())[:100] or space
        thread = await self.call(
            lambda: parent.create_thread(
                name=name,
                type=discord.ChannelType.private_thread,
                invitable=False,
                auto_archive_duration=10080,
                reason="Concord private space",
            )
        )
        key = space_key(space, guild.id if self.places.settings.many else None)
        self.places.host.save_platform_record(key, str(thread.id))
        self.places.host.save_platform_record(thread_key(thread.id), space)
        return thread
