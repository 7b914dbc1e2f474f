"""A loopback stand-in of Discord's REST API (v10) and gateway, for tests.

No Discord server runs offline. discord.py runs unmodified except two class
attributes (``discord.http.Route.BASE`` and ``DiscordWebSocket.DEFAULT_GATEWAY``,
set by the adapter's ``api_base`` and ``gateway`` settings) and talks real HTTP and a
real websocket to this stand-in. Payloads follow Discord's documented shapes
(https://discord.com/developers/docs); anything not implemented answers 404 and is
recorded in ``unknown`` so gaps fail loudly. Where the adapter's correctness depends
on it, it behaves like Discord:

- the gateway: HELLO, heartbeat ACK, IDENTIFY -> READY then GUILD_CREATE, RESUME ->
  RESUMED, and an invalid session on request (the client identifies again);
- a wrong token is refused (401 on REST, close code 4004 on the gateway);
- JSON is answered with ``Content-Type: application/json`` exactly, as discord.py needs;
- interaction callbacks and followups need no Authorization header (as on Discord);
- an API that is down: on request, a route answers an HTTP error (503) with the
  plain-text body Discord's edge sends, as at the start of an outage;
- several servers (``add_guild``), each with its own channels, roles and members, all
  on one gateway connection; commands registered globally or per server;
- rate limits: per-bucket ``X-RateLimit-*`` headers, and 429 with ``retry_after`` (and
  the ``Via`` header Discord's edge adds) when a bucket is exceeded or a 429 is forced;
- files come as ``multipart/form-data`` (``payload_json`` and ``files[n]``) and are
  answered as the message's ``attachments``;
- in a direct message the bot may delete its own messages one by one (a deleted or
  unknown one is 404 Unknown Message, a member's is 403, and bulk deletion is refused:
  it is for server channels only); a member's message in a server channel only with
  Manage Messages (``manage_messages``), else 403 Missing Permissions.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web

API = "/api/v10"
_JSON = "application/json"


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Request:
    method: str
    path: str
    body: Any
    authorized: bool
    status: int = 200


@dataclass
class Upload:
    """A file sent with a message (a ``files[n]`` part)."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Sent:
    """A message the bot sent: to a channel, as an interaction callback or followup."""

    channel_id: int
    payload: dict[str, Any]
    via: str = "channel"
    message_id: int = 0
    files: list[Upload] = field(default_factory=list)
    deleted: bool = False

    @property
    def content(self) -> str:
        return str(self.payload.get("content") or "")

    @property
    def ephemeral(self) -> bool:
        """Only the member who ran the command sees it (flag 64, EPHEMERAL)."""
        return bool(int(self.payload.get("flags") or 0) & 64)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        rows = self.payload.get("components") or []
        return [c for row in rows for c in row.get("components", []) if c.get("type") == 2]


@dataclass
class Bucket:
    limit: int
    window: float
    started: float = 0.0
    used: int = 0


