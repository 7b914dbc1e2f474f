"""Accessibility requirements of languages.md ("Requirements") through the real platform
libraries: discord.py against the loopback Discord stand-in, python-telegram-bot against
the loopback Bot API stand-in, matrix-nio against a real Synapse homeserver.

- Onboarding completes by typed text alone (requirement 1): a newcomer who never
  presses a button or reacts goes from the welcome to the last message, typing numbers
  and words in their direct messages only, and ends a member.
- What must be read is in the message text (5): Discord messages carry no embeds, and
  every question with buttons (Discord) or an inline keyboard (Telegram) lists the same
  choices in its text, under the numbers a member can type to pick them.
- Telegram confirmations are messages, never silent toasts (6).
- Every button label contains a word (3): a letter of Unicode category L*.

Texts come from the catalogs, in English and Arabic only, so that catalogs others add
do not change what is tested.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import discord
import pytest

from bot.engine.engine import Engine
from bot.i18n.catalogs import Translator
from bot.i18n.locales import FSI, PDI, display_name
from tests import test_discord as on_discord
from tests import test_telegram as on_telegram
from tests.discord_standin import DiscordStandIn
from tests.discord_standin import Sent as DiscordSent
from tests.telegram_standin import BotApiStandIn
from tests.telegram_standin import Sent as TelegramSent

if TYPE_CHECKING:
    from tests.synapse import Synapse
    from tests.test_matrix import World

pytestmark = list(on_telegram.pytestmark)

LANGUAGES = ["en", "ar"]
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


# Fixtures: the stand-ins and the homeserver, set up as their own test modules do ---------


@pytest.fixture
async def discord_server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DiscordStandIn]:
    on_discord.prepare_environment(monkeypatch)
    server = await on_discord.example_server()
    yield server
    await server.stop()


@pytest.fixture
async def telegram_server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[BotApiStandIn]:
    monkeypatch.setenv(on_telegram.TOKEN_ENV, on_telegram.TOKEN)
    server = BotApiStandIn(on_telegram.TOKEN)
    server.started.add(on_telegram.MENTOR)  # the mentor opened a private chat earlier
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
def homeserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    pytest.importorskip("nio")
    pytest.importorskip("synapse")
    from tests.synapse import synapse_server

    yield from synapse_server(tmp_path_factory.mktemp("synapse"))


@pytest.fixture
async def matrix_world(
    homeserver: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[World]:
    from tests.test_matrix import World

    world = World(homeserver, tmp_path, monkeypatch)
    try:
        yield world
    finally:
        await world.close()


# What a member reads, and what they type ----------------------------------------------


def translator(engine: Engine, code: str) -> Translator:
    return engine.services.catalogs.translator(code)


def start_of(engine: Engine, code: str, msgid: str) -> str:
    """The fixed beginning of a catalog text: up to its first placeholder, command or
    example of several numbers (a platform may write commands its own way, as Matrix
    does, and right-to-left text isolates number examples)."""
    text = translator(engine, code).gettext(msgid)
    return re.split(r"[{/\u2068]|[0-9]+(?: [0-9]+)+", text)[0].strip()


def spoken(text: str) -> str:
    """A text as a screen reader reads it: no bidi isolates, no Markdown escapes, and
    runs of white space as one space."""
    text = re.sub(r"\\(.)", r"\1", text.replace(FSI, "").replace(PDI, ""))
    return " ".join(text.split())


def numbered(text: str) -> dict[str, int]:
    """The choices a message lists by number: label -> the number to type."""
    listed: dict[str, int] = {}
    for line in text.replace(FSI, "").replace(PDI, "").splitlines():
        found = re.fullmatch(r"\s*(\d+)\. (.+)", line)
        if found:
            listed.setdefault(spoken(found.group(2)), int(found.group(1)))
    return listed


def has_a_word(label: str) -> bool:
    return any(unicodedata.category(ch).startswith("L") for ch in label)


def typed_onboarding(engine: Engine, code: str, coc: str = "/coc 5") -> list[tuple[str, str]]:
    """What a newcomer types, answer after answer, and the catalog text the bot's last
    message then shows: the whole onboarding of tests/transcripts/onboarding-en.txt
    (a detour to read more, a wrong answer, a code-of-conduct command in the middle, a
    mentor). Numbers are typed with the member's own digits; words are the catalog's."""
    words = translator(engine, code).gettext

    def number(text: str) -> str:
        return text.translate(ARABIC_DIGITS) if code == "ar" else text

    return [
        (display_name(code), "onboarding.walk_question"),  # the language, by its name
        (words("onboarding.walk_more"), "onboarding.walk_continue"),
        (words("onboarding.walk_next"), "onboarding.walk_question"),  # part 2
        (number("1"), "onboarding.walk_question"),  # part 3
        (number("1"), "onboarding.walk_question"),  # part 4
        (number("1"), "onboarding.check_question"),
        (words("onboarding.check_ignore"), "onboarding.check_question"),  # not quite
        (number("1"), "onboarding.acknowledge"),
        (coc, "coc.anything_else"),
        (words("coc.done"), "onboarding.acknowledge"),
        (words("onboarding.agree"), "onboarding.interests_question"),
        (number("1 3"), "onboarding.mentor_question"),
        (words("onboarding.mentor_yes"), "onboarding.done"),
    ]


# The same onboarding, by pressing: the keys of the buttons, in order (one of them opens a
# text question, answered by typing the language's name).
PRESSES = ["more", "next", "next", "next", "next", "ignore", "kind", "read", "agree"]
PRESSES += ["translation", "want"]


# Discord ------------------------------------------------------------------------------


async def discord_typed_onboarding(
    adapter: Any, standin: DiscordStandIn, engine: Engine, user: dict[str, Any], code: str
) -> None:
    """The newcomer joins, then only types in their direct messages; after every answer
    the bot's last message is the expected one."""
    user_id = int(user["id"])
    await on_discord.act(adapter, standin, standin.join(user))
    assert (
        start_of(engine, "en", "onboarding.choose_language") in standin.texts_to_user(user_id)[-1]
    )
    for typed, expected in typed_onboarding(engine, code):
        await on_discord.act(adapter, standin, standin.say(user, typed))
        last = spoken(standin.texts_to_user(user_id)[-1])
        assert spoken(start_of(engine, code, expected)) in last, (typed, expected, last)


