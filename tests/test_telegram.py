"""The Telegram adapter end to end: python-telegram-bot, unmodified except its base
URL, over real HTTP to a loopback stand-in of the Bot API (tests/telegram_standin.py),
with a real engine on a real SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot, Update

from adapters.telegram.adapter import OFFSET, TelegramAdapter, create
from adapters.telegram.events import Context, translate
from adapters.telegram.send import Limits
from adapters.telegram.settings import TelegramSettings, parse
from bot.app import build_engine, build_engines
from bot.config.community import Config, load_config
from bot.core.actions import Say
from bot.core.clock import ManualClock
from bot.core.errors import ConcordError, ConfigError
from bot.core.events import ChoiceMade, CommandRun, Event, MemberJoined, Place, PlaceKind, TextSaid
from bot.engine.engine import Engine
from bot.engine.host import AdapterHost
from bot.engine.turn import Turn
from bot.store import Changes
from tests.telegram_standin import BotApiStandIn

# The adapter reads raw getUpdates to skip one malformed update rather than a batch;
# it silences this library warning at import, which pytest's own filters undo.
# python-telegram-bot 22 also warns, from inside its RetryAfter, about a future type.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Please use 'Bot.getUpdates'"),
    pytest.mark.filterwarnings("ignore:Deprecated since version v22.2"),
]

ROOT = Path(__file__).parents[1]
TOKEN_ENV = "CONCORD_TEST_TELEGRAM_TOKEN"
TOKEN = "123456:stand-in-token"
GROUP = -1001000000001
MODERATORS = -1001000000099
MENTOR = 7001


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    server = BotApiStandIn(TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)


def write_config(tmp_path: Path, standin: BotApiStandIn, **telegram: Any) -> Config:
    """The example community, its mentor on Telegram, served by the stand-in."""
    text = (ROOT / "community" / "concord.yaml").read_text("utf-8")
    start, end = text.index("  mentors:"), text.index("\nmoderators:")
    mentors = (
        f'  mentors:\n    - {{member: "telegram:{MENTOR}", name: Maria, languages: [es, en],'
        " interests: [translation, code], capacity: 5}\n"
    )
    text = text[:start] + mentors + text[end:]
    coc = ROOT / "community" / "code-of-conduct.yaml"
    text = text.replace("# code_of_conduct: code-of-conduct.yaml", f"code_of_conduct: {coc}")
    section = {
        "token_env": TOKEN_ENV,
        "base_url": standin.base_url,
        "groups": [GROUP],
        "moderators_chat": MODERATORS,
        "poll_timeout": 5,
        **telegram,
    }
    text += "\nplatforms:\n  telegram: " + json.dumps(section) + "\n"
    path = tmp_path / "concord.yaml"
    path.write_text(text, "utf-8")
    return load_config(path)


# Telegram's limits ten times over, on both sides, for tests of dialogs with many
# replies; the pacing tests use the documented limits.
FAST = Limits(
    messages_per_second=300, per_chat_per_second=10, per_chat_burst=5, per_group_per_minute=200
)


@contextlib.asynccontextmanager
async def running(
    config: Config, database: Path, standin: BotApiStandIn, limits: Limits | None = None
) -> AsyncIterator[tuple[TelegramAdapter, Engine]]:
    """Concord with its Telegram adapter, as ``concord run`` starts it, until it is
    polling; stopped (task cancelled, adapter closed, store closed) afterwards."""
    if limits is not None:
        standin.limits = limits
    engines = build_engines(config, database, ManualClock())  # a deployment's: them all
    engine = engines[0]
    adapter = create(parse(config.platforms["telegram"]), AdapterHost.of(engines), limits)
    engine.add_adapter(adapter)
    polls = len(standin.poll_offsets)
    task = asyncio.create_task(adapter.run())
    try:
        await standin.wait_for(lambda: len(standin.poll_offsets) > polls or task.done())
        if task.done():
            task.result()
        yield adapter, engine
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await adapter.close()
        engine.services.store.close()


def recorded(engine: Engine) -> list[Event]:
    """Every neutral event the engine receives from now on."""
    events: list[Event] = []

    async def record(turn: Turn, call_next: Any) -> None:
        events.append(turn.event)
        await call_next(turn)

    engine.middlewares.insert(0, record)
    return events


def catalog_start(engine: Engine, locale: str, message: str) -> str:
    """The fixed beginning of a catalog text (up to its first placeholder)."""
    return engine.services.catalogs.translator(locale).gettext(message).split("{")[0]


async def test_join_gets_a_deep_link_and_start_onboards_in_the_members_language(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    config = write_config(tmp_path, standin)
    group = standin.group(GROUP)
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin) as (_, engine):
        ana = standin.user(5001, "Ana", language_code="es")
        standin.join(group, ana)  # reported twice: chat_member and new_chat_members
        await standin.wait_for(lambda: bool(standin.to(GROUP)))
        offer = standin.to(GROUP)[0]
        assert offer.text.startswith(catalog_start(engine, "es", "onboarding.welcome_public"))
        assert "Ana" in offer.text
        (button,) = offer.buttons
        assert button["url"] == "https://t.me/concord_test_bot?start=welcome"
        assert offer.text.endswith("\n" + button["url"])  # readable without the button
        assert button["text"] == catalog_start(engine, "es", "onboarding.open_private")
        assert standin.to(5001) == []  # a bot may not write first

        standin.say(ana, "/start welcome")  # what Telegram sends when the link is opened
        await standin.wait_for(lambda: any(s.buttons for s in standin.to(5001)))
        welcome, draft_notice, question = standin.to(5001)[:3]
        assert welcome.text.startswith(catalog_start(engine, "es", "onboarding.welcome"))
        assert draft_notice.text.startswith(catalog_start(engine, "es", "common.draft_notice"))
        assert catalog_start(engine, "es", "onboarding.choose_language") in question.text
        keys = [b["callback_data"].partition("~")[0] for b in question.buttons]
        assert keys[:2] == ["es", "en"] and keys[-1] == "person"  # their own language first
        assert question.buttons[0]["text"] == "Español"
        assert len(standin.to(GROUP)) == 1, "one join, one welcome in the group"
        assert standin.unknown == []


async def test_inline_keyboard_choices_and_a_person_on_request(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    config = write_config(tmp_path, standin)
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin, FAST) as (_, engine):
        bia = standin.user(5002, "Bia", language_code="pt-br")
        standin.say(bia, "/start")
        await standin.wait_for(lambda: any(s.buttons for s in standin.to(5002)))
        assert standin.texts(5002)[0].startswith(
            catalog_start(engine, "pt-BR", "onboarding.welcome")
        )
        question = standin.to(5002)[-1]
        standin.press(bia, question, "fr")
        await standin.wait_for(lambda: len(standin.calls_of("answerCallbackQuery")) == 1)
        after = standin.texts(5002)[2:]
        assert after, "the press is confirmed by the next message"
        assert any(catalog_start(engine, "fr", "onboarding.walk_question") in t for t in after)
        (answer,) = standin.calls_of("answerCallbackQuery")
        assert "text" not in answer.params and "show_alert" not in answer.params  # no toast

        walk = standin.to(5002)[-1]
        assert [b["callback_data"].partition("~")[0] for b in walk.buttons] == [
            "next",
            "more",
            "person",
        ]
        standin.press(bia, walk, "person")
        await standin.wait_for(lambda: bool(standin.to(MODERATORS)))
        assert "telegram:5002" in standin.texts(MODERATORS)[0]


async def test_newcomer_is_restricted_until_agreeing(
    tmp_path: Path, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    config = write_config(tmp_path, standin, restrict_until_acknowledged=True)
    group = standin.group(GROUP)
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin, FAST):
        cai = standin.user(5003, "Cai", language_code="en")
        standin.join(group, cai)
        await standin.wait_for(lambda: bool(standin.to(GROUP)))
        assert standin.permissions[(GROUP, 5003)]["can_send_messages"] is False
        standin.say(cai, "/start welcome")
        await standin.wait_for(lambda: any(s.buttons for s in standin.to(5003)))
        # Language, the four parts of the walkthrough, the check question: not yet agreed.
        for answer in ["English", "1", "1", "1", "1", "1"]:
            count = len(standin.to(5003))
            standin.say(cai, answer)
            # Each reply ends with the next question and its buttons.
            await standin.wait_for(lambda c=count: any(s.buttons for s in standin.to(5003)[c:]))  # type: ignore[misc]
        assert standin.permissions[(GROUP, 5003)]["can_send_messages"] is False
        agree = standin.to(5003)[-1]
        assert agree.buttons[0]["callback_data"].partition("~")[0] == "agree"
        standin.press(cai, agree, "agree")
        await standin.wait_for(lambda: standin.permissions[(GROUP, 5003)]["can_send_messages"])
        assert all(standin.permissions[(GROUP, 5003)].values())
        # The restriction and its lifting came back as chat_member updates: no new welcome.
        await standin.drained()
        assert len(standin.to(GROUP)) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


MODERATOR = 7101


async def test_moderator_commands_in_the_moderators_chat_reach_the_core(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    """The bot's notices in the moderators' chat say "Type /reports show N": what
    moderators type there comes in as commands in the moderators' place."""
    config = write_config(tmp_path, standin, moderator_ids=[MODERATOR])
    chat = standin.group(MODERATORS, "Moderators")
    mod = standin.user(MODERATOR, "Mo", language_code="en")
    standin.started.add(MODERATOR)  # Mo opened the private chat with the bot earlier
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin) as (_, engine):
        events = recorded(engine)
        standin.say(mod, "/reports list", chat)
        await standin.wait_for(lambda: bool(standin.to(MODERATORS)))
        await standin.drained()
        (run,) = events
        assert isinstance(run, CommandRun) and (run.name, run.args) == ("reports", ("list",))
        assert run.place == Place("telegram", PlaceKind.CHANNEL, "moderators")
        assert run.roles == ("moderator",)
        none_open = catalog_start(engine, "en", "report.none_open")
        assert standin.texts(MODERATORS) == [none_open]
        assert standin.to(GROUP) == []
        # Chatter among moderators is theirs: nothing answered.
        standin.say(mod, "who takes the next one?", chat)
        await standin.drained()
        assert isinstance(events[-1], TextSaid) and len(standin.to(MODERATORS)) == 1
        assert standin.unknown == []