class ApiError(Exception):
    """An error answer in Discord's shape: ``{"message": ..., "code": ...}``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class DiscordStandIn:
    def __init__(self, token: str = "stand-in-token", guild_id: int = 900) -> None:
        self.token = token
        self.bot_user = _user(1000, "Concord", bot=True)
        self.application_id = 1000
        self.guild_id = guild_id
        self.system_channel = 901
        self.channels: dict[int, dict[str, Any]] = {}
        # Each server's roles and members; ``roles`` and ``members`` are the first's.
        self.guild_names = {guild_id: "Example Community"}
        self.system_channels = {guild_id: self.system_channel}
        self.guild_roles: dict[int, list[dict[str, Any]]] = {
            guild_id: [_role(guild_id, "@everyone", 0)]
        }
        self.guild_members: dict[int, dict[int, dict[str, Any]]] = {guild_id: {}}
        self.roles = self.guild_roles[guild_id]
        self.members = self.guild_members[guild_id]
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}  # per server
        self.dm_channels: dict[int, int] = {}  # user id -> channel id
        self.member_messages: dict[int, int] = {}  # message id -> channel id
        self.manage_messages = False  # the bot's permission in server channels
        self.members_deleted: set[int] = set()
        self.requests: list[Request] = []
        self.unknown: list[str] = []
        self.sent: list[Sent] = []
        self.commands: list[dict[str, Any]] = []
        self.callbacks: list[tuple[int, dict[str, Any]]] = []
        self.withdrawn: list[str] = []  # interaction tokens whose original was deleted
        self.role_grants: list[tuple[int, int]] = []
        self.role_revokes: list[tuple[int, int]] = []
        self.threads: dict[int, dict[str, Any]] = {}
        self.thread_members: dict[int, set[int]] = {}
        self.identifies: list[dict[str, Any]] = []
        self.resumes = 0
        self.too_many = 0
        self.buckets: dict[str, Bucket] = {}
        self.bucket_limits: dict[str, tuple[int, float]] = {}
        self._forced_429: dict[str, int] = {}
        self._forced_errors: dict[str, list[int]] = {}
        self._interactions: dict[str, dict[str, Any]] = {}  # token -> interaction
        self._ids = itertools.count(5000)
        self._seq = itertools.count(1)
        self._socket: web.WebSocketResponse | None = None
        # The connection of each shard (as Discord: a server's events go through shard
        # (guild_id >> 22) % shard_count, direct messages through shard 0).
        self._shards: dict[int, web.WebSocketResponse] = {}
        self.shard_count = 1
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base = ""
        self.gateway = ""
        self.add_channel(self.system_channel, "welcome")

    # Server ----------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        """Serve on ``port`` (any free one by default)."""
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", API + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base = f"http://{host}:{port}{API}"
        self.gateway = f"ws://{host}:{port}/gateway"

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        """Wait until ``predicate()`` holds; re-checked after every request or frame,
        and every 50 ms for what the bot does without calling Discord (logging)."""
        async with asyncio.timeout(timeout):
            while not predicate():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.05)

    # The server's state ----------------------------------------------------------

    def add_guild(self, guild_id: int, system_channel: int, name: str) -> None:
        """Another server the bot is in (before ``start``), with its system channel."""
        self.guild_names[guild_id] = name
        self.system_channels[guild_id] = system_channel
        self.guild_roles[guild_id] = [_role(guild_id, "@everyone", 0)]
        self.guild_members[guild_id] = {}
        self.add_channel(system_channel, "welcome", guild_id)

    def guild_of(self, channel_id: int) -> int:
        """The server of a channel or thread."""
        found = self.threads.get(channel_id) or self.channels[channel_id]
        return int(found["guild_id"])

    def add_channel(self, channel_id: int, name: str, guild_id: int | None = None) -> None:
        self.channels[channel_id] = {
            "id": str(channel_id),
            "type": 0,
            "guild_id": str(guild_id or self.guild_id),
            "name": name,
            "position": len(self.channels),
            "permission_overwrites": [],
            "nsfw": False,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "parent_id": None,
            "flags": 0,
        }

    def add_role(self, role_id: int, name: str, guild_id: int | None = None) -> None:
        roles = self.guild_roles[guild_id or self.guild_id]
        roles.append(_role(role_id, name, len(roles)))

    @staticmethod
    def person(user_id: int, name: str) -> dict[str, Any]:
        """Someone not (yet) in the server: ``join`` makes them a member."""
        return _user(user_id, name)

    def user(
        self, user_id: int, name: str, roles: tuple[int, ...] = (), guild_id: int | None = None
    ) -> dict[str, Any]:
        """A member already in the server (in GUILD_CREATE when added before start)."""
        user = _user(user_id, name)
        self.guild_members[guild_id or self.guild_id][user_id] = self._member(user, roles)
        return user

    def _member(self, user: dict[str, Any], roles: tuple[int, ...] = ()) -> dict[str, Any]:
        return {
            "user": user,
            "nick": None,
            "roles": [str(r) for r in roles],
            "joined_at": now_iso(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
        }

    def guild(self, guild_id: int | None = None) -> dict[str, Any]:
        guild_id = guild_id or self.guild_id
        members = [self._member(self.bot_user), *self.guild_members[guild_id].values()]
        channels = [c for c in self.channels.values() if c["guild_id"] == str(guild_id)]
        return {
            "id": str(guild_id),
            "name": self.guild_names[guild_id],
            "icon": None,
            "owner_id": "1",
            "afk_timeout": 300,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": self.guild_roles[guild_id],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "system_channel_id": str(self.system_channels[guild_id]),
            "system_channel_flags": 0,
            "preferred_locale": "en-US",
            "premium_tier": 0,
            "nsfw_level": 0,
            "large": False,
            "unavailable": False,
            "member_count": len(members),
            "members": members,
            "channels": channels,
            "threads": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "joined_at": now_iso(),
        }

    # Gateway ---------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._socket = socket
        await socket.send_json({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        async for frame in socket:
            if frame.type is not WSMsgType.TEXT:
                break
            message = json.loads(frame.data)
            op, data = message.get("op"), message.get("d")
            if op == 1:
                await socket.send_json({"op": 11})
            elif op == 2:
                if data.get("token") != self.token:
                    await socket.close(code=4004, message=b"Authentication failed.")
                    break
                self.identifies.append(data)
                shard, self.shard_count = data.get("shard") or (0, 1)
                self._shards[shard] = socket
                await self._ready(socket, shard)
            elif op == 6:
                self.resumes += 1
                await self._send(socket, "RESUMED", {})
            elif op == 8:
                guild_id = int(data.get("guild_id") or self.guild_id)
                people = self.guild_members[guild_id].values()
                members = [self._member(self.bot_user), *people]
                chunk = {"guild_id": str(guild_id), "members": members}
                await self._send(socket, "GUILD_MEMBERS_CHUNK", chunk | {"chunk_index": 0})
            self._notify()
        if self._socket is socket:
            self._socket = None
        for shard in [n for n, open_socket in self._shards.items() if open_socket is socket]:
            del self._shards[shard]
        return socket

    def _shard_of(self, guild_id: int | None) -> int:
        return (guild_id >> 22) % self.shard_count if guild_id else 0

    async def _ready(self, socket: web.WebSocketResponse, shard: int = 0) -> None:
        guilds = [g for g in self.guild_names if self._shard_of(g) == shard]
        ready = {
            "v": 10,
            "user": self.bot_user,
            "guilds": [{"id": str(g), "unavailable": True} for g in guilds],
            "session_id": f"session-{len(self.identifies)}",
            "resume_gateway_url": self.gateway,
            "application": {"id": str(self.application_id), "flags": 0},
        }
        await self._send(socket, "READY", ready)
        for guild_id in guilds:
            await self._send(socket, "GUILD_CREATE", self.guild(guild_id))

    async def _send(self, socket: web.WebSocketResponse, name: str, data: Any) -> None:
        await socket.send_json({"op": 0, "t": name, "s": next(self._seq), "d": data})

    async def dispatch(self, name: str, data: dict[str, Any]) -> None:
        """Send one gateway event to the connected bot (to the connection of the
        event's server's shard, when the bot runs several)."""
        guild = data.get("guild_id")
        socket = self._shards.get(self._shard_of(int(guild) if guild else None), self._socket)
        assert socket is not None, "the bot is not connected"
        await self._send(socket, name, data)

    async def drop(self, code: int = 4000) -> None:
        """Close the connection as Discord does on trouble: the client resumes."""
        assert self._socket is not None
        await self._socket.close(code=code, message=b"Unknown error.")

    async def invalidate_session(self) -> None:
        """Op 9 (not resumable): the client must identify again."""
        assert self._socket is not None
        await self._socket.send_json({"op": 9, "d": False, "s": None, "t": None})

    # Things members do ------------------------------------------------------------

    async def join(self, user: dict[str, Any], guild_id: int | None = None) -> None:
        guild_id = guild_id or self.guild_id
        member = self._member(user)
        self.guild_members[guild_id][int(user["id"])] = member
        await self.dispatch("GUILD_MEMBER_ADD", member | {"guild_id": str(guild_id)})

    async def leave(self, user: dict[str, Any], guild_id: int | None = None) -> None:
        guild_id = guild_id or self.guild_id
        self.guild_members[guild_id].pop(int(user["id"]), None)
        await self.dispatch("GUILD_MEMBER_REMOVE", {"guild_id": str(guild_id), "user": user})

    async def say(self, user: dict[str, Any], text: str, channel_id: int | None = None) -> int:
        """A message from a member: in a direct message, or in a server channel/thread."""
        message_id = next(self._ids)
        data: dict[str, Any] = {
            "id": str(message_id),
            "type": 0,
            "content": text,
            "author": user,
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "flags": 0,
            "components": [],
        }
        if channel_id is None:
            data["channel_id"] = str(self._dm_channel(int(user["id"])))
        else:
            guild_id = self.guild_of(channel_id)
            member = self.guild_members[guild_id][int(user["id"])]
            data |= {
                "channel_id": str(channel_id),
                "guild_id": str(guild_id),
                "member": {k: v for k, v in member.items() if k != "user"},
            }
        self.member_messages[message_id] = int(data["channel_id"])
        await self.dispatch("MESSAGE_CREATE", data)
        return message_id

    async def slash(
        self,
        user: dict[str, Any],
        name: str,
        words: str | None = None,
        channel_id: int | None = None,
        locale: str = "en-US",
    ) -> str:
        """A slash command (a type 2 interaction); returns its token."""
        options = [] if words is None else [{"name": "words", "type": 3, "value": words}]
        data: dict[str, Any] = {"name": name, "type": 1, "options": options}
        registered = self.commands
        if channel_id is not None and self.guild_of(channel_id) in self.guild_commands:
            guild_id = self.guild_of(channel_id)  # the server's own commands
            registered, data["guild_id"] = self.guild_commands[guild_id], str(guild_id)
        data["id"] = next((c["id"] for c in registered if c["name"] == name), "0")
        return await self._interact(user, 2, data, channel_id, locale)

    async def press(
        self, user: dict[str, Any], sent: Sent, custom_id: str, locale: str = "en-US"
    ) -> str:
        """A button pressed on a message the bot sent (a type 3 interaction); named by
        its choice key alone, the custom id is the button's own (with its question's mark)."""
        ids = [str(b.get("custom_id")) for b in sent.buttons]
        custom_id = next((i for i in ids if i.partition("~")[0] == custom_id), custom_id)
        message = self._message(sent.channel_id, sent.payload, sent.message_id)
        data = {"custom_id": custom_id, "component_type": 2}
        channel = None if sent.channel_id in self.dm_channels.values() else sent.channel_id
        return await self._interact(user, 3, data, channel, locale, message)

    async def _interact(
        self,
        user: dict[str, Any],
        kind: int,
        data: dict[str, Any],
        channel_id: int | None,
        locale: str,
        message: dict[str, Any] | None = None,
    ) -> str:
        interaction_id = next(self._ids)
        token = f"token-{interaction_id}"
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "token": token,
            "version": 1,
            "locale": locale,
            "app_permissions": "2248473465835073",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.guild_id)},
            "attachment_size_limit": 10485760,
        }
        if message is not None:
            payload["message"] = message
        if channel_id is None:
            dm = self._dm_channel(int(user["id"]))
            payload |= {
                "channel_id": str(dm),
                "channel": {"id": str(dm), "type": 1, "flags": 0, "last_message_id": None},
                "user": user,
                "context": 1,
            }
        else:
            guild_id = self.guild_of(channel_id)
            member = self.guild_members[guild_id][int(user["id"])]
            member = member | {"permissions": "1071698660929"}
            channel = self.threads.get(channel_id) or self.channels[channel_id]
            payload |= {
                "guild_id": str(guild_id),
                "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
                "guild_locale": "en-US",
                "channel_id": str(channel_id),
                "channel": channel,
                "member": member,
                "context": 0,
            }
        self._interactions[token] = payload
        await self.dispatch("INTERACTION_CREATE", payload)
        return token

    # What the bot did -------------------------------------------------------------

    def _dm_channel(self, user_id: int) -> int:
        if user_id not in self.dm_channels:
            self.dm_channels[user_id] = next(self._ids)
        return self.dm_channels[user_id]

    def to(self, channel_id: int) -> list[Sent]:
        return [s for s in self.sent if s.channel_id == channel_id]

    def to_user(self, user_id: int) -> list[Sent]:
        channel = self.dm_channels.get(user_id)
        return [] if channel is None else self.to(channel)

    def texts_to_user(self, user_id: int) -> list[str]:
        return [s.content for s in self.to_user(user_id)]

    def shown_to_user(self, user_id: int) -> list[Sent]:
        """What the member still sees from the bot in their direct messages."""
        return [s for s in self.to_user(user_id) if not s.deleted]

    def calls(self, method: str, prefix: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def limit(self, route: str, limit: int, window: float) -> None:
        """Give a route (``"POST /users/@me/channels"``) a bucket of ``limit`` per window."""
        self.bucket_limits[route] = (limit, window)

    def force_429(self, route: str, times: int) -> None:
        """The next ``times`` requests of ``route`` are answered 429 (retry_after 0.05 s)."""
        self._forced_429[route] = times

    def force_error(self, route: str, status: int, times: int = 1) -> None:
        """The next ``times`` requests of ``route`` (``"GET /users/@me"``) fail with
        ``status`` as Discord's edge answers when the API is down: a plain-text body."""
        self._forced_errors.setdefault(route, []).extend([status] * times)

    # REST -------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = request.path[len(API) :]
        body: Any = None
        uploads: list[Upload] = []
        if request.content_type == "multipart/form-data":
            body, uploads = await _multipart(request)
        elif request.can_read_body:
            body = await request.json()
        authorized = request.headers.get("Authorization") == f"Bot {self.token}"
        record = Request(request.method, path, body, authorized)
        self.requests.append(record)
        try:
            webhook = path.startswith(("/interactions/", "/webhooks/"))
            if not authorized and not webhook:
                raise ApiError(401, 0, "401: Unauthorized")
            route, major = _route(request.method, path)
            failing = self._forced_errors.get(route)
            if failing:
                record.status = failing.pop(0)
                body = "upstream connect error or disconnect/reset before headers"
                return web.Response(text=body, status=record.status)
            limited = self._rate_limit(route, major)
            if limited is not None:
                record.status = 429
                return limited
            status, result = await self._handle(request.method, path, body, request.query, uploads)
            record.status = status
            headers = self._bucket_headers(route, major)
            if status == 204:
                return web.Response(status=204, headers=headers)
            return _json(result, status, headers)
        except ApiError as exc:
            record.status = exc.status
            return _json({"message": exc.message, "code": exc.code}, exc.status)
        finally:
            self._notify()

    def _rate_limit(self, route: str, major: str) -> web.Response | None:
        forced = self._forced_429.get(route, 0)
        if forced:
            self._forced_429[route] = forced - 1
            return self._too_many(0.05, route)
        if route not in self.bucket_limits:
            return None
        limit, window = self.bucket_limits[route]
        bucket = self.buckets.setdefault(f"{route}|{major}", Bucket(limit, window))
        now = time.monotonic()
        if now - bucket.started >= bucket.window:
            bucket.started, bucket.used = now, 0
        if bucket.used >= bucket.limit:
            return self._too_many(bucket.started + bucket.window - now, route)
        bucket.used += 1
        return None

    def _too_many(self, retry_after: float, route: str) -> web.Response:
        self.too_many += 1
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": False,
        }
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, round(retry_after))),
            "X-RateLimit-Limit": "1",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": _bucket_hash(route),
            "X-RateLimit-Scope": "user",
        }
        return _json(body, 429, headers)

    def _bucket_headers(self, route: str, major: str) -> dict[str, str]:
        bucket = self.buckets.get(f"{route}|{major}")
        if bucket is None:
            return {}
        remaining = max(bucket.limit - bucket.used, 0)
        reset_after = max(bucket.started + bucket.window - time.monotonic(), 0.0)
        return {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": _bucket_hash(route),
        }

    async def _handle(
        self, method: str, path: str, body: Any, query: Any, uploads: list[Upload]
    ) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        match method, parts:
            case "GET", ["users", "@me"]:
                return 200, self.bot_user
            case "GET", ["oauth2", "applications", "@me"]:
                return 200, self._application()
            case "PUT", ["applications", _, "commands"]:
                self.commands = [self._command(c) for c in body]
                return 200, self.commands
            case "PUT", ["applications", _, "guilds", guild, "commands"]:
                self.guild_commands[int(guild)] = [self._command(c) for c in body]
                return 200, self.guild_commands[int(guild)]
            case "POST", ["users", "@me", "channels"]:
                user_id = int(body["recipient_id"])
                channel = self._dm_channel(user_id)
                recipient = self.members.get(user_id, {}).get("user") or _user(user_id, "?")
                return 200, {
                    "id": str(channel),
                    "type": 1,
                    "recipients": [recipient],
                    "last_message_id": None,
                    "flags": 0,
                }
            case "POST", ["channels", channel, "messages"]:
                return 200, self._post(int(channel), body, "channel", uploads)
            case "DELETE", ["channels", channel, "messages", message]:
                self._delete(int(channel), int(message))
                return 204, None
            case "POST", ["channels", channel, "messages", "bulk-delete"]:
                if int(channel) in self.dm_channels.values():
                    raise ApiError(403, 50003, "Cannot execute action on a DM channel")
            case "POST", ["channels", channel, "threads"]:
                return 201, self._thread(int(channel), body)
            case "PUT", ["channels", thread, "thread-members", user]:
                if int(thread) not in self.threads:
                    raise ApiError(404, 10003, "Unknown Channel")
                self.thread_members[int(thread)].add(int(user))
                return 204, None
            case "GET", ["channels", channel]:
                found = self.threads.get(int(channel)) or self.channels.get(int(channel))
                if found is None:
                    raise ApiError(404, 10003, "Unknown Channel")
                return 200, found
            case "GET", ["guilds", guild, "members", user]:
                if int(user) not in self.guild_members.get(int(guild), {}):
                    raise ApiError(404, 10007, "Unknown Member")
                return 200, self.guild_members[int(guild)][int(user)]
            case (("PUT" | "DELETE"), ["guilds", guild, "members", user, "roles", role]):
                if int(user) not in self.guild_members.get(int(guild), {}):
                    raise ApiError(404, 10007, "Unknown Member")
                done = self.role_grants if method == "PUT" else self.role_revokes
                done.append((int(user), int(role)))
                return 204, None
            case "POST", ["interactions", _, token, "callback"]:
                result = self._callback(token, body)
                # The callback's resource comes back only when asked for.
                return (200, result) if query.get("with_response") in ("1", "true") else (204, None)
            case "POST", ["webhooks", _, token]:
                interaction = self._interactions.get(token)
                if interaction is None:
                    raise ApiError(404, 10015, "Unknown Webhook")
                channel_id = int(interaction["channel_id"])
                return 200, self._post(channel_id, body, "followup", uploads)
            case "DELETE", ["webhooks", _, token, "messages", "@original"]:
                self.withdrawn.append(token)
                return 204, None
        self.unknown.append(f"{method} {path}")
        raise ApiError(404, 0, f"404: Not Found ({method} {path} is not in the stand-in)")

    def _application(self) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": "Concord",
            "icon": None,
            "description": "",
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": _user(1, "owner"),
            "team": None,
            "flags": 0,
            "summary": "",
        }

    def _command(self, command: dict[str, Any]) -> dict[str, Any]:
        return command | {
            "id": str(next(self._ids)),
            "application_id": str(self.application_id),
            "version": "1",
            "default_member_permissions": None,
        }

    def _post(
        self, channel_id: int, body: dict[str, Any], via: str, uploads: list[Upload]
    ) -> dict[str, Any]:
        content = body.get("content") or ""
        if not content and not body.get("components") and not uploads:
            raise ApiError(400, 50006, "Cannot send an empty message")
        if len(content) > 2000:
            raise ApiError(400, 50035, "Invalid Form Body: content longer than 2000")
        if sum(len(u.data) for u in uploads) > 10 * 1024 * 1024:
            raise ApiError(413, 40005, "Request entity too large")
        nonce = body.get("nonce")
        if body.get("enforce_nonce") and nonce is not None:
            # Discord: a message by the same author with the same nonce in the last few
            # minutes is returned again instead of creating another one.
            if len(str(nonce)) > 25:
                raise ApiError(400, 50035, "Invalid Form Body: nonce longer than 25")
            for earlier in self.sent:
                if earlier.channel_id == channel_id and earlier.payload.get("nonce") == nonce:
                    return self._message(channel_id, earlier.payload, earlier.message_id, [])
        message_id = next(self._ids)
        self.sent.append(Sent(channel_id, body, via, message_id, uploads))
        return self._message(channel_id, body, message_id, uploads)

    def _delete(self, channel_id: int, message_id: int) -> None:
        """DELETE /channels/{channel}/messages/{message}: in a direct message, only the
        bot's own messages."""
        if self.member_messages.get(message_id) == channel_id:
            if channel_id in self.dm_channels.values():
                raise ApiError(403, 50003, "Cannot execute action on a DM channel")
            if not self.manage_messages:
                raise ApiError(403, 50013, "Missing Permissions")
            if message_id in self.members_deleted:
                raise ApiError(404, 10008, "Unknown Message")
            self.members_deleted.add(message_id)
            return
        for sent in self.sent:
            if sent.channel_id == channel_id and sent.message_id == message_id:
                if sent.deleted:
                    break
                sent.deleted = True
                return
        raise ApiError(404, 10008, "Unknown Message")

    def _message(
        self,
        channel_id: int,
        body: dict[str, Any],
        message_id: int | None = None,
        uploads: list[Upload] | None = None,
    ) -> dict[str, Any]:
        message_id = next(self._ids) if message_id is None else message_id
        message = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "type": 0,
            "content": body.get("content") or "",
            "author": self.bot_user,
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [
                _attachment(channel_id, next(self._ids), upload) for upload in uploads or ()
            ],
            "embeds": [],
            "pinned": False,
            "flags": body.get("flags") or 0,
            "components": body.get("components") or [],
        }
        if channel_id in self.channels or channel_id in self.threads:
            message["guild_id"] = str(self.guild_of(channel_id))
        return message

    def _callback(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        interaction = self._interactions.get(token)
        if interaction is None:
            raise ApiError(404, 10062, "Unknown interaction")
        if interaction.get("answered"):
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        interaction["answered"] = True
        self.callbacks.append((int(interaction["id"]), body))
        kind = body["type"]
        data = body.get("data") or {}
        channel = int(interaction["channel_id"])
        if kind == 7 and "message" in interaction:  # the pressed message, updated
            message = interaction["message"] | {
                k: v for k, v in data.items() if k in ("content", "components")
            }
        else:
            message = self._message(
                channel, {"content": data.get("content", ""), "flags": data.get("flags", 0)}
            )
        result: dict[str, Any] = {
            "interaction": {
                "id": interaction["id"],
                "type": interaction["type"],
                "activity_instance_id": None,
                "response_message_id": message["id"],
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool((data.get("flags") or 0) & 64),
            },
            "resource": {"type": kind},
        }
        if kind in (4, 5, 7):
            result["resource"]["message"] = message
        return result

    def _thread(self, parent: int, body: dict[str, Any]) -> dict[str, Any]:
        thread_id = next(self._ids)
        thread = {
            "id": str(thread_id),
            "guild_id": str(self.guild_of(parent)),
            "parent_id": str(parent),
            "owner_id": self.bot_user["id"],
            "name": body["name"],
            "type": body.get("type", 11),
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "flags": 0,
            "total_message_sent": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": body.get("auto_archive_duration", 4320),
                "archive_timestamp": now_iso(),
                "locked": False,
                "invitable": body.get("invitable", True),
                "create_timestamp": now_iso(),
            },
        }
        self.threads[thread_id] = thread
        self.thread_members[thread_id] = {int(self.bot_user["id"])}
        return thread


