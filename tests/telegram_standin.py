"""A loopback stand-in of the Telegram Bot API, for tests (no real server runs offline).

python-telegram-bot talks real HTTP to it. It answers the methods the adapter uses in
the documented JSON shapes (https://core.telegram.org/bots/api) and answers anything
else with ``{"ok": false, "error_code": 404}`` so gaps fail loudly. It behaves like
Telegram where the adapter's correctness depends on it:

- ``getUpdates`` long-polls for real; an update is forgotten only once a later call
  asks with a higher ``offset``; ``chat_member`` updates come only when asked for;
  a second ``getUpdates`` while one is pending ends the first with 409 Conflict (two
  pollers on one token), and none is served while a webhook is set (409);
- ``setWebhook`` keeps the URL, secret token and allowed updates; ``deleteWebhook``
  removes them (and pending updates when asked to drop them);
- a bot may not write first to a user who never opened a private chat with it (403);
- flood limits: answers 429 with ``retry_after`` beyond about 30 messages a second
  overall, one a second per chat (short bursts allowed) or 20 a minute per group;
- restricting a member emits the ``chat_member`` update Telegram would send;
- a forwarded message keeps its text and entities and carries ``forward_origin``;
- ``sendDocument`` takes only an uploaded file (multipart), as the adapter sends it;
- ``deleteMessage`` refuses a message it does not know (or already deleted) and one
  older than 48 hours, and a member's message in a group where the bot is not an
  administrator allowed to delete messages (``bot_deletes_in``); ``deleteMessages``
  skips unknown ids but, in the strictest reading of the documentation, refuses the
  whole batch when one of them is too old.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from adapters.telegram.send import Limits

_JSON_FIELDS = (
    "allowed_updates",
    "commands",
    "entities",
    "link_preview_options",
    "message_ids",
    "permissions",
    "reply_markup",
    "reply_parameters",
    "scope",
)
_NOT_BY_DEFAULT = ("chat_member", "message_reaction", "message_reaction_count")
_PERMISSIONS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
    "can_edit_tag",
    "can_react_to_messages",
)


class ApiError(Exception):
    def __init__(self, status: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int = 200


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Sent:
    chat_id: int
    text: str
    params: dict[str, Any]
    message: dict[str, Any] = field(default_factory=dict)
    document: Upload | None = None
    deleted: bool = False

    @property
    def message_id(self) -> int:
        return int(self.message["message_id"])

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup") or {}
        return [button for row in markup.get("inline_keyboard", []) for button in row]


class BotApiStandIn:
    def __init__(
        self,
        token: str = "123456:stand-in-token",
        username: str = "concord_test_bot",
        limits: Limits | None = None,
    ) -> None:
        self.token = token
        self.bot_user = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "Concord",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.limits = limits or Limits()
        self.calls: list[Call] = []
        self.unknown: list[str] = []
        self.sent: list[Sent] = []
        self.too_many: list[str] = []  # why each 429 was answered
        self.updates: list[dict[str, Any]] = []
        self.poll_offsets: list[int] = []
        self.conflicts: list[str] = []  # why each 409 was answered
        self.webhook: dict[str, Any] | None = None  # setWebhook's parameters, while set
        self._polling: asyncio.Event | None = None  # set to end the pending getUpdates
        self.allowed_updates: list[str] = []
        self.started: set[int] = set()
        self.permissions: dict[tuple[int, int], dict[str, bool]] = {}
        self.command_menus: dict[str, list[dict[str, str]]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self.bot_deletes_in: set[int] = set()  # groups where the bot may delete messages
        self.members_said: dict[tuple[int, int], dict[str, Any]] = {}  # in groups
        self.members_deleted: set[tuple[int, int]] = set()
        self._users: dict[int, dict[str, Any]] = {}
        self._forced: list[tuple[str, ApiError]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._changed = asyncio.Event()
        self._closing = False
        # A round trip as across the internet (seconds added to every call but the long
        # poll), and the most calls the bot had waiting for an answer at once.
        self.latency = 0.0
        self.most_in_flight = 0
        self._in_flight = 0
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        # flood-limit state
        self._recent: deque[float] = deque()
        self._chat_tokens: dict[int, tuple[float, float]] = {}
        self._group_recent: defaultdict[int, deque[float]] = defaultdict(deque)

    # Server ----------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/bot"

    async def stop(self) -> None:
        self._closing = True  # pending long polls answer at once
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 15.0) -> None:
        """Wait until ``predicate()`` holds; re-checked after every API call."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._changed.wait()

    async def drained(self, timeout: float = 15.0) -> None:
        """Wait until the bot has confirmed (polled past) every update pushed so far."""
        last = max((u["update_id"] for u in self.updates), default=0)
        await self.wait_for(
            lambda: bool(self.poll_offsets) and self.poll_offsets[-1] > last, timeout
        )

    async def _dispatch(self, request: web.Request) -> web.Response:
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", request.path)
        if match is None:
            return _error(ApiError(404, "Not Found"))
        if match.group(1) != self.token:
            return _error(ApiError(401, "Unauthorized"))
        method = match.group(2).lower()  # Bot API method names are case-insensitive
        try:
            params = await _params(request)
        except ValueError as exc:
            return _error(ApiError(400, f"Bad Request: {exc}"))
        call = Call(method, params)
        self.calls.append(call)
        waits = method != "getupdates"
        self._in_flight += waits
        self.most_in_flight = max(self.most_in_flight, self._in_flight)
        try:
            if waits and self.latency:
                await asyncio.sleep(self.latency)
            result = await self._call(method, params)
        except ApiError as exc:
            call.status = exc.status
            return _error(exc)
        finally:
            self._in_flight -= waits
            self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _call(self, method: str, params: dict[str, Any]) -> Any:
        for index, (name, error) in enumerate(self._forced):
            if name.lower() == method:
                del self._forced[index]
                raise error
        handler = {
            "getme": self._get_me,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "senddocument": self._send_document,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "answercallbackquery": self._answer_callback_query,
            "restrictchatmember": self._restrict_chat_member,
            "setmycommands": self._set_my_commands,
        }.get(method)
        if handler is None:
            self.unknown.append(method)
            raise ApiError(404, f"Not Found: {method} is not implemented by the stand-in")
        return await handler(params)

    def force_error(self, method: str, status: int, description: str, **parameters: Any) -> None:
        """The next call of ``method`` fails like this (for example 429, retry_after=1)."""
        self._forced.append((method, ApiError(status, description, **parameters)))

    # Methods ---------------------------------------------------------------------

    async def _get_me(self, params: dict[str, Any]) -> Any:
        return self.bot_user

    async def _delete_webhook(self, params: dict[str, Any]) -> Any:
        if _flag(params.get("drop_pending_updates")):
            self.updates.clear()
        self.webhook = None
        return True

    async def _set_webhook(self, params: dict[str, Any]) -> Any:
        url = params.get("url")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        if _flag(params.get("drop_pending_updates")):
            self.updates.clear()
        self.webhook = dict(params)
        if "allowed_updates" in params:
            self.allowed_updates = list(params["allowed_updates"] or [])
        return True

    def _conflict(self, why: str) -> ApiError:
        self.conflicts.append(why)
        return ApiError(409, f"Conflict: {why}")

    async def _get_updates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise self._conflict("can't use getUpdates method while webhook is active")
        if self._polling is not None:  # Telegram ends the earlier request
            self._polling.set()
        ending = self._polling = asyncio.Event()
        try:
            return await self._long_poll(params, ending)
        finally:
            if self._polling is ending:
                self._polling = None

    async def _long_poll(self, params: dict[str, Any], ending: asyncio.Event) -> Any:
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = float(params.get("timeout") or 0)
        if "allowed_updates" in params:
            self.allowed_updates = list(params["allowed_updates"] or [])
        self.poll_offsets.append(offset)
        if offset:  # confirms every update before it
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        self._notify()  # a test may wait for this poll to begin
        deadline = time.monotonic() + timeout
        while True:
            if ending.is_set():
                raise self._conflict(
                    "terminated by other getUpdates request;"
                    " make sure that only one bot instance is running"
                )
            ready = [u for u in self.updates if u["update_id"] >= offset and self._wanted(u)]
            remaining = deadline - time.monotonic()
            if ready or self._closing or remaining <= 0:
                return ready[:limit]
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    waits = [asyncio.ensure_future(e.wait()) for e in (changed, ending)]
                    try:
                        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        for waiting in waits:
                            waiting.cancel()

    def _wanted(self, update: dict[str, Any]) -> bool:
        kind = next(k for k in update if k != "update_id")
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in _NOT_BY_DEFAULT

    async def _send_message(self, params: dict[str, Any]) -> Any:
        chat_id = _int(params, "chat_id")
        text = params.get("text", "")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        _check_markup(params.get("reply_markup"))
        self._may_send(chat_id)
        message = self._message(chat_id, text=text)
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.sent.append(Sent(chat_id, text, params, message))
        return message

    def _may_send(self, chat_id: int) -> None:
        if chat_id > 0 and chat_id not in self.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        retry_after = self._flood(chat_id)
        if retry_after is not None:
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )

    def _message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chats.get(chat_id) or {"id": chat_id, "type": "supergroup", "title": "?"},
            "from": self.bot_user,
            **content,
        }

    async def _send_document(self, params: dict[str, Any]) -> Any:
        chat_id = _int(params, "chat_id")
        upload = params.get("document")
        if not isinstance(upload, Upload):
            # A string would be a file_id or an HTTP URL, which this stand-in never issued.
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if not upload.data:
            raise ApiError(400, "Bad Request: file must be non-empty")
        caption = params.get("caption") or ""
        if len(caption) > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")
        _check_markup(params.get("reply_markup"))
        self._may_send(chat_id)
        unique = f"doc{next(self._message_ids)}"
        document = {
            "file_id": f"BQAC{unique}",
            "file_unique_id": unique,
            "file_name": upload.filename,
            "mime_type": upload.content_type,
            "file_size": len(upload.data),
        }
        message = self._message(chat_id, document=document)
        if caption:
            message["caption"] = caption
        self.sent.append(Sent(chat_id, caption, params, message, document=upload))
        return message

    def _deletable(self, chat_id: int, message_id: int) -> Sent | None:
        """The bot's message, or None when there is none (any more); raises when it is
        too old to delete."""
        for sent in self.sent:
            if sent.chat_id == chat_id and sent.message_id == message_id and not sent.deleted:
                if time.time() - sent.message["date"] >= 48 * 3600:
                    raise ApiError(400, "Bad Request: message can't be deleted")
                return sent
        return None

    async def _delete_message(self, params: dict[str, Any]) -> Any:
        chat_id, message_id = _int(params, "chat_id"), _int(params, "message_id")
        if (chat_id, message_id) in self.members_said:
            if chat_id not in self.bot_deletes_in:
                raise ApiError(400, "Bad Request: message can't be deleted")
            if (chat_id, message_id) in self.members_deleted:
                raise ApiError(400, "Bad Request: message to delete not found")
            self.members_deleted.add((chat_id, message_id))
            return True
        found = self._deletable(chat_id, message_id)
        if found is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        found.deleted = True
        return True

    async def _delete_messages(self, params: dict[str, Any]) -> Any:
        chat_id, ids = _int(params, "chat_id"), params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise ApiError(400, "Bad Request: message_ids must contain 1-100 identifiers")
        if not all(isinstance(i, int) for i in ids):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        found = [self._deletable(chat_id, i) for i in ids]  # raises before deleting any
        for sent in found:
            if sent is not None:
                sent.deleted = True
        return True

    def _flood(self, chat_id: int) -> int | None:
        """Seconds to wait when a documented limit would be exceeded, else None."""
        limits, now = self.limits, time.monotonic()
        recent = self._recent
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        rate, burst = limits.per_chat_per_second, float(limits.per_chat_burst)
        tokens, at = self._chat_tokens.get(chat_id, (burst, now))
        tokens = min(burst, tokens + (now - at) * rate)
        window = self._group_recent[chat_id]
        while window and window[0] <= now - 60.0:
            window.popleft()
        if len(recent) >= limits.messages_per_second:
            self.too_many.append(f"over {limits.messages_per_second} messages a second")
            return 1
        if tokens < 1.0:
            self.too_many.append(f"over {rate} a second in chat {chat_id}")
            return max(1, math.ceil((1.0 - tokens) / rate))
        if chat_id < 0 and len(window) >= limits.per_group_per_minute:
            self.too_many.append(f"over {limits.per_group_per_minute} a minute in {chat_id}")
            return max(1, math.ceil(window[0] + 60.0 - now))
        if chat_id < 0:
            window.append(now)
        recent.append(now)
        self._chat_tokens[chat_id] = (tokens - 1.0, now)
        return None

    async def _answer_callback_query(self, params: dict[str, Any]) -> Any:
        if not params.get("callback_query_id"):
            raise ApiError(400, "Bad Request: query is too old or query ID is invalid")
        return True

    async def _restrict_chat_member(self, params: dict[str, Any]) -> Any:
        chat_id, user_id = _int(params, "chat_id"), _int(params, "user_id")
        given = params.get("permissions")
        if not isinstance(given, dict):
            raise ApiError(400, "Bad Request: permissions are required")
        permissions = {name: bool(given.get(name, False)) for name in _PERMISSIONS}
        old = self.permissions.get((chat_id, user_id))
        self.permissions[(chat_id, user_id)] = permissions
        user = self._users.get(user_id, {"id": user_id, "is_bot": False, "first_name": "?"})
        if chat_id in self.chats:
            self.push(
                "chat_member",
                {
                    "chat": self.chats[chat_id],
                    "from": self.bot_user,
                    "date": int(time.time()),
                    "old_chat_member": _member_state(user, old),
                    "new_chat_member": _member_state(user, permissions),
                },
            )
        return True

    async def _set_my_commands(self, params: dict[str, Any]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a list of at most 100")
        for command in commands:
            name, description = command.get("command", ""), command.get("description", "")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        language = params.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise ApiError(400, "Bad Request: LANG_CODE_INVALID")
        self.command_menus[language] = commands
        return True

    # Things members do -----------------------------------------------------------

    def user(
        self, user_id: int, first_name: str, language_code: str | None = None
    ) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        return user

    def group(self, chat_id: int, title: str = "Example group") -> dict[str, Any]:
        chat = {"id": chat_id, "type": "supergroup", "title": title}
        self.chats[chat_id] = chat
        return chat

    def push(self, kind: str, payload: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self.updates.append({"update_id": update_id, kind: payload})
        self._notify()
        return update_id

    def push_raw(self, update: dict[str, Any]) -> int:
        """An update of any shape (for robustness tests)."""
        update_id = next(self._update_ids)
        self.updates.append({"update_id": update_id, **update})
        self._notify()
        return update_id

    def say(self, user: dict[str, Any], text: str, chat: dict[str, Any] | None = None) -> int:
        """``user`` writes ``text`` in ``chat`` (default: the private chat with the bot)."""
        return self.push("message", self._said(user, text, chat))

    def forward(
        self,
        user: dict[str, Any],
        author: dict[str, Any],
        text: str,
        chat: dict[str, Any] | None = None,
    ) -> int:
        """``user`` forwards to ``chat`` a message ``author`` wrote: Telegram keeps its
        text and entities (a bot command stays marked) and adds ``forward_origin``."""
        message = self._said(user, text, chat)
        message["forward_origin"] = {
            "type": "user",
            "date": int(time.time()) - 3600,
            "sender_user": author,
        }
        return self.push("message", message)

    def _said(self, user: dict[str, Any], text: str, chat: dict[str, Any] | None) -> dict[str, Any]:
        if chat is None:
            chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
            self.chats[user["id"]] = chat
            self.started.add(user["id"])
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            "text": text,
        }
        command = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
        if chat["type"] != "private":
            self.members_said[(chat["id"], message["message_id"])] = message
        return message

    def join(self, group: dict[str, Any], user: dict[str, Any], how: str = "both") -> None:
        """``user`` joins ``group``: Telegram reports it as a chat_member update (to bots
        that ask for it) and as a service message with new_chat_members."""
        now = int(time.time())
        if how in ("both", "chat_member"):
            self.push(
                "chat_member",
                {
                    "chat": group,
                    "from": user,
                    "date": now,
                    "old_chat_member": {"status": "left", "user": user},
                    "new_chat_member": {"status": "member", "user": user},
                },
            )
        if how in ("both", "message"):
            self.push(
                "message",
                {
                    "message_id": next(self._message_ids),
                    "date": now,
                    "chat": group,
                    "from": user,
                    "new_chat_members": [user],
                },
            )

    def press(self, user: dict[str, Any], sent: Sent, data: str) -> int:
        """``user`` presses the inline button with ``data`` under a message the bot sent
        (named by its choice key alone, the data is the button's own: the key and its
        question's mark)."""
        datas = [str(b.get("callback_data")) for b in sent.buttons if "callback_data" in b]
        data = next((d for d in datas if d.partition("~")[0] == data), data)
        if data not in datas:
            raise AssertionError(f"no button {data!r} under that message")
        return self.push(
            "callback_query",
            {
                "id": str(next(self._message_ids)),
                "from": user,
                "message": sent.message,
                "chat_instance": f"ci{sent.chat_id}",
                "data": data,
            },
        )

    # Reading what the bot did ------------------------------------------------------

    def to(self, chat_id: int) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    def visible(self, chat_id: int) -> list[Sent]:
        """What the bot sent to the chat and did not delete."""
        return [s for s in self.to(chat_id) if not s.deleted]

    def backdate(self, sent: Sent, seconds: float) -> None:
        """Make a sent message ``seconds`` older (for the 48-hour deletion limit)."""
        sent.message["date"] = int(sent.message["date"] - seconds)

    def texts(self, chat_id: int) -> list[str]:
        return [s.text for s in self.to(chat_id)]

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method.lower()]


