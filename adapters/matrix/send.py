"""Sending to Matrix safely: inert plain text, pacing, bounded rate-limit waits.

Every message is ``m.text`` with a plain ``body`` only (no ``formatted_body``, so no
HTML or Markdown is ever rendered) and an empty ``m.mentions``, which tells clients and
servers that support intentional mentions that it mentions nobody. For older servers,
whose legacy push rule fires on the word "@room" from a sender allowed to notify the
room, a WORD JOINER (U+2060, invisible) is put after the "@" so the rule cannot match.
Command mentions ("/help") are rewritten to the adapter's prefix before that (see
adapters/command_mentions.py).

In an encrypted room everything the bot sends is encrypted, its keycap reactions too
(nio would send those in the clear; ``send_encrypted``), and ``check_room`` refuses a
send into a room recorded as encrypted while nio does not know it so (see
adapters/matrix/direct_rooms.py).

Idempotent re-sends: each message of an action the outbox delivers is sent with a
transaction id made from the delivery's idempotency key, the outbox row
(``concord-<community>-<database>-<key>-<part>``), so a message sent just before a crash,
and so never marked sent, is de-duplicated by the homeserver when it is sent again after
the restart (the client-server API returns the first event for the same device and
transaction id; Synapse remembers them for a day). ``<database>`` is a random tag kept in
the database, so a new database, whose row ids start again at 1, never reuses an id.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from nio import ErrorResponse, RoomSendResponse  # type: ignore[import-untyped]
from nio.api import Api  # type: ignore[import-untyped]
from nio.exceptions import (  # type: ignore[import-untyped]
    EncryptionError,
    GroupEncryptionError,
    OlmTrustError,
    ProtocolError,
)

from adapters.pacing import Pacer
from bot.core.errors import DeliveryError, Undeliverable
from bot.core.text import split_message

log = logging.getLogger("concord.matrix")

# Matrix has no hard message limit below the 64 KiB event size; long messages are
# split so that each stays readable on a phone.
MAX_LENGTH = 4000
# Bounds on rate-limit waits: nio would otherwise sleep and retry without end.
MAX_ATTEMPTS = 4
MAX_WAIT = 30.0
REQUEST_TIMEOUT = 45.0
WORD_JOINER = "\u2060"
_ROOM_MENTION = re.compile(r"@(room)\b", re.IGNORECASE)


def inert(text: str) -> str:
    """The text with any "@room" made unable to notify a whole room."""
    return _ROOM_MENTION.sub(lambda m: f"@{WORD_JOINER}{m.group(1)}", text)


def text_content(text: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": inert(text), "m.mentions": {}}


def is_rate_limited(response: Any) -> bool:
    status = getattr(getattr(response, "transport_response", None), "status", None)
    return status == 429 or getattr(response, "status_code", None) == "M_LIMIT_EXCEEDED"


def is_transient(response: Any) -> bool:
    """A failure worth retrying later: the server is down or busy."""
    status = getattr(getattr(response, "transport_response", None), "status", None)
    return status is None or status >= 500 or is_rate_limited(response)


class Sender:
    """Requests to the homeserver with pacing and bounded waits on HTTP 429."""

    def __init__(
        self,
        client: Any,
        pacer: Pacer,
        scope: str = "concord",
        rewrite: Callable[[str], str] | None = None,
    ) -> None:
        self.client = client
        self.pacer = pacer
        self.scope = scope  # the start of transaction ids: community and database
        self.rewrite = rewrite or (lambda text: text)
        # Pieces of a split message already sent, so a retried action does not repeat them.
        self.partial: dict[tuple[str, str], int] = {}
        self.rate_limited = 0  # HTTP 429 answers so far (for the log and the tests)
        # Raises when nothing may be sent into the room now (set by the adapter: an
        # encrypted room nio does not know as encrypted yet is never written in the clear).
        self.check_room: Callable[[str], None] = lambda room_id: None

    def txn_id(self, key: str | None, part: str) -> str | None:
        """The transaction id of ``part`` of the action delivered with the idempotency
        ``key``, or None (a random one) outside the outbox."""
        return None if key is None else f"{self.scope}-{key}-{part}"

    async def call(
        self, what: str, make: Callable[[], Awaitable[Any]], room: str = "", paced: bool = True
    ) -> Any:
        """One request; rate limits are waited out (``retry_after_ms``, bounded)."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if paced:
                await self.pacer.wait(room or "-")
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    response = await make()
            except (aiohttp.ClientError, OSError, TimeoutError, ProtocolError) as exc:
                raise DeliveryError(f"matrix: {what}: {type(exc).__name__}: {exc}") from exc
            except (EncryptionError, GroupEncryptionError, OlmTrustError) as exc:
                raise DeliveryError(f"matrix: {what}: encryption failed: {exc}") from exc
            if not isinstance(response, ErrorResponse):
                return response
            if is_rate_limited(response):
                self.rate_limited += 1
                wait = (response.retry_after_ms or 1000) / 1000
                if wait > MAX_WAIT or attempt == MAX_ATTEMPTS:
                    raise DeliveryError(f"matrix: {what}: rate limited for {wait:.0f} s")
                log.warning("matrix: %s: rate limited, waiting %.1f s", what, wait)
                self.pacer.waited(wait)
                await asyncio.sleep(wait)
                continue
            if is_transient(response):
                raise DeliveryError(f"matrix: {what}: {response}")
            raise Undeliverable(f"matrix: {what}: {response.status_code} {response.message}")
        raise DeliveryError(f"matrix: {what}: gave up")  # pragma: no cover

    async def send_text(
        self, room_id: str, text: str, sent: list[str] | None = None, key: str | None = None
    ) -> list[str]:
        """Send ``text`` as one or more messages; returns their event ids. Each id is
        also appended to ``sent`` as soon as it is known, so pieces that went out
        before a failure are still on record. ``key`` is the delivery's idempotency key."""
        done_key = (room_id, text)
        pieces = split_message(self.rewrite(text), MAX_LENGTH)
        done = self.partial.get(done_key, 0)
        event_ids: list[str] = []
        for index, piece in enumerate(pieces):
            if index < done:
                continue
            content = text_content(piece)
            response = await self.send(room_id, "m.room.message", content, str(index), key)
            event_ids.append(str(response.event_id))
            if sent is not None:
                sent.append(str(response.event_id))
            self.partial[done_key] = index + 1
            if len(self.partial) > 1000:
                self.partial.pop(next(iter(self.partial)))
        self.partial.pop(done_key, None)
        return event_ids

    async def react(self, room_id: str, event_id: str, emoji: str, key: str | None = None) -> str:
        """Add a reaction (as part of the delivery with the idempotency ``key``); its
        event id."""
        relation = {"rel_type": "m.annotation", "event_id": event_id, "key": emoji}
        content = {"m.relates_to": relation}
        response = await self.send(
            room_id, "m.reaction", content, f"react-{emoji}", key, "react in"
        )
        return str(response.event_id)

    async def send(
        self,
        room_id: str,
        kind: str,
        content: dict[str, Any],
        part: str,
        key: str | None,
        what: str = "send to",
    ) -> Any:
        """One event in a room, with the transaction id of ``part`` of the action
        delivered with the idempotency ``key`` (the same id on every attempt, so a retry
        never shows it twice)."""
        self.check_room(room_id)
        txn = self.txn_id(key, part)
        room = self.client.rooms.get(room_id)
        if kind == "m.reaction" and self.client.olm is not None and room and room.encrypted:
            return await self.call(
                f"{what} {room_id}",
                lambda: send_encrypted(self.client, room_id, kind, content, txn),
                room_id,
            )
        return await self.call(
            f"{what} {room_id}",
            lambda: self.client.room_send(
                room_id, kind, content, tx_id=txn, ignore_unverified_devices=True
            ),
            room_id,
        )


async def send_encrypted(
    client: Any, room_id: str, kind: str, content: dict[str, Any], txn: str | None
) -> Any:
    """An event encrypted as nio's ``room_send`` encrypts a message (members synced,
    the group session shared first). nio sends reactions in the clear even in an
    encrypted room; this is used for them. The relation stays readable in the clear,
    as the specification asks, so the server can still group reactions."""
    room = client.rooms[room_id]
    if not room.members_synced:
        await client.joined_members(room_id)
        if client.should_query_keys:
            await client.keys_query()
    if client.olm.should_share_group_session(room_id):
        sharing = client.sharing_session.get(room_id)
        if sharing is not None:
            await sharing.wait()
        else:
            await client.share_group_session(room_id, ignore_unverified_devices=True)
    encrypted_kind, encrypted = client.encrypt(room_id, kind, content)
    method, path, data = Api.room_send(
        client.access_token, room_id, encrypted_kind, encrypted, txn or str(uuid.uuid4())
    )
    return await client._send(RoomSendResponse, method, path, data, (room_id,))