async def discord_pressed_onboarding(
    adapter: Any, standin: DiscordStandIn, engine: Engine, user: dict[str, Any], code: str
) -> None:
    """The newcomer joins and presses a button at every question (the language is
    typed by name where the list has no button for it)."""
    user_id = int(user["id"])
    await on_discord.act(adapter, standin, standin.join(user))
    question = standin.to_user(user_id)[-1]
    keys = [b["custom_id"].partition("~")[0] for b in question.buttons]
    if f"concord:{code}" in keys:
        await on_discord.act(adapter, standin, standin.press(user, question, f"concord:{code}"))
    else:
        await on_discord.act(adapter, standin, standin.press(user, question, "concord:other"))
        await on_discord.act(adapter, standin, standin.say(user, display_name(code)))
    for key in PRESSES:
        question = standin.to_user(user_id)[-1]
        bare = [b["custom_id"].partition("~")[0] for b in question.buttons]
        assert f"concord:{key}" in bare, (key, question)
        await on_discord.act(adapter, standin, standin.press(user, question, f"concord:{key}"))
    done = translator(engine, code).format("onboarding.done")
    assert standin.texts_to_user(user_id)[-1] == discord.utils.escape_markdown(done)


async def test_discord_onboarding_completes_by_typing_alone(
    tmp_path: Path, discord_server: DiscordStandIn
) -> None:
    standin = discord_server
    config = on_discord.write_config(tmp_path, standin)
    async with (
        asyncio.timeout(30),
        on_discord.running(config, tmp_path / "db", standin) as (adapter, engine),
    ):
        ana = standin.person(2001, "Ana")
        await discord_typed_onboarding(adapter, standin, engine, ana, "en")

        # The member role came when she agreed, and the last message is the catalog's.
        assert standin.role_grants == [(2001, on_discord.MEMBER_ROLE)]
        done = translator(engine, "en").format("onboarding.done")
        assert standin.texts_to_user(2001)[-1] == discord.utils.escape_markdown(done)
        found = start_of(engine, "en", "onboarding.mentor_found")
        assert any(t.startswith(found) for t in standin.texts_to_user(2001))
        assert standin.texts_to_user(2005), "the mentor (Maria) was told"
        profile = engine.services.store.load_profile("example", "discord:2001")
        assert profile is not None and profile["onboarded"] and profile["acknowledged_version"]
        # Nothing was pressed: no interaction was answered, every answer was typed.
        assert standin.callbacks == []
        assert standin.unknown == []