REPORT_ANSWERS = (
    "2",
    "They keep insulting me in the group.",
    "kim",
    "Yesterday, in the group",
    "1",
    "https://example.org/m/1",
    "2",
    "1",
)


async def file_report(standin: BotApiStandIn, user: dict[str, Any]) -> None:
    """``user`` files a report in the private chat, each answer after the bot's reply."""
    chat = int(user["id"])
    for text in ("/report", *REPORT_ANSWERS):
        count = len(standin.to(chat))
        standin.say(user, text)
        await standin.wait_for(lambda c=count: len(standin.to(chat)) > c)  # type: ignore[misc]
        await standin.drained()


async def test_a_moderators_reports_list_in_the_group_is_not_answered_there(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    config = write_config(tmp_path, standin, moderator_ids=[MODERATOR], groups=[GROUP])
    group = standin.group(GROUP)
    mod = standin.user(MODERATOR, "Mo", language_code="en")
    bob = standin.user(5201, "Bob", language_code="en")
    standin.started.add(MODERATOR)
    async with asyncio.timeout(60), running(config, tmp_path / "db", standin, FAST):
        await file_report(standin, bob)
        assert standin.to(MODERATORS), "the moderators were told of the report"
        in_group = len(standin.to(GROUP))
        private = len(standin.to(MODERATOR))
        standin.say(mod, "/reports list", group)
        await standin.drained()  # handled, its replies delivered
        assert standin.texts(GROUP)[in_group:] == []  # nothing for everyone to read
        assert not any("5201" in t or "Bob" in t for t in standin.texts(GROUP))
        assert len(standin.to(MODERATOR)) > private  # Mo is told privately


async def test_a_forwarded_message_is_never_run_nor_taken_as_an_answer(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    """A forward carries someone else's words: a moderator forwarding "/sanction ..."
    records nothing, anywhere. In a private chat it is shared content, like a photo:
    never an answer to the waiting question; the bot says what it expects."""
    config = write_config(tmp_path, standin, moderator_ids=[MODERATOR])
    chat, group = standin.group(MODERATORS, "Moderators"), standin.group(GROUP)
    mod = standin.user(MODERATOR, "Mo", language_code="en")
    opt = standin.user(111, "Opt", language_code="en")
    sanction = "/sanction 111 warning 1 spam"
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin) as (_, engine):
        standin.say(opt, "/help")  # Concord knows Opt
        await standin.wait_for(lambda: len(standin.to(111)) == 1)
        events = recorded(engine)
        standin.forward(mod, opt, sanction, chat)
        standin.forward(mod, opt, sanction, group)
        standin.forward(mod, opt, sanction)  # in the moderator's private chat
        await standin.drained()
        assert not [e for e in events if isinstance(e, CommandRun)]
        assert engine.services.store.cases.listing("example", "sanction") == []
        assert standin.to(MODERATORS) == [] and standin.to(GROUP) == []
        assert len(standin.to(111)) == 1  # Opt was told nothing
        (shared,) = events
        assert isinstance(shared, TextSaid) and shared.text == ""
        (reply,) = standin.texts(MODERATOR)
        assert reply.startswith(catalog_start(engine, "en", "common.help").split("\n")[0])

        # A waiting question is not answered by a forward: "1" is someone else's.
        standin.say(opt, "/language")
        await standin.wait_for(lambda: any(s.buttons for s in standin.to(111)))
        standin.forward(opt, mod, "1")
        await standin.wait_for(lambda: len(standin.to(111)) == 3)
        await standin.drained()
        profile = engine.services.store.load_profile("example", "telegram:111")
        assert profile is not None and not profile.get("chosen_locale")
        said_after = standin.texts(111)[2]
        assert said_after.startswith(catalog_start(engine, "en", "common.invalid_choice"))


async def test_command_menus_in_every_language(tmp_path: Path, standin: BotApiStandIn) -> None:
    config = write_config(tmp_path, standin)
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin) as (adapter, _):
        menus = standin.command_menus
        # Telegram names languages with two letters: every enabled one that has them
        # (zh-Hans and zh-Hant share "zh": the first, Simplified, wins; ckb has none).
        short = {code.split("-")[0] for code in adapter.host.languages if code != "ckb"}
        assert set(menus) == {"", *short}
        infos = {c.name: c for c in adapter.host.commands()}
        for code, language in [("es", "es"), ("pt", "pt-BR"), ("ar", "ar"), ("", "en")]:
            names = [c["command"] for c in menus[code]]
            assert {"start", "help", "coc", "language"} <= set(names)
            # The menu everyone sees offers no moderator's or mediator's command.
            assert not {"reports", "sanction", "appeals", "case", "floor"} & set(names)
            for command in menus[code]:
                assert command["description"] == infos[command["command"]].descriptions[language]
        assert menus["es"] != menus["en"]


