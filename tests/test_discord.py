"""The Discord adapter end to end: discord.py, unmodified except its REST base and
gateway URL, over real HTTP and a real websocket to a loopback stand-in of Discord
(tests/discord_standin.py), with a real engine on a real SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path
from typing import Any

import discord
import pytest

from adapters.discord.adapter import DiscordAdapter, create
from adapters.discord.settings import parse
from adapters.discord.slash_commands import valid_name
from bot.app import build_engine
from bot.config.community import Config, load_config
from bot.core.actions import RemoveMessage, Say
from bot.core.clock import ManualClock
from bot.core.errors import ConcordError, ConfigError, DeliveryError, Undeliverable
from bot.core.events import (
    ChoiceMade,
    CommandRun,
    Event,
    MemberJoined,
    MemberLeft,
    MemberRef,
    Place,
    PlaceKind,
    TextSaid,
)
from bot.engine.engine import Engine
from bot.engine.host import AdapterHost
from bot.engine.routing import Router
from bot.engine.turn import Command, Turn
from bot.i18n import N_
from tests.discord_standin import DiscordStandIn

ROOT = Path(__file__).parents[1]
TOKEN_ENV = "CONCORD_TEST_DISCORD_TOKEN"
TOKEN = "stand-in-token"
GUILD = 900
WELCOME = 901  # the server's system channel
MODERATORS = 902
SPACES = 903
GENERAL = 904
MEMBER_ROLE = 950
MODERATOR_ROLE = 960
NO_PINGS: dict[str, list[str]] = {"parse": []}


async def example_server() -> DiscordStandIn:
    """The example community's guild, served: its channels and roles (other test
    modules start theirs with this too)."""
    server = DiscordStandIn(TOKEN, GUILD)
    server.add_channel(MODERATORS, "moderators")
    server.add_channel(SPACES, "spaces")
    server.add_channel(GENERAL, "general")
    server.add_role(MEMBER_ROLE, "member")
    server.add_role(MODERATOR_ROLE, "moderators")
    await server.start()
    return server


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    server = await example_server()
    yield server
    await server.stop()
    # Whatever a test did, nothing the bot sent could ping anyone.
    assert all(s.payload.get("allowed_mentions") == NO_PINGS for s in server.sent)


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    prepare_environment(monkeypatch)
    yield


def prepare_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The token variable set, and discord.py's addresses restored after the test."""
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    # The adapter points these two class attributes at the stand-in; put them back.
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    gateway = discord.gateway.DiscordWebSocket
    monkeypatch.setattr(gateway, "DEFAULT_GATEWAY", gateway.DEFAULT_GATEWAY)


def write_config(tmp_path: Path, standin: DiscordStandIn, **discord_settings: Any) -> Config:
    """The example community on Discord: its mediators and a mentor have Discord ids."""
    text = (ROOT / "community" / "concord.yaml").read_text("utf-8")
    for name, user_id in (("noor", 2003), ("tomas", 2004), ("maria", 2005)):
        text = text.replace(f"console:{name}", f"discord:{user_id}")
    text = text.replace("console:", "discord:")
    coc = ROOT / "community" / "code-of-conduct.yaml"
    text = text.replace("# code_of_conduct: code-of-conduct.yaml", f"code_of_conduct: {coc}")
    section = {
        "token_env": TOKEN_ENV,
        "guild": GUILD,
        "moderators_channel": MODERATORS,
        "spaces_channel": SPACES,
        "roles": {"member": MEMBER_ROLE},
        "moderator_roles": [MODERATOR_ROLE],
        "api_base": standin.base,
        "gateway": standin.gateway,
        "guild_ready_timeout": 0.05,
        "requests_per_second": 2000,
        **discord_settings,
    }
    text += "\nplatforms:\n  discord: " + json.dumps(section) + "\n"
    path = tmp_path / "concord.yaml"
    path.write_text(text, "utf-8")
    return load_config(path)


class CountingHost(AdapterHost):
    """The host, counting the events it has fully handled (replies delivered)."""

    handled = 0

    async def handle(self, event: Event, *, wait_out_outage: bool = True) -> bool:
        try:
            return await super().handle(event, wait_out_outage=wait_out_outage)
        finally:
            self.handled += 1


@contextlib.asynccontextmanager
async def running(
    config: Config,
    database: Path,
    standin: DiscordStandIn,
    engine: Engine | None = None,
    router: Router | None = None,
) -> AsyncIterator[tuple[DiscordAdapter, Engine]]:
    """Concord with its Discord adapter, as ``concord run`` starts it, until its slash
    commands are published; stopped (task cancelled, adapter closed) afterwards. With
    a ``router``, the engines of a deployment of many communities (the first's given)."""
    engine = engine or build_engine(config, database, ManualClock())
    adapter = create(parse(config.platforms["discord"]), CountingHost(engine, router))
    engine.add_adapter(adapter)
    task = asyncio.create_task(adapter.run())
    try:
        await standin.wait_for(lambda: bool(standin.commands) or task.done())
        if task.done():
            task.result()
        yield adapter, engine
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await adapter.close()
        engine.services.store.close()


