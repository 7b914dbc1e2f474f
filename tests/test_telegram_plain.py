"""A plain text message is translated from its JSON without python-telegram-bot's
parse; every other shape goes through PTB. Both give the same events where both
apply, and what PTB refuses is never taken by the shortcut. A message goes out as
PTB's send_message would send it, byte for byte."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.request import BaseRequest, RequestData

from adapters.telegram.events import Context, Incoming, translate
from adapters.telegram.plain import translate_plain
from adapters.telegram.send import (
    JsonRequest,
    TelegramBot,
    choice_button,
    choices_keyboard,
    keyboard,
    link_button,
)
from bot.core.actions import Choice

TOKEN = "123456:stand-in-token"
GROUP = -1001000000001
MODERATORS = -1001000000009
CONTEXT = Context(
    "example",
    "concord_test_bot",
    frozenset({GROUP}),
    moderator_ids=frozenset({9}),
    mediator_ids=frozenset({8, 9}),
    moderators_chat=MODERATORS,
    moderators_name="#moderators",
)
NOW = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
MO = {"id": 9, "is_bot": False, "first_name": "Mo", "last_name": "Ng", "language_code": "fr"}
NY = {"id": 8, "is_bot": False, "first_name": "Ny", "username": "ny", "is_premium": True}
BOT = {"id": 7, "is_bot": True, "first_name": "Other bot"}


def _private(user: dict[str, Any]) -> dict[str, Any]:
    return {"id": user["id"], "type": "private", "first_name": user["first_name"]}


GROUP_CHAT = {"id": GROUP, "type": "supergroup", "title": "G", "is_forum": False}


def _update(
    text: str, user: dict[str, Any] = MO, chat: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    message = {
        "message_id": 41,
        "date": NOW,
        "chat": chat or _private(user),
        "from": user,
        "text": text,
        **extra,
    }
    return {"update_id": 3, "message": message}


def _command(text: str, **kw: Any) -> dict[str, Any]:
    length = len(text.split()[0])
    return _update(text, entities=[{"type": "bot_command", "offset": 0, "length": length}], **kw)


def _by_ptb(item: dict[str, Any]) -> list[Incoming]:
    update = Update.de_json(copy.deepcopy(item), Bot(TOKEN))
    assert update is not None
    return translate(update, CONTEXT)


PLAIN = [
    _update("hello"),
    _update("hello", NY),
    _update("à bientôt", {**MO, "last_name": ""}),
    _update("1 3", {**NY, "language_code": None}),
    _update("hi", MO, GROUP_CHAT),
    _update("hi", MO, {"id": MODERATORS, "type": "group", "title": "Mods"}),
    _update("hi", MO, {"id": -5, "type": "supergroup", "title": "not served"}),
    _update("hi", MO, {"id": 99, "type": "private", "first_name": "someone else"}),
    _update("hi", MO, {"id": 77, "type": "channel", "title": "a channel"}),
    _update("hi", BOT),
    _update("hello /there"),
    _update("/x /help", entities=[{"type": "bot_command", "offset": 3, "length": 5}]),
    _update("/idioma es"),  # a command's localized name, not marked by Telegram
    _update("/start", entities=[{"type": "bold", "offset": 0, "length": 6}]),
    _command("/start"),
    _command("/start welcome"),
    _command("/coc@concord_test_bot be kind", chat=GROUP_CHAT),
    _command("/coc@other_bot", chat=GROUP_CHAT),
    _command("/report  someone\nsaid things"),
    _update("x", entities=None),
    _update("x", entities=[]),
    _update("/help", entities=[{"type": "bot_command", "offset": 0, "length": 5, "url": "u"}]),
]


CONCORD = {"id": 123456, "is_bot": True, "first_name": "Concord", "username": "concord_bot"}
KEYS = {
    "inline_keyboard": [
        [{"text": "Français", "callback_data": "fr"}],
        [{"text": "日本語", "callback_data": "ja"}],
    ]
}


def _question(chat: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The bot's message with its keyboard, as Telegram shows it in a press."""
    return {
        "message_id": 40,
        "date": NOW,
        "chat": chat,
        "from": CONCORD,
        "text": "Language?",
        **extra,
    }


def _press(user: dict[str, Any] = NY, message: Any = None, **extra: Any) -> dict[str, Any]:
    query = {"id": "77", "from": user, "chat_instance": "c", "data": "fr", **extra}
    if message is not None:
        query["message"] = message
    return {"update_id": 4, "callback_query": query}