@pytest.mark.parametrize("code", LANGUAGES)
async def test_discord_messages_are_plain_text_list_their_buttons_and_labels_have_words(
    tmp_path: Path, discord_server: DiscordStandIn, code: str
) -> None:
    """Onboarding typed and pressed, slash commands answered: no embed anywhere, and
    every message with buttons lists each button's label under the number that picks
    the same choice."""
    standin = discord_server
    config = on_discord.write_config(tmp_path, standin)
    async with (
        asyncio.timeout(30),
        on_discord.running(config, tmp_path / "db", standin) as (adapter, engine),
    ):
        typist, presser = standin.person(2001, "Ana"), standin.person(2002, "Bia")
        await discord_typed_onboarding(adapter, standin, engine, typist, code)
        await discord_pressed_onboarding(adapter, standin, engine, presser, code)
        locale = "en-US" if code == "en" else "en-GB"  # Discord has no Arabic
        for name in ("help", "coc", "language"):
            await on_discord.act(adapter, standin, standin.slash(presser, name, locale=locale))

    with_buttons = [s for s in standin.sent if s.buttons]
    assert len(with_buttons) >= 20
    assert any(s.via == "followup" for s in with_buttons)  # the slash commands' questions
    for sent in standin.sent:
        assert not sent.payload.get("embeds"), sent.payload
        assert sent.content.strip(), "every message has its text in the content"
    for _, body in standin.callbacks:
        assert not (body.get("data") or {}).get("embeds"), body
    for sent in with_buttons:
        assert_discord_buttons_listed(sent)
    # Every button label has a word, and every kind of onboarding button was seen:
    # languages, walkthrough, check, agreeing, interests, mentor, "talk to a person".
    labels = [b["label"] for s in standin.sent for b in s.buttons]
    keys = {b["custom_id"].partition("~")[0] for s in standin.sent for b in s.buttons}
    expected = {"en", "other", "person", "next", "more", "kind", "ignore", "mock", "agree"}
    expected |= {"read", "translation", "none", "want", "skip"}
    assert {f"concord:{k}" for k in expected} <= keys
    assert [label for label in labels if not has_a_word(label)] == []
    if code == "ar":
        arabic = translator(engine, "ar").gettext("onboarding.agree")
        assert arabic in labels


def assert_discord_buttons_listed(sent: DiscordSent) -> None:
    listed = numbered(sent.content)
    for number, button in enumerate(sent.buttons, 1):
        label = spoken(button["label"])
        assert listed.get(label) == number, (label, number, sent.content)


# Telegram -----------------------------------------------------------------------------