def catalog(engine: Engine, locale: str, message: str) -> str:
    """The fixed beginning of a catalog text (up to its first placeholder), as the
    adapter sends it (Markdown escaped)."""
    text = engine.services.catalogs.translator(locale).gettext(message).split("{")[0]
    return discord.utils.escape_markdown(text)


def recorded(engine: Engine) -> list[Event]:
    """Every neutral event the engine receives from now on."""
    events: list[Event] = []

    async def record(turn: Turn, call_next: Any) -> None:
        events.append(turn.event)
        await call_next(turn)

    engine.middlewares.insert(0, record)
    return events


async def act(adapter: DiscordAdapter, standin: DiscordStandIn, step: Awaitable[Any]) -> None:
    """One thing a member does on Discord, then everything the bot does about it (the
    event handled and its replies delivered)."""
    host = adapter.host
    assert isinstance(host, CountingHost)
    before = host.handled
    await step
    await standin.wait_for(lambda: host.handled > before)


# Connecting ---------------------------------------------------------------------------


async def test_ready_publishes_localized_commands_once_across_reconnects(
    tmp_path: Path, standin: DiscordStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="adapters.discord.adapter")
    config = write_config(tmp_path, standin)
    async with (
        asyncio.timeout(30),
        running(config, tmp_path / "db", standin) as (adapter, engine),
    ):
        assert "discord ready as Concord" in caplog.text
        text = engine.services.catalogs.translator
        intents = discord.Intents._from_value(standin.identifies[0]["intents"])
        assert intents.members and intents.message_content and intents.dm_messages
        by_name = {c["name"]: c for c in standin.commands}
        assert {"help", "coc", "language", "start", "human", "mediate"} <= set(by_name)
        # Every command is registered, each with its own description (none is left
        # out for want of a help text, none described by its bare name).
        assert set(by_name) == set(engine.commands)
        for name in ("sanction", "appeals", "resume", "floor", "private", "propose", "leave"):
            description = by_name[name]["description"]
            assert description == text("en").gettext(f"command.{name}") != name
        coc = by_name["coc"]
        localized = coc["description_localizations"]
        assert localized["es-ES"] == localized["es-419"] == text("es").gettext("command.coc")
        assert localized["pt-BR"] == text("pt-BR").gettext("command.coc")
        assert localized["fr"] == text("fr").gettext("command.coc")
        assert {"hi", "id", "de", "ja", "zh-CN", "zh-TW", "uk"} <= set(localized)
        assert "ar" not in localized and "sw" not in localized  # Discord has no such locale
        # Names in the member's language where the catalog gives one Discord accepts.
        names = by_name["language"]["name_localizations"]
        assert names["es-ES"] == names["es-419"] == text("es").gettext("command_name.language")
        assert names["de"] == text("de").gettext("command_name.language") != "language"
        assert all(valid_name(name) for name in names.values())
        (words,) = coc["options"]
        assert words["name"] == "words" and words["type"] == 3 and not words.get("required")
        hint = text("fr").gettext("common.choice_hint")
        assert words["description_localizations"]["fr"] == hint

        # A dropped connection is resumed: no new identify, no new ready.
        await standin.drop()
        await standin.wait_for(lambda: standin.resumes == 1)
        ana = standin.person(2001, "Ana")
        await act(adapter, standin, standin.join(ana))  # events flow again
        assert len(standin.identifies) == 1
        # An invalidated session: the bot identifies again and on_ready comes again,
        # but the commands are published only once.
        await standin.invalidate_session()
        await standin.wait_for(lambda: "discord: connected again" in caplog.text)
        assert len(standin.identifies) == 2
        assert len(standin.calls("PUT", "/applications/")) == 1
        assert caplog.text.count("discord ready as") == 1
        assert standin.unknown == []


async def test_a_rejected_token_is_one_clear_line_naming_its_variable(
    tmp_path: Path, standin: DiscordStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path, standin)
    monkeypatch.setenv(TOKEN_ENV, "not-the-token")
    engine = build_engine(config, tmp_path / "db", ManualClock())
    adapter = create(parse(config.platforms["discord"]), AdapterHost(engine))
    try:
        async with asyncio.timeout(10):
            with pytest.raises(ConcordError) as caught:
                await adapter.run()
        message = str(caught.value)
        assert TOKEN_ENV in message and "LoginFailure" in message and "\n" not in message
        assert standin.identifies == []
    finally:
        await adapter.close()
        engine.services.store.close()


