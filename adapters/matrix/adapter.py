"""The Matrix adapter: matrix-nio (with end-to-end encryption) to and from Concord.

Only translation lives here; the engine decides everything. What it does:

* Syncs in its own loop and stores ``next_batch`` with ``host.save_platform_record`` only after
  the events of that sync were handed in. A fresh start syncs once without handling
  anything, so old history is never replayed; a restart resumes from the stored token
  (with the rooms' full state, and missing timeline pages fetched back).
* Reads and answers in encrypted rooms. The keys live in a crypto store (settings
  ``store_path``) that must be kept: without it the bot cannot decrypt, and it says so
  in the room (and in the log) rather than going silent. Trust: the bot encrypts for
  every device of the members, verified or not (``ignore_unverified_devices=True``),
  which is the usual choice for a bot that nobody verifies interactively.
* Never sends in the clear into a room it created encrypted or whose state says
  encrypted (refused and retried instead), and writes to a member only in their own
  private direct room, recorded when it is made (adapters/matrix/direct_rooms.py).
* Sends plain text only, never pinging anyone, with commands written as the members
  type them here (``!concord help``, not ``/help``), and with transaction ids that make
  a re-sent action show once (see adapters/matrix/send.py, adapters/command_mentions.py).
* Translates actions into requests in adapters/matrix/delivery.py.
* Sends files (``m.file``, encrypted in encrypted rooms) and, for ``/clear``, redacts
  its own remembered messages in a member's direct room (adapters/matrix/history.py).
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any

import aiohttp
from nio import (  # type: ignore[import-untyped]
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    MegolmEvent,
    ReactionEvent,
    SyncResponse,
)
from nio.api import MessageDirection  # type: ignore[import-untyped]

from adapters.command_mentions import CommandMentions, command_names
from adapters.matrix.delivery import Delivery
from adapters.matrix.events import PLATFORM, display_name, translate
from adapters.matrix.history import History
from adapters.matrix.roles import roles_in, roles_of
from adapters.matrix.rooms import Rooms
from adapters.matrix.send import MAX_LENGTH, Sender, is_transient
from adapters.matrix.settings import Settings
from adapters.matrix.undecryptable import Undecryptable, notice
from adapters.pacing import Pacer
from bot.core.actions import Action, Capabilities
from bot.core.errors import ConcordError, DeliveryError, Undeliverable
from bot.core.events import MemberJoined, MemberRef
from bot.engine.host import AdapterHost

log = logging.getLogger("concord.matrix")

CURSOR = "matrix:next_batch"
TXN_TAG = "matrix:txn_tag"
MAX_BACKOFF = 300.0
BACKFILL_PAGES = 10


class Unreachable(ConcordError):
    """The homeserver could not be reached or answered with a server error."""


def create(settings: Settings, host: AdapterHost) -> MatrixAdapter:
    # nio logs every room event at INFO and every error answer as an invalid response;
    # the adapter logs what matters itself.
    logging.getLogger("nio").setLevel(logging.WARNING)
    logging.getLogger("nio.responses").setLevel(logging.ERROR)
    return MatrixAdapter(settings, host)


class MatrixAdapter:
    platform = PLATFORM
    capabilities = Capabilities(
        native_choices=True,
        private_spaces=True,
        direct_first=True,
        roles=True,
        delete_messages=True,
        files=True,
        max_length=MAX_LENGTH,
    )

    def __init__(self, settings: Settings, host: AdapterHost) -> None:
        self.settings = settings
        self.host = host
        database = Path(host.database_path)
        self.store_path = settings.store_path or database.parent / "matrix-store"
        self.pacer = Pacer(
            settings.send_rate,
            settings.send_burst,
            settings.send_rate,
            settings.send_burst,
            waited=lambda seconds: host.rate_limit_waited(PLATFORM, seconds),
        )
        self.client: Any = None
        self.sender: Sender | None = None
        self.rooms: Rooms | None = None
        self.history: History | None = None
        self.delivery: Delivery | None = None
        self.ready = asyncio.Event()  # set once the first sync is handled
        self.lock = asyncio.Lock()  # one delivery (or key exchange) at a time
        self.synced = False
        self.undecryptable = Undecryptable()
        self.decrypt_grace = 5.0
        self.timeline_limit = 100
        self.poll_ms = 30_000
        self.backoff = 1.0
        # In a deployment of many communities, roles come from the rooms of the
        # community the core routes each event to (adapters/matrix/roles.py).
        host.roles_from(PLATFORM, self._roles_in)

    def _roles_in(self, user: str, spaces: tuple[str, ...]) -> tuple[str, ...]:
        return roles_in(self.rooms, user, spaces) if self.rooms is not None else ()

    # Connection -----------------------------------------------------------------------

    async def run(self) -> None:
        """Connect and sync until cancelled; network failures are retried with backoff."""
        while True:
            try:
                await self._connect()
                await self._sync_forever()
            except (Unreachable, DeliveryError) as exc:
                self.ready.clear()
                self.synced = False
                log.warning("%s; retrying in %.0f s", exc, self.backoff)
                await asyncio.sleep(self.backoff)
                self.backoff = min(self.backoff * 2, MAX_BACKOFF)

    async def close(self) -> None:
        self.ready.clear()
        self.synced = False
        if self.client is not None:
            await self.client.close()
            store = getattr(self.client, "store", None)
            database = getattr(store, "database", None)
            if database is not None:
                database.close()
            self.client = None

    def _new_client(self) -> Any:
        settings = self.settings
        if settings.encryption:
            self.store_path.mkdir(mode=0o700, parents=True, exist_ok=True)
        config = AsyncClientConfig(
            max_limit_exceeded=0,
            max_timeouts=0,
            request_timeout=30,
            encryption_enabled=settings.encryption,
            store_sync_tokens=False,
            **({"pickle_key": settings.store_key} if settings.store_key else {}),
        )
        store = str(self.store_path) if settings.encryption else ""
        client = AsyncClient(settings.homeserver, settings.user_id, store_path=store, config=config)
        mentions = CommandMentions(command_names(self.host), settings.command_prefix)
        sender = Sender(client, self.pacer, self._txn_scope(), mentions.rewrite)
        self.sender = sender
        self.rooms = Rooms(client, sender, self.host, settings)
        self.history = History(client, sender, self.host)
        self.delivery = Delivery(client, sender, self.rooms, self.history, settings)
        return client

    def _txn_scope(self) -> str:
        """The start of the transaction ids: the community and a random tag kept in
        this database (a new database must not reuse the ids of an old one)."""
        tag = self.host.database_tag(TXN_TAG)
        community = re.sub(r"[^A-Za-z0-9_.]+", "_", self.host.community)[:40]
        return f"concord-{community}-{tag}"

    async def _request(self, what: str, make: Any) -> Any:
        """A request outside delivery: network trouble becomes Unreachable."""
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
            # cancellation that arrives as the request completes, and stop would hang.
            async with asyncio.timeout(self.poll_ms / 1000 + 30):
                response = await make()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise Unreachable(
                f"matrix: cannot reach {self.settings.homeserver} ({what}: "
                f"{type(exc).__name__}: {exc})"
            ) from exc
        if isinstance(response, ErrorResponse):
            errcode = response.status_code or ""
            if errcode in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
                raise ConcordError(
                    f"matrix: the homeserver rejected the access token in "
                    f"{self.settings.token_env} ({errcode})"
                )
            if is_transient(response):
                raise Unreachable(f"matrix: {what} failed: {response}")
            raise ConcordError(f"matrix: {what} failed: {response}")
        return response

    async def _connect(self) -> None:
        settings = self.settings
        if self.client is None:
            self.client = self._new_client()
        client = self.client
        client.access_token = settings.token
        who = await self._request("whoami", client.whoami)
        if who.user_id != settings.user_id:
            raise ConcordError(
                f"matrix: the access token in {settings.token_env} belongs to {who.user_id}, "
                f"not to {settings.user_id}"
            )
        device = settings.device_id or who.device_id
        if not device:
            raise ConcordError("matrix: the homeserver did not say the device id: set device_id")
        if who.device_id and device != who.device_id:
            raise ConcordError(
                f"matrix: the access token in {settings.token_env} is for device "
                f"{who.device_id}, not for the configured device_id {device}"
            )
        if client.store is None:
            # whoami already filled in the device; this also opens the crypto store.
            client.restore_login(settings.user_id, device, settings.token)
            if settings.encryption and client.olm is None:
                raise ConcordError(
                    f"matrix: encryption is on but the crypto store at {self.store_path} "
                    "could not be opened (is matrix-nio[e2e] installed?)"
                )
        assert self.rooms is not None
        await self.rooms.join_configured()

    # Syncing --------------------------------------------------------------------------

    def _filter(self) -> dict[str, Any]:
        return {
            "room": {"timeline": {"limit": self.timeline_limit}},
            "presence": {"types": []},
        }

    async def _sync_forever(self) -> None:
        since = self.host.platform_record(CURSOR)
        first = True
        while True:
            timeout = 0 if first else self.poll_ms
            if self.undecryptable.pending:
                timeout = min(timeout, int(self.decrypt_grace * 1000))
            response = await self._request(
                "sync",
                lambda s=since, t=timeout, f=first: self.client.sync(
                    timeout=t, sync_filter=self._filter(), since=s, full_state=f or None
                ),
            )
            assert isinstance(response, SyncResponse)
            self.synced = True
            await self._keys()
            await self._process(response, since)
            self.host.save_platform_record(CURSOR, response.next_batch)
            since = response.next_batch
            await self._retry_pending()
            self.backoff = 1.0
            if first:
                first = False
                self.ready.set()
                log.info("matrix ready as %s", self.settings.user_id)
                self.host.ready(PLATFORM)

    async def _keys(self) -> None:
        """Upload, query and claim encryption keys as nio's own loop would."""
        client = self.client
        if client.olm is None:
            return
        async with self.lock:
            if client.should_upload_keys:
                try:
                    await self._request("upload keys", client.keys_upload)
                except Unreachable:
                    raise
                except ConcordError as exc:
                    raise ConcordError(
                        f"matrix: the homeserver refused the encryption keys of device "
                        f"{client.device_id} ({exc}); the crypto store at {self.store_path} was "
                        "lost or belongs to another login: give the bot a new access token"
                    ) from exc
            if client.should_query_keys:
                await self._request("query keys", client.keys_query)
            if client.should_claim_keys:
                users = client.get_users_for_key_claiming()
                await self._request("claim keys", lambda: client.keys_claim(users))
            await self._request("send to devices", client.send_to_device_messages)

    async def _process(self, response: Any, since: str | None) -> None:
        """Hand in the events of one sync, in order; none on a fresh start."""
        assert self.rooms is not None
        rooms = response.rooms
        for room_id, info in rooms.invite.items():
            await self.rooms.on_invite(room_id, info)
        for room_id in rooms.leave:
            self.rooms.forget(room_id)
        for room_id, info in rooms.join.items():
            timeline = info.timeline
            self.rooms.scan_state(room_id, [*info.state, *timeline.events])
            if since is None:
                continue
            events = list(timeline.events)
            if timeline.limited and timeline.prev_batch:
                events = await self._backfill(room_id, timeline.prev_batch, since) + events
            for event in events:
                await self._on_event(room_id, event)

    async def _backfill(self, room_id: str, start: str, since: str) -> list[Any]:
        """Events a limited sync left out, fetched back to the stored position."""
        found: list[Any] = []
        token = start
        for _ in range(BACKFILL_PAGES):
            page = await self._request(
                "fetch missed events",
                lambda t=token: self.client.room_messages(
                    room_id, start=t, end=since, direction=MessageDirection.back, limit=100
                ),
            )
            found.extend(page.chunk)
            if not page.chunk or not page.end or page.end == token:
                break
            token = page.end
        else:
            log.warning("matrix: more than %d missed events in %s", 100 * BACKFILL_PAGES, room_id)
        log.info("matrix: fetched %d missed events in %s", len(found), room_id)
        return list(reversed(found))

    async def _on_event(self, room_id: str, event: Any) -> None:
        assert self.rooms is not None
        sender = getattr(event, "sender", None)
        if not sender or sender == self.settings.user_id:
            return
        if isinstance(event, MegolmEvent):
            await self._undecryptable(room_id, event)
            return
        place = self.rooms.place_for(room_id, sender)
        if place is None:
            return
        room = self.client.rooms.get(room_id)
        member = MemberRef(PLATFORM, sender, display_name(event, room))
        is_reaction = isinstance(event, ReactionEvent)
        question = self.rooms.question(room_id, sender) if is_reaction else None
        neutral = translate(
            event,
            place,
            self.host.community,
            member,
            roles_of(self.rooms, sender),
            self.settings.command_prefix,
            question,
        )
        if isinstance(neutral, MemberJoined) and room_id not in self.rooms.served:
            return  # joining a direct room, a space or the members' room is no arrival
        if neutral is not None:
            await self.host.handle(neutral)

    # Messages the bot cannot decrypt ------------------------------------------------------

    async def _undecryptable(self, room_id: str, event: Any) -> None:
        self.undecryptable.add(room_id, event)
        try:
            await self.client.request_room_key(event)
        except Exception as exc:  # already requested, or the server is away: not fatal
            log.debug("matrix: room key request not sent: %s", exc)

    async def _retry_pending(self) -> None:
        decrypted, expired = self.undecryptable.sort(self.client, self.decrypt_grace)
        for room_id, event in decrypted:
            await self._on_event(room_id, event)
        for room_id, event in expired:
            if not self.undecryptable.first_report(room_id, event, self.store_path):
                continue
            assert self.sender is not None
            try:
                async with self.lock:
                    member = MemberRef(PLATFORM, event.sender)
                    text = notice(self.host, member, self.rooms, room_id)
                    await self.sender.send_text(room_id, text)
            except (DeliveryError, Undeliverable) as exc:
                log.warning("%s", exc)

    # Delivery -----------------------------------------------------------------------------

    async def deliver(self, action: Action, idempotency_key: str | None = None) -> None:
        """Messages go with transaction ids made from ``idempotency_key`` and the
        database's tag, so the homeserver shows a message re-sent after a crash once
        (None, outside the outbox: random ones)."""
        if not self.synced or self.delivery is None:
            raise DeliveryError("matrix: not connected yet")
        async with self.lock:
            # Undeliverable (retrying would only block every later action behind this one)
            # reaches the outbox, which records the action as undeliverable.
            await self.delivery.deliver(action, idempotency_key)