async def test_member_words_are_sent_inert(tmp_path: Path, standin: BotApiStandIn) -> None:
    config = write_config(tmp_path, standin)
    group = standin.group(GROUP)
    sly = "@everyone <@123> <b>html</b> *markdown*"
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin):
        standin.join(group, standin.user(5004, sly, language_code="en"))
        await standin.wait_for(lambda: bool(standin.to(GROUP)))
        assert sly in standin.texts(GROUP)[0]  # repeated as it was: not a mention, no markup
        standin.say(standin.user(5004, sly), "/start")
        await standin.wait_for(lambda: any(s.buttons for s in standin.to(5004)))
        assert sly in standin.texts(5004)[0]
    messages = standin.calls_of("sendMessage")
    assert messages
    for call in messages:
        assert "parse_mode" not in call.params and "entities" not in call.params


async def test_restart_neither_replays_nor_skips(tmp_path: Path, standin: BotApiStandIn) -> None:
    config = write_config(tmp_path, standin)
    database = tmp_path / "db"
    dan = standin.user(5005, "Dan", language_code="en")
    async with asyncio.timeout(30):
        async with running(config, database, standin) as (_, engine):
            first = standin.say(dan, "/help")
            await standin.wait_for(lambda: len(standin.to(5005)) == 1)
            await standin.wait_for(lambda: engine.services.store.cursor(OFFSET) == str(first + 1))
        # While Concord is down, Dan writes again; Telegram keeps the update.
        second = standin.say(dan, "/help")
        polls = len(standin.poll_offsets)
        async with running(config, database, standin):
            assert standin.poll_offsets[polls] == first + 1  # resumes after what was handled
            await standin.wait_for(lambda: len(standin.to(5005)) == 2)
            await standin.wait_for(lambda: standin.poll_offsets[-1] == second + 1)
        help_start = catalog_start(engine, "en", "common.help")
        assert [t.startswith(help_start) for t in standin.texts(5005)] == [True, True]


