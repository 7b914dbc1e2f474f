"""Sending to Telegram under its flood limits, as plain text.

Telegram documents about 30 messages a second overall, about one a second per chat
(short bursts allowed) and 20 a minute per group; beyond that it answers 429 with
``retry_after``. The pacer keeps a margin under each limit; a 429 that happens anyway
is waited out and the call repeated. Text is sent with no ``parse_mode``, so member
words inside it (``<b>``, ``*bold*``, ``@everyone``) stay inert.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import logging
import time
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import BaseRequest, HTTPXRequest, RequestData
from telegram.request._requestparameter import RequestParameter
from telegram.warnings import PTBDeprecationWarning

from bot.core import jsontext
from bot.core.actions import Choice
from bot.core.errors import DeliveryError, Undeliverable
from bot.core.text import split_message

log = logging.getLogger(__name__)

MAX_MESSAGE = 4096
T = TypeVar("T")
# An inline keyboard's ``reply_markup`` as PTB sends it: the JSON of rows of buttons,
# each a text and its ``callback_data`` or ``url`` (what InlineKeyboardMarkup.to_dict
# gives, keys in the same order), encoded by ``json.dumps`` with its defaults.
Markup = str


def keyboard(rows: list[list[dict[str, str]]]) -> Markup:
    return json.dumps({"inline_keyboard": rows})


def choices_keyboard(choices: tuple[Choice, ...]) -> Markup | None:
    """A question's buttons (none for a key Telegram would refuse: empty, or over 64
    bytes). Made for each question, not kept: a label may be private (a sanction's
    reason in an appeal), and nothing of it should outlive its message."""
    buttons = [
        [choice_button(c.label, c.key)] for c in choices if 0 < len(c.key.encode("utf-8")) <= 64
    ]
    return keyboard(buttons) if buttons else None


def choice_button(label: str, key: str) -> dict[str, str]:
    return {"callback_data": key, "text": label}


def link_button(label: str, url: str) -> dict[str, str]:
    return {"text": label, "url": url}


def read_answer(payload: bytes) -> Any:
    """A Bot API answer's JSON, read by orjson (several times faster, and read for every
    message sent); what orjson refuses (text that is not UTF-8) is read as PTB reads
    it: bad bytes replaced, or ``TelegramError`` if it is not JSON at all."""
    try:
        return jsontext.loads(payload)
    except ValueError:
        return BaseRequest.parse_json_payload(payload)


class JsonRequest(HTTPXRequest):
    """PTB's HTTP client, reading answers with ``read_answer``: PTB's documented place
    for another JSON library."""

    __slots__ = ()

    @staticmethod
    def parse_json_payload(payload: bytes) -> Any:
        return read_answer(payload)


class TelegramBot(Bot):
    """PTB's Bot, plus ``send_plain``: sendMessage posted and checked by PTB's request
    layer as ``send_message`` does (its encoding, timeouts and errors: a refusal is the
    same ``Forbidden``, ``BadRequest``, ``RetryAfter`` or ``ChatMigrated``), answered
    with the new message's id alone instead of a parsed ``Message`` (about a hundred
    fields and the keyboard's objects, built per message to read one number).

    The parameters go as PTB's ``RequestData`` would hold them after ``_post``: each a
    string, the keyboard already JSON (what PTB makes of the dict, the same bytes on
    the wire), with none of ``_post``'s steps for what is never sent here (defaults of
    ``telegram.ext``, None values, files, dates) and without its debug log of every
    message's text."""

    __slots__ = ()

    async def send_plain(self, chat_id: int, text: str, markup: Markup | None = None) -> int:
        parameters = [
            RequestParameter("chat_id", str(chat_id), None),
            RequestParameter("text", text, None),
        ]
        if markup is not None:
            parameters.append(RequestParameter("reply_markup", markup, None))
        result = await self.request.post(
            url=f"{self.base_url}/sendMessage", request_data=RequestData(parameters)
        )
        message_id = result.get("message_id") if isinstance(result, dict) else None
        if type(message_id) is not int:
            raise ValueError(f"sendMessage answered a {type(result).__name__} without message_id")
        return message_id


@dataclass(frozen=True)
class Limits:
    """Telegram's documented flood limits (the adapter stays under them)."""

    messages_per_second: float = 30.0
    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3
    per_group_per_minute: int = 20