async def telegram_join(
    standin: BotApiStandIn, user: dict[str, Any], engine: Engine, code: str
) -> None:
    """The newcomer joins the group (the bot may not write first) and types /start in a
    private chat with the bot: the onboarding begins."""
    group = standin.chats.get(on_telegram.GROUP) or standin.group(on_telegram.GROUP)
    standin.join(group, user)
    await standin.drained()
    standin.say(user, "/start")
    await standin.drained()
    question = standin.to(user["id"])[-1]
    assert start_of(engine, code, "onboarding.choose_language") in question.text


async def telegram_typed_onboarding(
    standin: BotApiStandIn, engine: Engine, user: dict[str, Any], code: str
) -> None:
    await telegram_join(standin, user, engine, code)
    for typed, expected in typed_onboarding(engine, code):
        standin.say(user, typed)
        await standin.drained()
        last = standin.texts(user["id"])[-1]
        assert start_of(engine, code, expected) in last, (typed, expected, last)


async def telegram_press(standin: BotApiStandIn, user: dict[str, Any], key: str) -> Press:
    """Press the button ``key`` under the bot's last message, and wait until the press
    is answered and handled."""
    question = standin.to(user["id"])[-1]
    answered = len(standin.calls_of("answerCallbackQuery"))
    calls_before = len(standin.calls)
    standin.press(user, question, key)
    press_id = str(standin.updates[-1]["callback_query"]["id"])
    await standin.wait_for(lambda: len(standin.calls_of("answerCallbackQuery")) > answered)
    await standin.drained()
    return Press(press_id, calls_before)


@dataclass(frozen=True)
class Press:
    """A press of an inline button: its callback query id, and how many Bot API calls
    the bot had made before it (what the bot did about it comes after)."""

    id: str
    calls_before: int


def assert_confirmed_by_a_message(standin: BotApiStandIn, press: Press, chat_id: int) -> None:
    """The press was answered without a toast (or with an alert a screen reader reads),
    and before that answer the bot wrote to the member: what the press did is in a
    message."""
    after = standin.calls[press.calls_before :]
    answers = [
        i
        for i, call in enumerate(after)
        if call.method == "answercallbackquery" and call.params["callback_query_id"] == press.id
    ]
    assert len(answers) == 1, press
    params = after[answers[0]].params
    alert = params.get("show_alert") in (True, "true", "True")
    assert not params.get("text") or alert, params
    messages = [
        c
        for c in after[: answers[0]]
        if c.method == "sendmessage" and str(c.params["chat_id"]) == str(chat_id)
    ]
    assert messages and all(c.status == 200 for c in messages), (press, "no message")


async def telegram_pressed_onboarding(
    standin: BotApiStandIn, engine: Engine, user: dict[str, Any], code: str
) -> list[Press]:
    await telegram_join(standin, user, engine, code)
    keys = [b["callback_data"].partition("~")[0] for b in standin.to(user["id"])[-1].buttons]
    presses = []
    if code in keys:
        presses.append(await telegram_press(standin, user, code))
    else:
        presses.append(await telegram_press(standin, user, "other"))
        standin.say(user, display_name(code))
        await standin.drained()
    for key in PRESSES:
        presses.append(await telegram_press(standin, user, key))
    assert standin.texts(user["id"])[-1] == translator(engine, code).format("onboarding.done")
    return presses


