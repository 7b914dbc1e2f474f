"""Raw Bot API updates and an offline PTB request (for ptb, aiogram and concord-telegram)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from workload import ANSWERS, LANGUAGES, STEPS

PTB_TOKEN = "123456:benchBENCHbenchBENCHbenchBENCHbench12"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "bench", "username": "bench_bot"}
DATE = 1700000000

# The last message id given in each chat. Telegram counts message ids per chat, the
# member's messages and the bot's alike (a private chat starts at 1): small numbers,
# as the ids the Telegram adapter keeps for /clear are in a real chat.
_LAST_MESSAGE: dict[int, int] = {}


def next_message_id(chat_id: int) -> int:
    """The id of the next message in a chat, whoever sends it."""
    _LAST_MESSAGE[chat_id] = given = _LAST_MESSAGE.get(chat_id, 0) + 1
    return given


def bot_api_update(k: int, uid: int, text: str) -> dict[str, Any]:
    """A private-chat message update, as getUpdates (or a webhook) decodes to: update
    ``k`` (counted across the bot's updates), the next message of the chat with ``uid``."""
    message: dict[str, Any] = {
        "message_id": next_message_id(uid),
        "date": DATE,
        "chat": {"id": uid, "type": "private", "first_name": "u"},
        "from": {"id": uid, "is_bot": False, "first_name": "u"},
        "text": text,
    }
    if text.startswith("/"):
        length = len(text.split()[0])
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"update_id": k, "message": message}


def walk_updates(count: int, offset: int = 0) -> Iterator[dict[str, Any]]:
    """Concord's 10-step walk as Bot API updates, step-major: /start in the private
    chat, then the same nine answers as ``concord_updates`` (language 1-6, ...)."""
    k = offset
    texts = [("/start", str(1 + i % LANGUAGES), *ANSWERS) for i in range(count)]
    for step in range(STEPS):
        for index in range(count):
            k += 1
            yield bot_api_update(k, offset + index + 1, texts[index][step])


def offline_request(
    read_answer: Callable[[bytes], Any] | None = None,
) -> tuple[type[Any], dict[str, int]]:
    """A PTB request type that answers locally, and its count of messages sent. Its
    answers are read by PTB's own ``parse_json_payload``, or by ``read_answer`` (what
    the Telegram adapter's request reads them with)."""
    from telegram.request import BaseRequest, RequestData

    counter = {"sent": 0}
    me = json.dumps({"ok": True, "result": BOT_USER}).encode()

    class OfflineRequest(BaseRequest):
        """Answers getMe and sendMessage with canned JSON, as Telegram would (the message
        with its keyboard echoed); never opens a socket. Takes HTTPXRequest's arguments,
        so the Telegram adapter can build it in its request's place."""

        def __init__(self, **_: Any) -> None:
            pass

        @property
        def read_timeout(self) -> float:
            return 5.0

        async def initialize(self) -> None:
            return None

        async def shutdown(self) -> None:
            return None

        async def do_request(
            self,
            url: str,
            method: str,
            request_data: RequestData | None = None,
            read_timeout: Any = None,
            write_timeout: Any = None,
            connect_timeout: Any = None,
            pool_timeout: Any = None,
        ) -> tuple[int, bytes]:
            endpoint = url.rsplit("/", 1)[-1]
            if endpoint == "getMe":
                return 200, me
            if endpoint == "sendMessage" and request_data is not None:
                params = request_data.json_parameters
                counter["sent"] += 1
                chat_id = int(params["chat_id"])
                answer = {
                    "message_id": next_message_id(chat_id),
                    "date": DATE,
                    "chat": {"id": chat_id, "type": "private", "first_name": "u"},
                    "from": BOT_USER,
                    "text": params["text"],
                }
                if "reply_markup" in params:
                    answer["reply_markup"] = orjson.loads(params["reply_markup"])
                # Telegram's side of the call: made as cheaply as it can be here, since
                # it is not the bot's work (and Concord sends two replies per update).
                return 200, orjson.dumps({"ok": True, "result": answer})
            raise RuntimeError(f"unexpected Bot API call {endpoint}")

    if read_answer is not None:
        OfflineRequest.parse_json_payload = staticmethod(read_answer)  # type: ignore[method-assign]
    return OfflineRequest, counter