async def test_a_process_identifies_as_its_shard_and_serves_the_guild_on_it(
    tmp_path: Path, standin: DiscordStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="adapters.discord.adapter")
    assert (GUILD >> 22) % 3 == 0  # the guild's events come through shard 0
    config = write_config(tmp_path, standin, shard_count=3, shard_ids=[0])
    async with (
        asyncio.timeout(30),
        running(config, tmp_path / "db", standin) as (adapter, _),
    ):
        assert standin.identifies[0]["shard"] == [0, 3]
        ana = standin.person(2001, "Ana")
        await act(adapter, standin, standin.join(ana))
        assert standin.to_user(2001)  # welcomed, through shard 0
        assert "another process runs" not in caplog.text and adapter.delivers
    # A process running shard 2 of 3 (``--discord-shard 2/3`` does the same, see
    # tests/test_roles.py) identifies as it, and says the server is not on it.
    other = write_config(tmp_path, standin, shard_count=3, shard_ids=[2])
    async with asyncio.timeout(30), running(other, tmp_path / "db2", standin) as (elsewhere, _):
        await standin.wait_for(lambda: "which another process runs" in caplog.text)
        assert not elsewhere.delivers  # the roles and threads are the shard 0 process's
        assert standin.identifies[1]["shard"] == [2, 3]
        assert "server 900 is on shard 0" in caplog.text
    several = create(
        parse(
            write_config(tmp_path, standin, shard_count=4, shard_ids=[1, 3]).platforms["discord"]
        ),
        AdapterHost(build_engine(config, tmp_path / "db3", ManualClock())),
    )
    assert isinstance(several.client, discord.AutoShardedClient)
    assert (several.client.shard_ids, several.client.shard_count) == ([1, 3], 4)
    await several.close()
    several.host.engine.services.store.close()


async def test_an_api_unreachable_at_start_is_retried_until_it_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Discord down when Concord starts (nothing listening): the login is retried
    with backoff, each time on a fresh client, until Discord answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    later = DiscordStandIn(TOKEN, GUILD)
    later.base = f"http://127.0.0.1:{port}/api/v10"
    later.gateway = f"ws://127.0.0.1:{port}/gateway"
    config = write_config(tmp_path, later)
    engine = build_engine(config, tmp_path / "db", ManualClock())
    adapter = create(parse(config.platforms["discord"]), CountingHost(engine))
    task = asyncio.create_task(adapter.run())
    try:
        async with asyncio.timeout(30):
            while "discord: cannot log in" not in caplog.text:
                assert not task.done(), task.exception()
                await asyncio.sleep(0.05)
            await later.start(port)
            await later.wait_for(lambda: bool(later.commands) or task.done())
        assert not task.done()
        assert [r.status for r in later.calls("GET", "/users/@me")] == [200]
        assert later.identifies
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await adapter.close()
        await later.stop()
        engine.services.store.close()


def test_settings_name_the_missing_variable_and_refuse_typos(
    tmp_path: Path, standin: DiscordStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path, standin, welcome_channel="801", channels={"rules": 802})
    settings = parse(config.platforms["discord"])
    assert settings.token == TOKEN and settings.welcome_channel == 801
    assert settings.channels == (("rules", 802),) and settings.role_id("member") == MEMBER_ROLE
    assert "stand-in-token" not in repr(settings)
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(ConfigError) as caught:
        parse(config.platforms["discord"])
    assert caught.value.key == "platforms.discord.token_env"
    assert caught.value.message == f"environment variable {TOKEN_ENV} is not set"
    assert caught.value.line > 1
    assert parse(config.platforms["discord"], check_only=True).token == ""
    for wrong, key in (
        ({"guild_id": GUILD}, "platforms.discord.guild_id"),
        ({"guild": "general"}, "platforms.discord.guild"),
        ({"roles": [950]}, "platforms.discord.roles"),
        ({"moderator_roles": ["mods"]}, "platforms.discord.moderator_roles[0]"),
        ({"gateway": "http://x"}, "platforms.discord.gateway"),
    ):
        broken = write_config(tmp_path, standin, **wrong)
        with pytest.raises(ConfigError) as caught:
            parse(broken.platforms["discord"], check_only=True)
        assert caught.value.key == key, wrong


# Members ------------------------------------------------------------------------------