def _user(user_id: int, name: str, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


def _attachment(channel_id: int, attachment_id: int, upload: Upload) -> dict[str, Any]:
    url = f"https://cdn.discordapp.com/attachments/{channel_id}/{attachment_id}/{upload.filename}"
    return {
        "id": str(attachment_id),
        "filename": upload.filename,
        "size": len(upload.data),
        "url": url,
        "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
        # Discord tells the type from the name, as a browser would.
        "content_type": mimetypes.guess_type(upload.filename)[0] or upload.content_type,
    }


async def _multipart(request: web.Request) -> tuple[dict[str, Any], list[Upload]]:
    """A message with files: its JSON in ``payload_json``, each file in ``files[n]``."""
    body: dict[str, Any] = {}
    uploads: list[Upload] = []
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "payload_json":
            body = json.loads(await part.text())
        elif part.name and part.name.startswith("files["):
            content_type = part.headers.get("Content-Type", "")
            uploads.append(Upload(part.filename or "", content_type, bytes(await part.read())))
    return body, uploads


def _role(role_id: int, name: str, position: int) -> dict[str, Any]:
    return {
        "id": str(role_id),
        "name": name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": position,
        "permissions": "0",
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


def _route(method: str, path: str) -> tuple[str, str]:
    """Discord's bucket of a request: the route with ids templated, and the major
    parameter (channel, guild, or webhook) that splits it."""
    parts = path.strip("/").split("/")
    major = ""
    template = []
    for index, part in enumerate(parts):
        if part.isdigit() or part.startswith("token-"):
            if index == 1 and parts[0] in ("channels", "guilds", "webhooks", "interactions"):
                major = part
            template.append("{id}")
        else:
            template.append(part)
    return f"{method} /{'/'.join(template)}", major


def _bucket_hash(route: str) -> str:
    return f"hash-{abs(hash(route)) % 10**8}"


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Exactly ``application/json``: discord.py reads JSON only with that content type."""
    response = web.Response(
        body=json.dumps(data).encode("utf-8"), status=status, headers=headers or {}
    )
    response.headers["Content-Type"] = _JSON
    return response