class _Bucket:
    """``rate`` sends a second with bursts of ``burst``: at most burst + rate*w sends
    in any window of w seconds."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = time.monotonic()

    def delay(self, now: float) -> float:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


class TelegramPacer:
    """Overall, per-chat and per-group buckets, each with a margin under its limit.

    A send waits until every bucket it draws on has a token and only then takes one
    from each. (Reserving in each bucket and sleeping for the longest wait, as
    adapters/pacing.py does, lets sends held back by one chat's bucket leave together
    and break the overall limit.)"""

    def __init__(self, limits: Limits, max_chats: int = 10_000) -> None:
        overall = limits.messages_per_second
        self.overall = _Bucket(overall * 0.6, max(1.0, overall * 0.2))
        self.limits = limits
        self.max_chats = max_chats
        # Per chat, every bucket a send there draws on (the overall one first).
        self.chats: OrderedDict[int, tuple[_Bucket, ...]] = OrderedDict()
        # Told of every wait under the limits, in seconds (operators' metrics).
        self.waited: Callable[[float], None] = lambda seconds: None

    def _buckets(self, chat_id: int) -> tuple[_Bucket, ...]:
        found = self.chats.get(chat_id)
        if found is not None:
            self.chats.move_to_end(chat_id)
            return found
        limits = self.limits
        per_chat = limits.per_chat_per_second
        made = [self.overall, _Bucket(per_chat * 0.8, max(1.0, limits.per_chat_burst - 1.0))]
        if chat_id < 0:  # groups and supergroups have negative ids
            per_minute = limits.per_group_per_minute
            made.append(_Bucket(per_minute * 0.7 / 60.0, max(1.0, per_minute * 0.25)))
        found = self.chats[chat_id] = tuple(made)
        if len(self.chats) > self.max_chats:
            self.chats.popitem(last=False)
        return found

    async def wait(self, chat_id: int) -> None:
        waited = 0.0
        while True:
            buckets = self._buckets(chat_id)
            now = time.monotonic()
            delay = 0.0
            for bucket in buckets:
                delay = max(delay, bucket.delay(now))
            if delay <= 0.0:
                for bucket in buckets:
                    bucket.tokens -= 1.0
                if waited:
                    self.waited(waited)
                return
            waited += delay
            await asyncio.sleep(delay)


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    seconds = value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)
    return max(seconds, 0.0)


class Sender:
    def __init__(self, bot: TelegramBot, limits: Limits, attempts: int = 5) -> None:
        self.bot = bot
        self.pacer = TelegramPacer(limits)
        self.attempts = attempts
        # Called before every call to Telegram: what was sent before is recorded first
        # (the adapter writes the held records of its sent messages).
        self.before_call: Callable[[], None] = lambda: None

    async def send_text(
        self,
        chat_id: int,
        text: str,
        markup: Markup | None = None,
        sent: Callable[[int], None] | None = None,
    ) -> None:
        """Send ``text`` in pieces of at most 4,096 characters; buttons go on the last.
        ``sent`` is told the id of each piece as soon as it is sent."""
        pieces = split_message(text, MAX_MESSAGE)
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            message_id = await self.message(chat_id, piece, markup if last else None)
            if sent is not None:
                sent(message_id)

    async def message(self, chat_id: int, text: str, markup: Markup | None) -> int:
        """Send one piece; returns its message id."""
        try:
            return await self.call(chat_id, lambda c: self.bot.send_plain(c, text, markup))
        except ChatMigrated as exc:
            log.warning(
                "telegram: chat %s is now %s; update platforms.telegram in the config",
                chat_id,
                exc.new_chat_id,
            )
            new_id = exc.new_chat_id
            return await self.call(new_id, lambda c: self.bot.send_plain(c, text, markup))

    async def document(self, chat_id: int, name: str, content: bytes) -> int:
        """Send ``content`` as a file attachment named ``name``, with no caption; returns
        its message id. (Bytes, never a str: a str would be taken as a file id or URL.)"""
        message = await self.call(
            chat_id,
            lambda c: self.bot.send_document(c, content, filename=name),
        )
        return message.message_id

    async def call(
        self, chat_id: int, make: Callable[[int], Awaitable[T]], paced: bool = True
    ) -> T:
        """One API call with pacing and 429 handling; errors become DeliveryError
        (worth retrying later) or Undeliverable (not)."""
        self.before_call()
        for _ in range(self.attempts):
            if paced:
                await self.pacer.wait(chat_id)
            try:
                return await make(chat_id)
            except RetryAfter as exc:
                wait = retry_seconds(exc)
                log.warning("telegram: flood limit, waiting %.0f s", wait)
                self.pacer.waited(wait)
                await asyncio.sleep(wait)
            except ChatMigrated:
                raise
            except (Forbidden, BadRequest) as exc:
                raise Undeliverable(f"chat {chat_id}: {exc.message}") from exc
            except InvalidToken as exc:
                raise DeliveryError("telegram rejected the bot token") from exc
            except NetworkError as exc:
                raise DeliveryError(f"telegram: {exc.message}") from exc
            except TelegramError as exc:
                raise DeliveryError(f"telegram: {exc.message}") from exc
        raise DeliveryError(f"telegram: still flood-limited on chat {chat_id}")