def _member_state(user: dict[str, Any], permissions: dict[str, bool] | None) -> dict[str, Any]:
    if permissions is None or all(permissions.values()):
        return {"status": "member", "user": user}
    return {"status": "restricted", "user": user, "is_member": True, "until_date": 0, **permissions}


def _check_markup(markup: Any) -> None:
    if markup is None:
        return
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list):
        raise ApiError(400, "Bad Request: unsupported reply_markup")
    for row in rows:
        for button in row:
            kinds = [k for k in ("url", "callback_data") if k in button]
            if not button.get("text") or len(kinds) != 1:
                raise ApiError(400, "Bad Request: BUTTON_TYPE_INVALID")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode("utf-8")) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


async def _params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.body_exists:
        if request.content_type == "application/json":
            params.update(await request.json())
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    params[key] = value
                elif isinstance(value, web.FileField):
                    data = value.file.read()
                    params[key] = Upload(value.filename, value.content_type, data)
    for key in _JSON_FIELDS:
        if isinstance(params.get(key), str):
            try:
                params[key] = json.loads(params[key])
            except json.JSONDecodeError as exc:
                raise ValueError(f"can't parse {key} JSON object") from exc
    return params


def _int(params: dict[str, Any], key: str) -> int:
    try:
        return int(params[key])
    except (KeyError, TypeError, ValueError):
        raise ApiError(400, f"Bad Request: {key} is invalid") from None


def _flag(value: Any) -> bool:
    return value in (True, "true", "True", "1")


def _error(error: ApiError) -> web.Response:
    body: dict[str, Any] = {
        "ok": False,
        "error_code": error.status,
        "description": error.description,
    }
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.status)