async def test_telegram_onboarding_completes_by_typing_alone(
    tmp_path: Path, telegram_server: BotApiStandIn
) -> None:
    standin = telegram_server
    config = on_telegram.write_config(tmp_path, standin, restrict_until_acknowledged=True)
    async with (
        asyncio.timeout(30),
        on_telegram.running(config, tmp_path / "db", standin, on_telegram.FAST) as (_, engine),
    ):
        cai = standin.user(5003, "Cai", language_code="en")
        group = standin.group(on_telegram.GROUP)
        standin.join(group, cai)
        await standin.drained()
        assert standin.permissions[(on_telegram.GROUP, 5003)]["can_send_messages"] is False
        standin.say(cai, "/start")
        await standin.drained()
        script = typed_onboarding(engine, "en")
        agreed = [t for t, _ in script].index(translator(engine, "en").gettext("onboarding.agree"))
        for index, (typed, expected) in enumerate(script):
            standin.say(cai, typed)
            await standin.drained()
            last = standin.texts(5003)[-1]
            assert start_of(engine, "en", expected) in last, (typed, expected, last)
            # Restricted in the group until agreeing; free to write from then on.
            allowed = standin.permissions[(on_telegram.GROUP, 5003)]["can_send_messages"]
            assert allowed is (index >= agreed), (typed, allowed)

        assert all(standin.permissions[(on_telegram.GROUP, 5003)].values())
        assert standin.texts(5003)[-1] == translator(engine, "en").format("onboarding.done")
        assert standin.texts(on_telegram.MENTOR), "the mentor (Maria) was told"
        profile = engine.services.store.load_profile("example", "telegram:5003")
        assert profile is not None and profile["onboarded"]
        # Nothing was pressed: no button press came in, none was answered.
        assert standin.calls_of("answerCallbackQuery") == []
        assert standin.unknown == []


@pytest.mark.parametrize("code", LANGUAGES)
async def test_telegram_keyboards_list_their_choices_and_every_label_has_a_word(
    tmp_path: Path, telegram_server: BotApiStandIn, code: str
) -> None:
    standin = telegram_server
    config = on_telegram.write_config(tmp_path, standin)
    async with (
        asyncio.timeout(30),
        on_telegram.running(config, tmp_path / "db", standin, on_telegram.FAST) as (_, engine),
    ):
        typist = standin.user(5001, "Ana", language_code=code)
        presser = standin.user(5002, "Bia", language_code=code)
        await telegram_typed_onboarding(standin, engine, typist, code)
        await telegram_pressed_onboarding(standin, engine, presser, code)
        for command in ("/help", "/coc", "/language"):
            standin.say(presser, command)
            await standin.drained()

    with_keyboards = [s for s in standin.sent if s.buttons]
    assert len(with_keyboards) >= 20
    for sent in with_keyboards:
        assert_telegram_keyboard_listed(sent)
    # Every button label has a word, and every kind of button was seen.
    buttons = [b for s in standin.sent for b in s.buttons]
    keys = {str(b.get("callback_data")).partition("~")[0] for b in buttons}
    expected = {"other", "person", "next", "more", "kind", "ignore", "mock", "agree"}
    expected |= {"read", "translation", "none", "want", "skip", code}
    assert expected <= keys
    assert any("url" in b for b in buttons)  # the group's link to a private chat
    assert [b["text"] for b in buttons if not has_a_word(b["text"])] == []
    if code == "ar":
        arabic = translator(engine, "ar").gettext("onboarding.agree")
        assert arabic in [b["text"] for b in buttons]


def assert_telegram_keyboard_listed(sent: TelegramSent) -> None:
    """Choices are listed by the number that picks them; a link button (the group's
    invitation to a private chat) is named in the text."""
    listed = numbered(sent.text)
    choices = [b for b in sent.buttons if "callback_data" in b]
    for number, button in enumerate(choices, 1):
        label = spoken(button["text"])
        assert listed.get(label) == number, (label, number, sent.text)
    for button in sent.buttons:
        if "url" in button:
            assert spoken(button["text"]).casefold() in spoken(sent.text).casefold(), (
                button,
                sent.text,
            )