async def test_join_welcome_dm_and_a_button_press_moves_on(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    config = write_config(tmp_path, standin)
    async with (
        asyncio.timeout(30),
        running(config, tmp_path / "db", standin) as (adapter, engine),
    ):
        events = recorded(engine)
        ana = standin.person(2001, "Ana")
        await act(adapter, standin, standin.join(ana))
        welcome, question = standin.to_user(2001)
        assert welcome.content.startswith(catalog(engine, "en", "onboarding.welcome"))
        assert "Ana" in welcome.content and not welcome.buttons
        assert catalog(engine, "en", "onboarding.choose_language") in question.content
        labels = {b["custom_id"].partition("~")[0]: b["label"] for b in question.buttons}
        assert labels["concord:es"] == "Español" and labels["concord:de"] == "Deutsch"
        assert "concord:other" in labels  # every other language by typing its name
        assert list(labels)[-1] == "concord:person"
        (join,) = events
        assert isinstance(join, MemberJoined) and join.member.id == "2001"
        assert join.place == Place("discord", PlaceKind.CHANNEL, "welcome")  # system channel

        await act(adapter, standin, standin.press(ana, question, "concord:es", locale="es-ES"))
        (callback,) = [body for _, body in standin.callbacks]
        assert callback["type"] == 7 and callback["data"]["components"] == []  # answered
        walk = standin.to_user(2001)[-1]
        assert catalog(engine, "es", "onboarding.walk_question") in walk.content
        keys = [b["custom_id"].partition("~")[0] for b in walk.buttons]
        assert keys == ["concord:next", "concord:more", "concord:person"]
        assert isinstance(events[-1], ChoiceMade) and events[-1].locale == "es-ES"
        stored = engine.services.store.load_profile("example", "discord:2001")
        assert stored is not None and stored["chosen_locale"] == "es"

        await act(adapter, standin, standin.leave(ana))
        assert isinstance(events[-1], MemberLeft)


async def test_a_newcomer_is_welcomed_in_the_language_their_client_reported(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    config = write_config(tmp_path, standin)
    async with (
        asyncio.timeout(30),
        running(config, tmp_path / "db", standin) as (adapter, engine),
    ):
        # A join carries no locale; an earlier interaction did (pt-BR).
        fay = standin.person(2012, "Fay")
        await act(adapter, standin, standin.slash(fay, "help", locale="pt-BR"))
        help_text, draft_notice = standin.to_user(2012)
        assert help_text.via == "followup"
        # Portuguese is a draft translation: said once, in Portuguese, after the answer.
        assert draft_notice.content.startswith(catalog(engine, "pt-BR", "common.draft_notice"))
        assert help_text.content.startswith(catalog(engine, "pt-BR", "common.help").split("\n")[0])
        await act(adapter, standin, standin.join(fay))
        welcome, question = standin.to_user(2012)[2:]  # no second draft notice
        assert welcome.content.startswith(catalog(engine, "pt-BR", "onboarding.welcome"))
        assert catalog(engine, "pt-BR", "onboarding.choose_language") in question.content


async def test_typed_answers_in_direct_messages_and_the_member_role(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    config = write_config(tmp_path, standin)
    async with (
        asyncio.timeout(30),
        running(config, tmp_path / "db", standin) as (adapter, engine),
    ):
        events = recorded(engine)
        bia = standin.person(2002, "Bia")
        await act(adapter, standin, standin.join(bia))
        # Language, the four parts of the walkthrough, the check question: not yet agreed.
        for answer in ["English", "1", "1", "1", "1", "1"]:
            await act(adapter, standin, standin.say(bia, answer))
        assert standin.role_grants == []
        said = events[1]
        assert isinstance(said, TextSaid) and said.text == "English"
        assert said.place == Place("discord", PlaceKind.DIRECT, "2002")
        await act(adapter, standin, standin.say(bia, "1"))  # agree
        assert standin.role_grants == [(2002, MEMBER_ROLE)]
        grant = standin.calls("PUT", f"/guilds/{GUILD}/members/2002/roles/{MEMBER_ROLE}")
        assert len(grant) == 1 and grant[0].authorized
        stored = engine.services.store.load_profile("example", "discord:2002")
        assert stored is not None and stored["acknowledged_version"]
        assert standin.unknown == []


# Slash commands -----------------------------------------------------------------------


async def test_slash_command_in_direct_messages_answers_as_followups_in_its_locale(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    config = write_config(tmp_path, standin)
    async with (
        asyncio.timeout(30),
        running(config, tmp_path / "db", standin) as (adapter, engine),
    ):
        events = recorded(engine)
        cai = standin.user(2006, "Cai")
        token = await standin.slash(cai, "coc", "1", locale="fr")
        await standin.wait_for(lambda: bool(standin.to_user(2006)))
        (callback,) = [body for _, body in standin.callbacks]
        assert callback["type"] == 5  # "thinking...", answered within three seconds
        assert not (callback.get("data") or {}).get("flags")  # not ephemeral in a DM
        first = standin.to_user(2006)[0]
        assert first.via == "followup"  # replaces the "thinking..." notice
        french = engine.services.catalogs.translator("fr").gettext("coc.be-kind.title")
        assert french in first.content
        (run,) = events
        assert isinstance(run, CommandRun) and (run.name, run.args) == ("coc", ("1",))
        assert run.locale == "fr" and run.place == Place("discord", PlaceKind.DIRECT, "2006")
        await standin.wait_for(lambda: adapter.host.handled == 1)  # type: ignore[attr-defined]
        assert token not in standin.withdrawn

        # A question in answer: its buttons come with the followup.
        await act(adapter, standin, standin.slash(cai, "language", locale="fr"))
        question = standin.to_user(2006)[-1]
        assert question.via == "followup"
        assert [b["custom_id"].partition("~")[0] for b in question.buttons][
            :3
        ] == [  # their own first
            "concord:fr",
            "concord:en",
            "concord:es",
        ]


async def test_slash_command_in_a_channel_is_answered_only_to_the_member(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    """Typed in a public channel, a slash command and everything the bot answers the
    member are ephemeral followups: nobody else sees that it was run or what it said."""
    config = write_config(tmp_path, standin)
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin) as (adapter, engine):
        dee = standin.user(2007, "Dee")
        await act(adapter, standin, standin.slash(dee, "help", channel_id=GENERAL, locale="es-ES"))
        (callback,) = [body for _, body in standin.callbacks]
        assert callback["type"] == 5 and callback["data"]["flags"] == 64  # only Dee sees it
        (answer,) = standin.to(GENERAL)
        assert answer.via == "followup" and answer.ephemeral
        assert answer.content.startswith(catalog(engine, "es", "common.help").split("\n")[0])

        # A command the core answers privately: ephemeral too, text and file, and
        # nothing in the channel for everyone, nothing kept in the direct messages.
        await act(adapter, standin, standin.slash(dee, "mydata", channel_id=GENERAL))
        summary, attached = standin.to(GENERAL)[1:]
        assert summary.ephemeral and attached.ephemeral and attached.via == "followup"
        assert summary.content.startswith(catalog(engine, "en", "privacy.mydata_summary"))
        assert [u.filename for u in attached.files] == ["concord-mydata.json"]
        assert standin.to_user(2007) == []
        assert engine.services.store.cursor("discord:sent:2007") is None

        # A question that starts a private conversation goes to the direct messages.
        await act(adapter, standin, standin.slash(dee, "report", channel_id=GENERAL))
        intro = standin.to(GENERAL)[3]
        assert intro.ephemeral and intro.content.startswith(catalog(engine, "en", "report.intro"))
        (question,) = standin.to_user(2007)
        assert question.buttons and question.via == "channel"
        assert [s for s in standin.to(GENERAL) if not s.ephemeral] == []
        assert standin.unknown == []


async def test_a_button_under_an_ephemeral_question_is_answered_ephemerally(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    config = write_config(tmp_path, standin)
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin) as (adapter, _):
        dee = standin.user(2007, "Dee")
        await act(adapter, standin, standin.slash(dee, "coc", channel_id=GENERAL))
        (question,) = standin.to(GENERAL)
        assert question.ephemeral and question.buttons
        await act(adapter, standin, standin.press(dee, question, question.buttons[0]["custom_id"]))
        after = standin.to(GENERAL)[1:]
        assert after and all(s.ephemeral and s.via == "followup" for s in after)
        assert standin.to_user(2007) == []


async def test_an_expired_interaction_answers_in_the_direct_messages_not_the_channel(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    config = write_config(tmp_path, standin)
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin) as (adapter, engine):
        dee = standin.user(2007, "Dee")
        standin.force_error("POST /webhooks/{id}/{id}", 404)  # Unknown Webhook
        await act(adapter, standin, standin.slash(dee, "help", channel_id=GENERAL))
        assert standin.to(GENERAL) == []
        (answer,) = standin.to_user(2007)
        assert answer.content.startswith(catalog(engine, "en", "common.help").split("\n")[0])


REPORT_ANSWERS = (
    "2",
    "They keep insulting me in the channel.",
    "kim",
    "Yesterday, in #general",
    "1",
    "https://example.org/m/1",
    "1",
    "1",
)


async def test_a_moderators_slash_command_in_a_channel_is_never_public(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    """Issue 18: a moderator's /reports list in #general was answered with a normal
    message there, for everyone to read."""
    config = write_config(tmp_path, standin)
    kai = standin.user(2009, "Kai", roles=(MODERATOR_ROLE,))
    bob = standin.user(2010, "Bob")
    async with asyncio.timeout(40), running(config, tmp_path / "db", standin) as (adapter, engine):
        none_open = catalog(engine, "en", "report.none_open")
        # Typed in the moderators' channel, the answer is for the moderators there.
        await act(adapter, standin, standin.slash(kai, "reports", "list", channel_id=MODERATORS))
        (callback,) = [body for _, body in standin.callbacks]
        assert not (callback.get("data") or {}).get("flags")
        (there,) = standin.to(MODERATORS)
        assert there.content == none_open and not there.ephemeral

        # Bob reports, under his name; then Kai asks for the queue in #general.
        await act(adapter, standin, standin.slash(bob, "report"))
        for answer in REPORT_ANSWERS:
            await act(adapter, standin, standin.say(bob, answer))
        assert any("2010" in s.content for s in standin.to(MODERATORS)[1:])
        for words in ("list", "mute 2011"):
            await act(adapter, standin, standin.slash(kai, "reports", words, channel_id=GENERAL))
        await act(adapter, standin, standin.say(kai, "/reports list", channel_id=GENERAL))
        answers = standin.to(GENERAL)
        assert len(answers) == 2 and all(a.ephemeral and a.via == "followup" for a in answers)
        assert "#1" in answers[0].content  # the queue, for Kai's eyes only


async def test_privileged_command_is_refused_to_members_without_the_role(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    config = write_config(tmp_path, standin)
    engine = build_engine(config, tmp_path / "db", ManualClock())

    def run_modonly(turn: Turn, args: tuple[str, ...], place: Place) -> None:
        turn.say_text("moderator tools ready", place=place)

    # A test-only command: the core has no moderator command yet.
    engine.commands["modonly"] = Command(
        "modonly", run_modonly, requires="moderator", help=N_("common.help_help")
    )
    eve = standin.user(2008, "Eve")
    kai = standin.user(2009, "Kai", roles=(MODERATOR_ROLE,))  # known from GUILD_CREATE
    async with (
        asyncio.timeout(30),
        running(config, tmp_path / "db", standin, engine) as (_, engine),
    ):
        assert "modonly" in {c["name"] for c in standin.commands}
        await standin.slash(eve, "modonly")
        await standin.wait_for(lambda: bool(standin.to_user(2008)))
        refused = engine.services.catalogs.translator("en").gettext("common.not_allowed")
        assert standin.texts_to_user(2008) == [refused.format(command="modonly")]
        await standin.slash(kai, "modonly")  # a moderator, by Discord role, in a DM
        await standin.wait_for(lambda: bool(standin.to_user(2009)))
        assert standin.texts_to_user(2009) == ["moderator tools ready"]


# Safety and limits --------------------------------------------------------------------

RISKY_NAME = "@everyone <@123> <b>hi</b> **bold** [x](https://evil.example)"


async def test_member_text_never_pings_and_shows_as_typed(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    config = write_config(tmp_path, standin)
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin) as (adapter, _):
        mal = standin.person(2010, RISKY_NAME)
        await act(adapter, standin, standin.join(mal))
        welcome, question = standin.to_user(2010)
        shown = r"@everyone <@123> <b>hi</b> \*\*bold\*\* \[x](https://evil.example)"
        assert shown in welcome.content
        assert welcome.payload["allowed_mentions"] == NO_PINGS
        # "Talk to a person": the moderators' channel gets the name, inert as well.
        await act(adapter, standin, standin.press(mal, question, "concord:person"))
        (notice,) = standin.to(MODERATORS)
        assert shown in notice.content and "discord:2010" in notice.content
        assert notice.payload["allowed_mentions"] == NO_PINGS


async def test_long_messages_are_split_at_line_breaks(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    config = write_config(tmp_path, standin)
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin) as (adapter, _):
        lines = [f"line {i:03d} " + "x" * 90 for i in range(50)]
        await adapter.deliver(Say(Place("discord", PlaceKind.DIRECT, "2011"), "\n".join(lines)))
        pieces = standin.texts_to_user(2011)
        assert len(pieces) == 3 and all(len(p) <= 2000 for p in pieces)
        assert "\n".join(pieces).split("\n") == lines  # nothing cut mid-line, nothing lost


async def test_a_burst_of_joins_is_welcomed_through_rate_limits(
    tmp_path: Path, standin: DiscordStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    config = write_config(tmp_path, standin)
    standin.limit("POST /users/@me/channels", 40, 0.25)
    standin.force_429("POST /channels/{id}/messages", 3)
    async with asyncio.timeout(50), running(config, tmp_path / "db", standin) as (_, engine):
        users = [standin.person(3000 + i, f"M{i}") for i in range(200)]
        for user in users:
            await standin.join(user)
        await standin.wait_for(
            lambda: all(len(standin.to_user(3000 + i)) >= 2 for i in range(200)), timeout=45
        )
        # The three forced 429s were waited out and retried; the bucket of DM channel
        # creation (40 per 0.25 s) was learnt from its headers and never exceeded.
        assert standin.too_many == 3
        assert len(standin.calls("POST", "/users/@me/channels")) == 200
        for i in range(200):
            welcome, _ = standin.texts_to_user(3000 + i)
            assert welcome.startswith(catalog(engine, "en", "onboarding.welcome"))
            assert f"M{i}!" in welcome
        # Every welcome is marked sent once its reply is in (nothing left to retry).
        await standin.wait_for(lambda: engine.services.store.pending_outbox() == [])
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert not [r for r in caplog.records if r.name.startswith(("adapters", "bot"))]


async def test_a_429_that_outlasts_the_retries_keeps_the_message_for_later(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    config = write_config(tmp_path, standin)
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin) as (adapter, _):
        standin.force_429("POST /channels/{id}/messages", 5)
        say = Say(Place("discord", PlaceKind.CHANNEL, str(GENERAL)), "hello")
        with pytest.raises(DeliveryError):
            await adapter.deliver(say)
        await adapter.deliver(say)  # the outbox sends it again later
        assert [s.content for s in standin.to(GENERAL)] == ["hello"]


# Private spaces -----------------------------------------------------------------------


async def test_mediation_opens_a_private_thread_where_the_session_happens(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    config = write_config(tmp_path, standin)
    ana, sam = standin.person(2001, "Ana"), standin.person(2002, "Sam")
    standin.user(2003, "Noor")  # the mediator of the example roster
    async with asyncio.timeout(40), running(config, tmp_path / "db", standin) as (adapter, _):
        engine = adapter.host.engine
        for user in (ana, sam):
            await act(adapter, standin, standin.join(user))
            await act(
                adapter, standin, standin.say(user, "/stop")
            )  # typed: Discord sends unknown /words as text
        await act(adapter, standin, standin.slash(ana, "mediate", "<@2002>"))
        for answer in ["We disagree about how reviews are done.", "2", "2", "1", "1"]:
            await act(adapter, standin, standin.say(ana, answer))
        await act(adapter, standin, standin.say(sam, "1"))  # accepts
        for answer in ["What happened.", "How it felt.", "What I need.", "1"]:
            await act(adapter, standin, standin.say(ana, answer))
        for answer in ["This happened.", "I felt bad.", "I need respect.", "2"]:
            await act(adapter, standin, standin.say(sam, answer))

        ((thread_id, thread),) = standin.threads.items()
        assert thread["type"] == 12 and thread["parent_id"] == str(SPACES)  # private thread
        assert thread["thread_metadata"]["invitable"] is False
        assert thread["name"] == "Mediation, case 1"
        assert standin.thread_members[thread_id] == {1000, 2001, 2002, 2003}
        rules = catalog(engine, "en", "mediation.ground_rules")
        assert standin.to(thread_id)[0].content.startswith(rules)

        events = recorded(engine)
        await act(
            adapter,
            standin,
            standin.say(sam, "Can we talk about the last review?", channel_id=thread_id),
        )
        (said,) = events
        assert isinstance(said, TextSaid) and said.text.startswith("Can we talk")
        assert said.place == Place("discord", PlaceKind.PRIVATE, "case-1")
        # /pause in the thread: the session's own place; the notice is the followup there.
        count = len(standin.to(thread_id))
        await act(adapter, standin, standin.slash(sam, "pause", channel_id=thread_id))
        (paused,) = standin.to(thread_id)[count:]
        assert paused.via == "followup" and "Sam" in paused.content
        case = engine.services.store.cases.load("example", 1)
        assert case is not None and case.data["paused"] is True
        assert standin.unknown == []


# Privacy: /mydata as a file, /clear deletes the bot's messages ------------------------


async def test_mydata_in_a_direct_message_arrives_as_a_json_file(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    config = write_config(tmp_path, standin)
    async with (
        asyncio.timeout(30),
        running(config, tmp_path / "db", standin) as (adapter, engine),
    ):
        assert adapter.capabilities.files
        gil = standin.user(2013, "Gil")
        await act(adapter, standin, standin.slash(gil, "mydata"))
        summary, attached = standin.to_user(2013)
        assert summary.via == "followup"  # replaces the "thinking..." notice
        assert summary.content.startswith(catalog(engine, "en", "privacy.mydata_summary"))
        assert attached.content == "" and attached.via == "channel"
        (upload,) = attached.files
        assert upload.filename == "concord-mydata.json"
        assert [a["filename"] for a in attached.payload["attachments"]] == [upload.filename]
        data = json.loads(upload.data.decode("utf-8"))
        assert data["member"] == "discord:2013"
        assert standin.unknown == []


async def test_clear_deletes_the_bots_messages_in_the_dm_also_after_a_restart(
    tmp_path: Path, standin: DiscordStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="adapters.discord.send")
    config = write_config(tmp_path, standin)
    database = tmp_path / "db"
    hal, ivy = standin.person(2014, "Hal"), standin.person(2015, "Ivy")
    async with asyncio.timeout(30), running(config, database, standin) as (adapter, _):
        for user in (hal, ivy):
            await act(adapter, standin, standin.join(user))  # a welcome and a question
        await act(adapter, standin, standin.say(hal, "English"))  # the walkthrough begins
    standin.commands = []  # so that the restarted bot is awaited until it is connected
    async with asyncio.timeout(30), running(config, database, standin) as (adapter, engine):
        assert adapter.capabilities.delete_messages
        await act(adapter, standin, standin.slash(hal, "help"))  # a followup in the DM
        shown = standin.shown_to_user(2014)
        assert len(shown) >= 4 and shown[-1].via == "followup"
        shown[0].deleted = True  # already gone: Discord answers 404 Unknown Message
        ivy_sees = standin.shown_to_user(2015)
        count = len(standin.to_user(2014))
        token = await standin.slash(hal, "clear")
        await standin.wait_for(lambda: token in standin.withdrawn)  # "thinking..." removed
        # Every message the bot sent Hal is gone, before and after the restart; nothing
        # new was sent; Ivy's direct messages are untouched.
        assert standin.shown_to_user(2014) == []
        assert len(standin.to_user(2014)) == count
        assert standin.shown_to_user(2015) == ivy_sees
        dm = standin.dm_channels[2014]
        deletes = standin.calls("DELETE", f"/channels/{dm}/messages/")
        assert sorted(r.status for r in deletes) == [204] * (len(shown) - 1) + [404]
        assert standin.calls("POST", f"/channels/{dm}/messages/bulk-delete") == []
        assert "Unknown Message" in caplog.text  # the one already gone: logged, skipped
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert engine.services.store.pending_outbox() == []
        # A second /clear has nothing left to delete.
        token = await standin.slash(hal, "clear")
        await standin.wait_for(lambda: token in standin.withdrawn)
        assert len(standin.calls("DELETE", f"/channels/{dm}/messages/")) == len(deletes)
        assert standin.unknown == []


async def test_an_action_delivered_again_is_shown_once(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    """An action delivered just before a crash is delivered again after the restart;
    the message nonce made from its outbox row lets Discord create it only once, for
    every piece of a long message, also through a new adapter on the same database."""
    config = write_config(tmp_path, standin)
    ana = standin.person(2001, "Ana")
    to_ana = Place.direct(MemberRef("discord", "2001", "Ana"))
    short = Say(to_ana, "Thank you for your report.")
    long = Say(to_ana, "\n".join(f"Line {i}: " + "word " * 30 for i in range(30)))

    async def deliver_as_row(adapter: DiscordAdapter, row: int, action: Say) -> None:
        await adapter.deliver(action, str(row))

    async with asyncio.timeout(30), running(config, tmp_path / "db", standin) as (adapter, _):
        assert ana  # a member the stand-in knows
        for _ in range(2):
            await deliver_as_row(adapter, 7, short)
            await deliver_as_row(adapter, 8, long)
        pieces = len(standin.texts_to_user(2001)) - 1
        assert pieces > 1  # the long one was split, and no piece doubled
        await deliver_as_row(adapter, 9, short)  # another row: a new message
        assert standin.texts_to_user(2001).count(short.text) == 2
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin) as (adapter, _):
        await standin.wait_for(adapter.client.is_ready)  # the second login
        await deliver_as_row(adapter, 8, long)  # after a restart: still the same messages
        assert len(standin.texts_to_user(2001)) == pieces + 2
    assert all(len(s.payload["nonce"]) <= 25 for s in standin.sent if "nonce" in s.payload)


async def test_a_private_command_typed_as_text_in_a_channel_is_taken_back(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    """Eve's client sent "/report" as a plain message in #general (no slash command
    picked): the line is removed there, nothing is answered in the channel, and the
    report goes on in her direct messages. Other talk that starts with a slash is talk."""
    config = write_config(tmp_path, standin)
    standin.manage_messages = True
    async with asyncio.timeout(40), running(config, tmp_path / "db", standin) as (adapter, engine):
        eve = standin.user(2031, "Eve")
        typed = await standin.say(eve, "/report", GENERAL)
        await standin.wait_for(lambda: standin.members_deleted == {typed})
        question = catalog(engine, "en", "report.kind")
        await standin.wait_for(lambda: any(question in t for t in standin.texts_to_user(2031)))
        assert standin.to(GENERAL) == []
        before = len(standin.sent)
        await act(adapter, standin, standin.say(eve, "/shrug at this", GENERAL))
        assert standin.members_deleted == {typed} and standin.sent[before:] == []


async def test_a_members_message_is_removed_only_with_manage_messages(
    tmp_path: Path, standin: DiscordStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """A private command typed in a channel is removed where the bot may; a refusal is
    Undeliverable (the outbox records it with its reason and never retries it), and a
    slash command that left no message is only logged."""
    config = write_config(tmp_path, standin)
    async with asyncio.timeout(30), running(config, tmp_path / "db", standin) as (adapter, _):
        eve = standin.user(2030, "Eve")
        await standin.join(eve)
        general = Place("discord", PlaceKind.CHANNEL, str(GENERAL))
        member = MemberRef("discord", "2030", "Eve")
        refused = await standin.say(eve, "/reports list", GENERAL)
        with pytest.raises(Undeliverable, match="Missing Permissions"):
            await adapter.deliver(RemoveMessage(general, member, str(refused)))
        standin.manage_messages = True
        removed = await standin.say(eve, "/reports list", GENERAL)
        await adapter.deliver(RemoveMessage(general, member, str(removed)))
        assert standin.members_deleted == {removed}
        await adapter.deliver(RemoveMessage(general, member, "123456789"))  # no such message