PLAIN += [
    _press(message=_question(_private(NY), reply_markup=KEYS)),
    _press(MO, _question(_private(MO), reply_markup=KEYS)),
    _press(message=_question(GROUP_CHAT, reply_markup=KEYS)),
    _press(message=_question({"id": -5, "type": "supergroup", "title": "not served"})),
    _press(message=_question(_private(MO))),  # someone else's chat
    _press(message={"message_id": 40, "date": 0, "chat": _private(NY)}),  # too old to show
    _press(BOT, _question(_private(BOT))),
    _press(message=_question(_private(NY)), data=""),
    _press(message=_question(_private(NY)), data=None),
    {"update_id": 4, "callback_query": {"id": "78", "from": NY, "chat_instance": "c", "data": "x"}},
    _press(message=_question(_private(NY), entities=[], reply_markup={"inline_keyboard": []})),
    _press(
        message=_question(
            _private(NY),
            reply_markup={"inline_keyboard": [[{"text": "Go", "url": "https://example.org"}]]},
        )
    ),
]


@pytest.mark.parametrize("item", PLAIN)
def test_a_plain_message_gives_the_events_ptb_would(item: dict[str, Any]) -> None:
    found = translate_plain(copy.deepcopy(item), CONTEXT)
    assert found is not None, "a plain message is read from its JSON"
    assert found == _by_ptb(item)


def _without(key: str, of: str = "message") -> dict[str, Any]:
    item = copy.deepcopy(_command("/help"))
    del (item["message"] if of == "message" else item["message"][of])[key]
    return item


# Shapes PTB reads but the shortcut does not: other kinds of update, or a message that
# means something else (a forward, a photo with a caption, a reply), or a value of a
# type the shortcut does not take. PTB decides these.
OTHERS = [
    {"update_id": 3, "edited_message": _update("hi")["message"]},
    {**_update("hi"), "edited_message": _update("ho")["message"]},
    _update("/sanction 8", forward_origin={"type": "user", "date": NOW, "sender_user": NY}),
    _update("hi", is_automatic_forward=True),
    _update("hi", reply_to_message=_update("before")["message"]),
    _update("hi", caption="a photo"),
    _update("hi", {**MO, "first_name": ""}),
    _update("hi", {**MO, "id": "9"}),
    _update("hi", {**MO, "can_join_groups": True}),
    _update("hi", MO, {**_private(MO), "id": 9.0}),
    _update("hi", date=float(NOW)),
    _update("hi", message_id=True),
    _update("/help", entities=[{"type": "bot_command", "offset": 0, "length": 5, "user": NY}]),
    {"update_id": 3, "message": {**_update("hi")["message"], "text": None}},
    _press(message=_question(_private(NY), edit_date=NOW)),
    _press(message=_question(_private(NY), photo=[])),
    _press(inline_message_id="abc"),
    _press(
        message=_question(
            _private(NY), reply_markup={"inline_keyboard": [[{"text": "Pay", "pay": True}]]}
        )
    ),
    _press(message=None, game_short_name="g"),
    {
        "update_id": 4,
        "callback_query": {"id": "79", "from": NY, "chat_instance": "c", "message": None},
    },
]


@pytest.mark.parametrize("item", OTHERS)
def test_other_shapes_are_left_to_ptb(item: dict[str, Any]) -> None:
    assert translate_plain(copy.deepcopy(item), CONTEXT) is None
    _by_ptb(item)  # and PTB reads them


# Malformed: PTB refuses them (the adapter skips the update with a warning), and the
# shortcut does not take them either.
MALFORMED = [
    _without("chat"),
    _without("message_id"),
    _without("id", of="from"),
    _without("is_bot", of="from"),
    _without("type", of="chat"),
    _update("hi", {**MO, "api_kwargs": {}}),
    _update("hi", date="yesterday"),
    _update("hi", date=10**20),
    _update("hi", entities={"type": "bot_command", "offset": 0, "length": 5}),
    _update("hi", entities=[{"type": "bot_command", "offset": 0}]),
    _update("hi", entities=["bot_command"]),
    {"update_id": 3, "message": "hi"},
    {"update_id": 3, "message": {**_update("hi")["message"], "chat": "private"}},
    _press(message={"message_id": 40, "chat": _private(NY)}),
    _press(message={"date": NOW, "chat": _private(NY)}),
    _press(
        message=_question(
            _private(NY), reply_markup={"inline_keyboard": [[{"callback_data": "x"}]]}
        )
    ),
    _press(message=_question(_private(NY), reply_markup={"inline_keyboard": [["fr"]]})),
    _press(message=_question(_private(NY), reply_markup={"keyboard": []})),
    _press(message=_question(_private(NY), date="now")),
    _press(message="a message"),
    _press(message=_question(_private(NY), **{"from": {"id": 123456}})),
    {"update_id": 4, "callback_query": {"id": "80", "from": NY, "data": "x"}},
]