async def test_telegram_presses_are_confirmed_by_messages_not_toasts(
    tmp_path: Path, telegram_server: BotApiStandIn
) -> None:
    """A toast without show_alert lasts about 3 s and TalkBack does not read it: every
    press of the onboarding is answered without one, and what it did arrives first as
    a message (the next question, or the last message)."""
    standin = telegram_server
    config = on_telegram.write_config(tmp_path, standin)
    async with (
        asyncio.timeout(30),
        on_telegram.running(config, tmp_path / "db", standin, on_telegram.FAST) as (_, engine),
    ):
        dan = standin.user(5005, "Dan", language_code="en")
        presses = await telegram_pressed_onboarding(standin, engine, dan, "en")
    answers = standin.calls_of("answerCallbackQuery")
    assert [a.params["callback_query_id"] for a in answers] == [p.id for p in presses]
    for press in presses:
        assert_confirmed_by_a_message(standin, press, 5005)


async def test_telegram_a_press_on_an_old_keyboard_is_confirmed_by_a_message(
    tmp_path: Path, telegram_server: BotApiStandIn
) -> None:
    """Telegram keeps every keyboard the bot sent (the adapter never edits one away),
    so a member can press a button of a question they already answered; that press too
    must be answered by a message, not by silence."""
    standin = telegram_server
    config = on_telegram.write_config(tmp_path, standin)
    async with (
        asyncio.timeout(30),
        on_telegram.running(config, tmp_path / "db", standin, on_telegram.FAST) as (_, engine),
    ):
        eve = standin.user(5006, "Eve", language_code="en")
        await telegram_pressed_onboarding(standin, engine, eve, "en")
        agree = next(
            s
            for s in standin.to(5006)
            if "agree" in [b["callback_data"].partition("~")[0] for b in s.buttons]
        )
        assert not [c for c in standin.calls if c.method.startswith("edit")]  # still shown
        answered = len(standin.calls_of("answerCallbackQuery"))
        calls_before = len(standin.calls)
        standin.press(eve, agree, "agree")
        press = Press(str(standin.updates[-1]["callback_query"]["id"]), calls_before)
        await standin.wait_for(lambda: len(standin.calls_of("answerCallbackQuery")) > answered)
        await standin.drained()
    assert_confirmed_by_a_message(standin, press, 5006)


# Matrix -------------------------------------------------------------------------------


async def test_matrix_onboarding_completes_by_typing_alone(matrix_world: World) -> None:
    from tests.test_matrix import until

    world = matrix_world
    async with asyncio.timeout(30):
        owner = await world.member("owner")
        room = await world.public_room(owner, "welcome", {})
        bot = await world.bot(f'rooms: ["{world.aliases[room]}"]')
        engine = bot.engine
        ana = await world.member("ana")
        await ana.client.join(room)

        welcome = await ana.from_bot(world.bot_id, start_of(engine, "en", "onboarding.welcome"))
        dm = welcome.room_id
        assert dm != room
        await ana.from_bot(world.bot_id, start_of(engine, "en", "onboarding.choose_language"))
        prefix = bot.settings.command_prefix
        script = typed_onboarding(engine, "en", coc=f"{prefix} coc 5")
        for typed, expected in script:
            await ana.say(dm, typed)
            await ana.from_bot(world.bot_id, start_of(engine, "en", expected), room=dm)

        # The member role (a power level in the served room) came with agreeing.
        await until(
            lambda: ana.client.rooms[room].power_levels.get_user_level(ana.user_id) == 1, ana
        )
        said = [r for r in ana.received if r.type == "m.room.message"]
        done = [r for r in said if r.sender == world.bot_id and r.room_id == dm][-1]
        assert done.body.startswith(start_of(engine, "en", "onboarding.done"))
        assert done.body.endswith(translator(engine, "en").gettext("onboarding.done")[-40:])
        profile = engine.services.store.load_profile("example", f"matrix:{ana.user_id}")
        assert profile is not None and profile["onboarded"]
        # Nothing was pressed: the member sent no reaction, only messages in the DM.
        mine = [r for r in ana.received if r.sender == ana.user_id]
        assert [r for r in mine if r.type == "m.reaction"] == []
        typed = [r for r in mine if r.type == "m.room.message"]
        assert len(typed) == len(script) and {r.room_id for r in typed} == {dm}