async def test_an_update_not_handed_in_is_not_confirmed(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    config = write_config(tmp_path, standin)
    hal = standin.user(5009, "Hal", language_code="en")
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin) as (adapter, _):
        real_handle = adapter.host.handle
        failures: list[object] = []

        async def failing_once(event: Any, **how: Any) -> bool:
            if not failures:
                failures.append(event)
                raise OSError("disk full")
            return await real_handle(event, **how)

        adapter.host.handle = failing_once  # type: ignore[method-assign]
        update_id = standin.say(hal, "/help")
        await standin.wait_for(lambda: len(standin.to(5009)) == 1)
        await standin.drained()
    assert failures, "the first attempt failed"
    # Polled again without confirming it (no offset yet), then confirmed once handled.
    assert standin.poll_offsets == [0, 0, update_id + 1]
    assert len(standin.to(5009)) == 1


async def test_a_burst_of_joins_is_paced_under_the_limits(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    groups = [GROUP - i for i in range(40)]
    config = write_config(tmp_path, standin, groups=groups)
    chats = [standin.group(g) for g in groups]
    async with asyncio.timeout(40), running(config, tmp_path / "db", standin):
        for n in range(200):
            user = standin.user(10_000 + n, f"Newcomer {n}", language_code="en")
            standin.join(chats[n // 5], user, how="chat_member")
        await standin.wait_for(lambda: len(standin.sent) == 200, timeout=35)
    assert standin.too_many == []
    assert sorted(len(standin.to(g)) for g in groups) == [5] * 40
    for n in range(200):
        assert any(f"Newcomer {n}!" in t for t in standin.texts(groups[n // 5]))


async def test_messages_to_different_chats_are_sent_side_by_side(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    """With a round trip of 0.2 s (a real server across the internet), messages one
    after another would make about 5 a second: a burst of newcomers in ten groups is
    welcomed with several sends under way at once, up to Telegram's own limits."""
    groups = [GROUP - i for i in range(10)]
    config = write_config(tmp_path, standin, groups=groups)
    chats = [standin.group(g) for g in groups]
    standin.latency = 0.2
    async with asyncio.timeout(40), running(config, tmp_path / "db", standin):
        for n in range(10):
            standin.join(chats[n], standin.user(20_000 + n, f"Newcomer {n}", language_code="en"))
        await standin.wait_for(lambda: len(standin.sent) == 10, timeout=35)
    assert standin.too_many == []
    assert standin.most_in_flight > 1


async def test_flood_limit_answer_is_waited_out(tmp_path: Path, standin: BotApiStandIn) -> None:
    config = write_config(tmp_path, standin)
    eve = standin.user(5006, "Eve", language_code="en")
    standin.force_error("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin):
        standin.say(eve, "/help")
        await standin.wait_for(lambda: len(standin.to(5006)) == 1)
    attempts = [c for c in standin.calls_of("sendMessage") if c.params["chat_id"] == "5006"]
    assert [c.status for c in attempts] == [429, 200]


async def test_an_odd_update_is_skipped(
    tmp_path: Path, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    config = write_config(tmp_path, standin)
    fay = standin.user(5007, "Fay", language_code="en")
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin) as (_, engine):
        odd = standin.push_raw({"message": {"text": "no chat, no date"}})
        standin.say(fay, "/help")
        await standin.wait_for(lambda: len(standin.to(5007)) == 1)
        await standin.wait_for(lambda: engine.services.store.cursor(OFFSET) == str(odd + 2))
    assert any(f"skipping update {odd}" in r.getMessage() for r in caplog.records)


async def test_long_text_is_split_at_the_telegram_limit(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    config = write_config(tmp_path, standin)
    standin.started.add(5008)  # Gus opened the private chat earlier
    lines = [f"line {i} " + "x" * 90 for i in range(100)]  # about 10,000 characters
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin) as (adapter, _):
        await adapter.deliver(Say(Place("telegram", PlaceKind.DIRECT, "5008"), "\n".join(lines)))
    pieces = standin.texts(5008)
    assert len(pieces) == 3 and all(len(p) <= 4096 for p in pieces)
    assert "\n".join(pieces).split("\n") == lines


async def test_mydata_arrives_as_a_json_file(tmp_path: Path, standin: BotApiStandIn) -> None:
    config = write_config(tmp_path, standin)
    ivy = standin.user(5010, "Ivy", language_code="en")
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin, FAST) as (_, engine):
        standin.say(ivy, "/mydata")
        await standin.wait_for(lambda: any(s.document for s in standin.to(5010)))
        await standin.drained()
    summary, attachment = standin.to(5010)
    assert summary.text.startswith(catalog_start(engine, "en", "privacy.mydata_summary"))
    assert attachment.document is not None and attachment.text == ""  # no caption
    assert attachment.message["document"]["file_name"] == "concord-mydata.json"
    assert attachment.document.filename == "concord-mydata.json"
    data = json.loads(attachment.document.data.decode("utf-8"))
    assert data["member"] == "telegram:5010"
    assert "telegram:5010" not in summary.text  # the data is in the file, not the chat
    (call,) = standin.calls_of("sendDocument")
    assert "parse_mode" not in call.params and "caption" not in call.params
    assert standin.unknown == []


async def test_clear_deletes_the_bots_messages_even_after_a_restart(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    config = write_config(tmp_path, standin)
    database = tmp_path / "db"
    jo = standin.user(5011, "Jo", language_code="en")
    async with asyncio.timeout(30):
        async with running(config, database, standin, FAST):
            standin.say(jo, "/start")
            await standin.wait_for(lambda: any(s.buttons for s in standin.to(5011)))
            standin.say(jo, "/mydata")
            await standin.wait_for(lambda: any(s.document for s in standin.to(5011)))
            await standin.drained()
        before = standin.to(5011)
        assert len(before) >= 4 and standin.visible(5011) == before
        async with running(config, database, standin, FAST) as (_, engine):
            standin.say(jo, "/clear")
            await standin.wait_for(lambda: all(s.deleted for s in standin.to(5011)))
            await standin.drained()  # /clear was handled to the end
            now = engine.services.clock.now()
            assert engine.services.store.member_record("telegram", "5011", "sent", now) == "[]"
    assert standin.to(5011) == before, "nothing new was sent"
    assert standin.visible(5011) == []
    (bulk,) = standin.calls_of("deleteMessages")
    assert bulk.status == 200 and standin.calls_of("deleteMessage") == []
    assert standin.unknown == []


async def test_clear_skips_a_message_too_old_to_delete(
    tmp_path: Path, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    config = write_config(tmp_path, standin)
    kim = standin.user(5012, "Kim", language_code="en")
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin, FAST):
        for count in (1, 2):
            standin.say(kim, "/help")
            await standin.wait_for(lambda c=count: len(standin.to(5012)) == c)  # type: ignore[misc]
        old, recent = standin.to(5012)
        standin.backdate(old, 3 * 24 * 3600)
        caplog.set_level(logging.INFO, logger="adapters.telegram.history")
        standin.say(kim, "/clear")
        await standin.wait_for(lambda: recent.deleted)
        await standin.drained()
    assert not old.deleted and standin.visible(5012) == [old]
    assert [c.status for c in standin.calls_of("deleteMessages")] == [400]
    assert sorted(c.status for c in standin.calls_of("deleteMessage")) == [200, 400]
    assert any(f"message {old.message_id} not deleted" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(standin.to(5012)) == 2, "nothing new was sent"


async def test_the_ids_of_messages_too_old_to_delete_are_not_kept(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    """Telegram deletes a bot's message only within 48 hours: past that, the ids kept
    for ``/clear`` are of no use. ``/clear`` then asks Telegram for nothing, and the
    daily housekeeping deletes the record; a message sent later is recorded anew."""
    config = write_config(tmp_path, standin)
    lee = standin.user(5013, "Lee", language_code="en")
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin, FAST) as (_, engine):
        store, clock = engine.services.store, engine.services.clock
        standin.say(lee, "/help")
        await standin.wait_for(lambda: len(standin.to(5013)) == 1)
        await standin.drained()
        [first] = standin.to(5013)
        assert store.member_record("telegram", "5013", "sent", clock.now()) is not None
        clock.advance(timedelta(hours=48, seconds=1))
        standin.say(lee, "/clear")
        await standin.drained()
        assert standin.calls_of("deleteMessages") == standin.calls_of("deleteMessage") == []
        assert not first.deleted
        assert engine.timers.housekeeping() == 0  # (nothing for the retention purge)
        assert store.member_record("telegram", "5013", "sent", first_day(clock)) is None
        standin.say(lee, "/help")
        await standin.wait_for(lambda: len(standin.to(5013)) == 2)
        await standin.drained()
        standin.say(lee, "/clear")
        await standin.wait_for(lambda: standin.to(5013)[1].deleted)
    (bulk,) = standin.calls_of("deleteMessages")
    assert bulk.params["message_ids"] == [standin.to(5013)[1].message_id]


def first_day(clock: ManualClock) -> datetime:
    """A time when a record deleted by the housekeeping would still be current."""
    return clock.now() - timedelta(hours=47)


async def test_a_rejected_token_is_one_clear_line(
    tmp_path: Path, standin: BotApiStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "999:wrong-token")
    config = write_config(tmp_path, standin)
    engine = build_engine(config, tmp_path / "db", ManualClock())
    adapter = create(parse(config.platforms["telegram"]), AdapterHost(engine))
    try:
        async with asyncio.timeout(10):
            with pytest.raises(ConcordError) as caught:
                await adapter.run()
    finally:
        await adapter.close()
        engine.services.store.close()
    message = str(caught.value)
    assert TOKEN_ENV in message and "rejected" in message and "wrong-token" not in message
    assert "\n" not in message


# Settings --------------------------------------------------------------------------


def settings_error(tmp_path: Path, standin: BotApiStandIn, **telegram: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse(write_config(tmp_path, standin, **telegram).platforms["telegram"])
    return caught.value


def test_settings_are_validated(
    tmp_path: Path, standin: BotApiStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = parse(write_config(tmp_path, standin).platforms["telegram"])
    assert settings.token == TOKEN and TOKEN not in repr(settings)
    assert settings.groups == (GROUP,) and settings.member_role == "member"
    assert settings_error(tmp_path, standin, colour="blue").key == "platforms.telegram.colour"
    assert "negative" in settings_error(tmp_path, standin, groups=[42]).message
    error = settings_error(tmp_path, standin, moderator_ids=["x"])
    assert error.key == "platforms.telegram.moderator_ids[0]"
    assert settings_error(tmp_path, standin, poll_timeout=0).key.endswith("poll_timeout")
    assert settings_error(tmp_path, standin, restrict_until_acknowledged="yes").key.endswith(
        "restrict_until_acknowledged"
    )
    monkeypatch.delenv(TOKEN_ENV)
    error = settings_error(tmp_path, standin)
    assert error.key == "platforms.telegram.token_env"
    assert error.message == f"environment variable {TOKEN_ENV} is not set"
    assert error.line > 1
    config = write_config(tmp_path, standin)
    assert parse(config.platforms["telegram"], check_only=True).token == ""


# Translation alone -----------------------------------------------------------------


def _update(data: dict[str, Any]) -> Update:
    update = Update.de_json(data, Bot(TOKEN))
    assert update is not None
    return update


CONTEXT = Context("example", "concord_test_bot", frozenset({GROUP}), frozenset({9}))
NOW = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())


def _message(chat: dict[str, Any], user: dict[str, Any], text: str) -> dict[str, Any]:
    entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    message = {"message_id": 1, "date": NOW, "chat": chat, "from": user, "text": text}
    if text.startswith("/"):
        message["entities"] = entities
    return {"update_id": 1, "message": message}


def test_translation_of_messages_and_commands() -> None:
    mod = {"id": 9, "is_bot": False, "first_name": "Mo", "language_code": "zh-hant-tw"}
    group = {"id": GROUP, "type": "supergroup", "title": "G"}
    (run,) = translate(_update(_message(group, mod, "/coc@concord_test_bot be kind")), CONTEXT)
    assert isinstance(run.event, CommandRun)
    assert (run.event.name, run.event.args) == ("coc", ("be", "kind"))
    assert run.event.roles == ("moderator",) and run.event.locale == "zh-hant-tw"
    assert run.event.place == Place("telegram", PlaceKind.CHANNEL, str(GROUP))
    assert translate(_update(_message(group, mod, "/coc@other_bot")), CONTEXT) == []
    other = {"id": -5, "type": "supergroup", "title": "not served"}
    assert translate(_update(_message(other, mod, "/help")), CONTEXT) == []
    direct = {"id": 9, "type": "private", "first_name": "Mo"}
    (said,) = translate(_update(_message(direct, mod, "hello /there")), CONTEXT)
    assert isinstance(said.event, TextSaid) and said.event.text == "hello /there"
    (start,) = translate(_update(_message(direct, mod, "/start welcome")), CONTEXT)
    assert isinstance(start.event, CommandRun) and start.event.args == ()


def test_translation_of_joins_and_presses() -> None:
    user = {"id": 8, "is_bot": False, "first_name": "Ny"}
    group = {"id": GROUP, "type": "supergroup", "title": "G"}
    change = {
        "chat": group,
        "from": user,
        "date": NOW,
        "old_chat_member": {"status": "left", "user": user},
        "new_chat_member": {"status": "member", "user": user},
    }
    (joined,) = translate(_update({"update_id": 2, "chat_member": change}), CONTEXT)
    assert isinstance(joined.event, MemberJoined) and joined.join_chat == GROUP
    assert joined.event.event_id == f"join:{GROUP}:8:{NOW}"
    left = {**change, "old_chat_member": change["new_chat_member"]}
    left["new_chat_member"] = {"status": "left", "user": user}
    assert translate(_update({"update_id": 3, "chat_member": left}), CONTEXT) == []
    direct = {"id": 8, "type": "private", "first_name": "Ny"}
    bot_message = {"message_id": 4, "date": NOW, "chat": direct, "text": "Q?"}
    press = {"id": "77", "from": user, "message": bot_message, "chat_instance": "c", "data": "es"}
    (chosen,) = translate(_update({"update_id": 4, "callback_query": press}), CONTEXT)
    assert isinstance(chosen.event, ChoiceMade) and chosen.event.choice == "es"
    assert chosen.callback_id == "77"


def test_adapter_declares_what_telegram_can_do(tmp_path: Path, standin: BotApiStandIn) -> None:
    config = write_config(tmp_path, standin)
    engine = build_engine(config, tmp_path / "db", ManualClock())
    try:
        settings = parse(config.platforms["telegram"])
        adapter = create(settings, AdapterHost(engine))
        capabilities = adapter.capabilities
        assert adapter.platform == "telegram"
        assert capabilities.native_choices and not capabilities.private_spaces
        assert not capabilities.direct_first and capabilities.max_length == 4096
        assert capabilities.files and capabilities.delete_messages
        assert isinstance(settings, TelegramSettings)
        assert logging.getLogger("httpx").level >= logging.WARNING  # URLs carry the token
    finally:
        engine.services.store.close()


async def test_a_private_command_typed_in_the_group_is_answered_privately_and_removed(
    tmp_path: Path, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """The bot may delete messages in the group: the typed /mydata disappears from it.
    Where it may not, the refusal is logged once and the answers still go out; why,
    only at debug level (reasons may name a chat, and a private chat is a member)."""
    caplog.set_level(logging.DEBUG, logger="bot.engine.delivery")
    config = write_config(tmp_path, standin)
    group = standin.group(GROUP)
    for allowed, user_id in ((True, 5020), (False, 5021)):
        if allowed:
            standin.bot_deletes_in.add(GROUP)
        else:
            standin.bot_deletes_in.discard(GROUP)
        standin.started.add(user_id)
        user = standin.user(user_id, "Uma", language_code="en")
        database = tmp_path / f"db{user_id}"
        async with asyncio.timeout(30), running(config, database, standin, FAST) as (_, engine):
            standin.say(user, "/mydata", group)
            await standin.wait_for(lambda: any(s.document for s in standin.to(user_id)))  # noqa: B023
            await standin.drained()
            assert engine.services.store.pending_outbox() == []
            notice = catalog_start(engine, "en", "common.answered_privately")
        assert standin.to(GROUP) == []
        assert standin.to(user_id)[0].text.startswith(notice)
        [typed] = [key for key, m in standin.members_said.items() if m["from"]["id"] == user_id]
        assert (typed in standin.members_deleted) is allowed
    deletions = [c for c in standin.calls_of("deleteMessage") if c.params.get("chat_id")]
    assert len(deletions) == 2  # one each; the refused one is not retried
    reasons = [r for r in caplog.records if "a member's message was not removed" in r.message]
    assert [r.levelno for r in reasons] == [logging.DEBUG]
    assert [r.message for r in caplog.records if r.levelno >= logging.INFO] == [
        "undeliverable RemoveMessage on telegram, set aside"
    ]


async def test_a_chat_the_bot_may_not_write_to_is_recorded_undeliverable(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    """Telegram refuses for good (a user who never opened a chat with the bot): the
    action is set aside as undeliverable with Telegram's reason and counted, not
    counted as sent; the next action goes out."""
    config = write_config(tmp_path, standin)
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin, FAST) as (_, engine):
        ana = standin.user(5001, "Ana")
        standin.say(ana, "/start")  # Ana opened a chat with the bot; Kim never did
        await standin.wait_for(lambda: bool(standin.to(5001)))
        await standin.drained()
        store = engine.services.store
        kim = Place("telegram", PlaceKind.DIRECT, "5002")
        to_ana = Place("telegram", PlaceKind.DIRECT, "5001")
        items = store.apply(
            Changes(
                at=engine.services.clock.now(),
                outbox=[
                    (engine.community, Say(kim, "For Kim")),
                    (engine.community, Say(to_ana, "For Ana")),
                ],
            )
        )
        assert items is not None
        await engine.outbox.deliver_new(items)
        assert store.pending_outbox() == []
        assert store.undeliverable() == {"telegram": 1}
        [(outbox_id, platform, reason)] = store.undeliverable_reasons()
        assert outbox_id == items[0].id and platform == "telegram"
        assert "Forbidden" in reason and "5002" in reason
        assert standin.to(5001)[-1].text == "For Ana"
        assert standin.to(5002) == []


async def test_forget_erases_only_the_members_own_telegram_records(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    """Member 12 forgets; member 5124 (whose id contains "12") and member 123 keep
    their restriction state: records are kept per member, not found by pattern."""
    config = write_config(tmp_path, standin, restrict_until_acknowledged=True)
    group = standin.group(GROUP)
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin, FAST) as (_, engine):
        store = engine.services.store
        users = {uid: standin.user(uid, f"U{uid}", language_code="en") for uid in (12, 5124, 123)}
        for user in users.values():
            standin.join(group, user)
        await standin.wait_for(
            lambda: all(store.member_record("telegram", str(u), "member") for u in users)
        )
        standin.say(users[12], "/start welcome")
        await standin.wait_for(lambda: any(s.buttons for s in standin.to(12)))
        await standin.drained()
        now = engine.services.clock.now()
        assert store.member_record("telegram", "12", "sent", now)
        standin.say(users[12], "/forget")
        await standin.wait_for(lambda: "erase" in str(standin.to(12)[-1].buttons))
        count = len(standin.to(12))
        standin.say(users[12], "1")
        await standin.wait_for(lambda: len(standin.to(12)) > count)
        await standin.drained()
        assert store.member_record("telegram", "12", "member") is None
        assert store.member_record("telegram", "12", "sent", now) is None
        for uid in (5124, 123):
            saved = store.member_record("telegram", str(uid), "member")
            assert saved is not None and json.loads(saved)["groups"] == [GROUP]