@pytest.mark.parametrize("item", MALFORMED)
def test_what_ptb_refuses_is_not_taken_by_the_shortcut(item: dict[str, Any]) -> None:
    assert translate_plain(copy.deepcopy(item), CONTEXT) is None
    with pytest.raises(Exception):  # noqa: B017 - whatever PTB raises, the update is skipped
        _by_ptb(item)


# Sending: sendMessage as PTB's send_message encodes it, answered with the id alone.


class _Recording(BaseRequest):
    """Keeps each request's URL and JSON body; answers as Telegram would."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, bytes | None]] = []

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
        assert request_data is not None
        self.bodies.append((url, request_data.json_payload))
        params = request_data.json_parameters
        chat = {"id": int(params["chat_id"]), "type": "private", "first_name": "Mo"}
        answer = {"message_id": 40 + len(self.bodies), "date": NOW, "chat": chat, "text": "."}
        return 200, json.dumps({"ok": True, "result": answer}).encode()


async def test_a_message_goes_out_exactly_as_ptb_would_send_it() -> None:
    ours, theirs = _Recording(), _Recording()
    bot = TelegramBot(TOKEN, request=ours, get_updates_request=ours)
    ptb = Bot(TOKEN, request=theirs, get_updates_request=theirs)
    text = "Bienvenue <b>@everyone</b> *ici*"
    rows = [("Français", "fr"), ("日本語", "ja")]
    buttons = [[choice_button(label, key)] for label, key in rows]
    assert await bot.send_plain(9, text, keyboard(buttons)) == 41
    assert await bot.send_plain(9, text) == 42
    url = "https://t.me/concord_test_bot?start=welcome"
    link = [[link_button("Open", url)]]
    await bot.send_plain(9, text, keyboard(link))
    markups = [
        InlineKeyboardMarkup(
            [[InlineKeyboardButton(label, callback_data=key)] for label, key in rows]
        ),
        None,
        InlineKeyboardMarkup([[InlineKeyboardButton("Open", url=url)]]),
    ]
    for markup in markups:
        await ptb.send_message(9, text, reply_markup=markup)
    assert ours.bodies == theirs.bodies
    assert b"parse_mode" not in b"".join(body or b"" for _, body in ours.bodies)


def test_answers_are_read_as_ptb_reads_them() -> None:
    """The adapter's request reads Telegram's answers with orjson; whatever the bytes,
    it gives what PTB's own reading gives (or the same error)."""
    answers = [
        json.dumps({"ok": True, "result": {"message_id": 7, "text": "¿Qué tal? 日本語"}}),
        json.dumps(
            {"ok": True, "result": {"message_id": 7, "text": "¿Qué tal?"}}, ensure_ascii=False
        ),
        '{"ok": false, "error_code": 429, "parameters": {"retry_after": 3}}',
    ]
    for answer in answers:
        payload = answer.encode()
        assert JsonRequest.parse_json_payload(payload) == BaseRequest.parse_json_payload(payload)
    broken = b'{"ok": true, "result": {"text": "caf\xe9"}}'  # not UTF-8: replaced, as PTB does
    assert JsonRequest.parse_json_payload(broken) == {"ok": True, "result": {"text": "caf\ufffd"}}
    for not_json in (b"<html>502 Bad Gateway</html>", b""):
        with pytest.raises(TelegramError, match="Invalid server response"):
            JsonRequest.parse_json_payload(not_json)


def test_a_questions_buttons_leave_out_keys_telegram_would_refuse() -> None:
    """Telegram refuses a ``callback_data`` that is empty or over 64 bytes: such a
    choice is left without a button (its number in the text still answers)."""
    taken = Choice("fr~3", "Français")
    markup = choices_keyboard((taken, Choice("x" * 65, "long"), Choice("", "empty")))
    assert markup is not None
    button = {"callback_data": "fr~3", "text": "Français"}
    assert json.loads(markup) == {"inline_keyboard": [[button]]}
    assert choices_keyboard((Choice("é" * 32, "64 bytes"),)) is not None
    assert choices_keyboard((Choice("é" * 32 + "a", "65 bytes"), Choice("", "none"))) is None
