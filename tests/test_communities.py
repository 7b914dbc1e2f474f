"""Two communities in one deployment, on a real SQLite file and on PostgreSQL: each keeps its own
members' data, moderators and language; direct messages go to one community only."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import build_engines
from bot.config.community import Config, load_config
from bot.core.actions import Ask, NotifyModerators, Say
from bot.core.clock import ManualClock
from bot.core.errors import ConfigError
from bot.core.events import (
    ChoiceMade,
    CommandRun,
    Event,
    MemberJoined,
    MemberRef,
    Place,
    PlaceKind,
    TextSaid,
)
from bot.engine.engine import Engine
from bot.engine.host import AdapterHost
from tests.conftest import RecordingAdapter

ROOT = Path(__file__).resolve().parents[1]
COC = ROOT / "community" / "code-of-conduct.yaml"
SECRET = "Kim mocked my accent in the voice channel"
GROUP_A, GROUP_B = "-1001", "-1002"
DEPLOYMENT = (
    "database: concord.db\ncommunities: communities\nlimits: {messages_per_minute: 10000}\n"
)


def community_file(ident: str, name: str, language: str, group: str, moderator: str) -> str:
    return f"""community:
  id: {ident}
  name: {name}
  default_language: {language}
  languages: [{language}, {"es" if language == "en" else "en"}]
  code_of_conduct: {COC}
moderators:
  channel: "{ident}-moderators"
  members: ["telegram:{moderator}"]
reports:
  emergency_contacts: ["telegram:{moderator}"]
spaces:
  telegram: ["{group}"]
"""


def write_deployment(folder: Path) -> Path:
    (folder / "communities").mkdir()
    (folder / "communities" / "alpha.yaml").write_text(
        community_file("alpha", "Alpha", "en", GROUP_A, "moda"), "utf-8"
    )
    (folder / "communities" / "beta.yaml").write_text(
        community_file("beta", "Beta", "es", GROUP_B, "modb"), "utf-8"
    )
    path = folder / "concord.yaml"
    path.write_text(DEPLOYMENT, "utf-8")
    return path


class TelegramRecorder(RecordingAdapter):
    platform = "telegram"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(write_deployment(tmp_path))


@pytest.fixture
def adapter() -> TelegramRecorder:
    return TelegramRecorder()


@pytest.fixture(params=["sqlite", "postgres"])
def engines(
    config: Config, adapter: TelegramRecorder, request: pytest.FixtureRequest
) -> Iterator[list[Engine]]:
    """Both communities on one store: the deployment's SQLite file, or a PostgreSQL
    database that other processes could share."""
    database = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    built = build_engines(config, database, clock=ManualClock())
    built[0].add_adapter(adapter)
    yield built
    built[0].services.store.close()


@pytest.fixture
def host(engines: list[Engine]) -> AdapterHost:
    return AdapterHost.of(engines)


def ref(name: str) -> MemberRef:
    return MemberRef("telegram", name, name.capitalize())


def where(name: str, group: str | None) -> Place:
    return Place("telegram", PlaceKind.CHANNEL, group) if group else Place.direct(ref(name))


async def send(host: AdapterHost, event: Event) -> bool:
    return await host.handle(event)


async def say(host: AdapterHost, name: str, text: str, group: str | None = None) -> bool:
    place = where(name, group)
    return await send(
        host, TextSaid(uuid.uuid4().hex, host.community, ref(name), place=place, text=text)
    )


async def run(host: AdapterHost, name: str, text: str, group: str | None = None) -> bool:
    words = text.lstrip("/").split()
    event = CommandRun(
        uuid.uuid4().hex,
        host.community,
        ref(name),
        place=where(name, group),
        name=words[0],
        args=tuple(words[1:]),
    )
    return await send(host, event)


async def join(host: AdapterHost, name: str, group: str) -> None:
    place = where(name, group)
    await send(host, MemberJoined(uuid.uuid4().hex, host.community, ref(name), place=place))


def direct_texts(adapter: RecordingAdapter, name: str) -> list[str]:
    return [
        a.text
        for a in adapter.sent
        if isinstance(a, Say | Ask) and a.to.kind == PlaceKind.DIRECT and a.to.id == name
    ]


async def test_one_account_in_two_communities_has_two_separate_conversations(
    host: AdapterHost, engines: list[Engine], adapter: TelegramRecorder
) -> None:
    await join(host, "ana", GROUP_A)
    await join(host, "ana", GROUP_B)
    store = engines[0].services.store
    assert store.communities_of("telegram:ana") == ["alpha", "beta"]
    # Each community welcomed her in its own language, in its own conversation.
    alpha = store.load_conversation("alpha", "telegram:ana")
    beta = store.load_conversation("beta", "telegram:ana")
    assert alpha and beta
    welcomes = direct_texts(adapter, "ana")
    spanish = engines[1].services.catalogs.translator("es")
    assert any(spanish.gettext("common.choice_hint") in t for t in welcomes[1:])
    assert not any(spanish.gettext("common.choice_hint") in t for t in welcomes[:1])
    assert engines[0].services.config.default_language == "en"
    assert engines[1].services.config.default_language == "es"
    # Both flows wait for her direct messages: nothing is guessed, she is asked.
    adapter.take()
    await say(host, "ana", "hello")
    asked = [a for a in adapter.sent if isinstance(a, Ask)]
    assert [c.key for c in asked[-1].choices] == ["community:alpha", "community:beta"]
    assert store.load_conversation("alpha", "telegram:ana") == alpha
    assert store.load_conversation("beta", "telegram:ana") == beta
    # She types "2": Beta from now on.
    await say(host, "ana", "2")
    assert "Beta" in direct_texts(adapter, "ana")[-1]
    adapter.take()
    await run(host, "ana", "/stop")
    assert store.load_conversation("alpha", "telegram:ana") == alpha
    assert store.load_conversation("beta", "telegram:ana") != beta


async def test_a_report_in_one_community_never_reaches_the_other(
    host: AdapterHost, engines: list[Engine], adapter: TelegramRecorder
) -> None:
    for name, group in (("ana", GROUP_A), ("moda", GROUP_A), ("modb", GROUP_B)):
        await join(host, name, group)
        await run(host, name, "/stop")
    adapter.take()
    await run(host, "ana", "/report")  # her only community: Alpha
    for answer in ("2", SECRET, "kim", "Yesterday", "1", "https://example.org/m/1", "2", "1"):
        await say(host, "ana", answer)
    assert not any(isinstance(a, NotifyModerators) for a in adapter.sent)
    rooms = [a.to.id for a in adapter.sent if isinstance(a, Say) and a.to.kind == "channel"]
    assert rooms and set(rooms) == {"alpha-moderators"}
    # Beta's moderator is told nothing and finds nothing, in their DMs or in Beta's group.
    await run(host, "modb", "/reports list")
    await run(host, "modb", "/reports show 1")
    await run(host, "modb", "/reports show 1", group=GROUP_B)
    assert not any(SECRET in t for t in direct_texts(adapter, "modb"))
    assert not any(
        a.to.id in ("beta-moderators", GROUP_B) and SECRET in a.text
        for a in adapter.sent
        if isinstance(a, Say | Ask)
    )
    # Alpha's moderator reads it in Alpha, but not from Beta's group.
    adapter.take()
    await run(host, "moda", "/reports show 1", group=GROUP_B)
    assert not any(SECRET in getattr(a, "text", "") for a in adapter.sent)
    # Writing in Beta's group made them known there too: their DMs now ask first.
    await run(host, "moda", "/reports show 1")
    assert not any(SECRET in getattr(a, "text", "") for a in adapter.sent)
    await say(host, "moda", "1")  # Alpha
    await run(host, "moda", "/reports show 1")
    assert any(SECRET in t for t in direct_texts(adapter, "moda"))
    assert engines[1].services.store.cases.listing("beta", "report") == []


async def test_a_moderator_of_one_community_cannot_act_in_the_other(
    host: AdapterHost, engines: list[Engine], adapter: TelegramRecorder
) -> None:
    await join(host, "moda", GROUP_A)
    await join(host, "moda", GROUP_B)
    await say(host, "moda", "1")  # which community? Alpha
    adapter.take()
    await run(host, "moda", "/reports list", group=GROUP_B)
    answer = " ".join(getattr(a, "text", "") for a in adapter.take())
    await run(host, "moda", "/reports list", group=GROUP_A)
    allowed = " ".join(getattr(a, "text", "") for a in adapter.take())
    refusal = engines[1].services.catalogs.translator("es").gettext("common.not_allowed")
    assert refusal.split("{")[0] in answer  # Beta's refusal, in Beta's language
    assert allowed and refusal.split("{")[0] not in allowed


async def test_direct_messages_follow_the_rule(
    host: AdapterHost, engines: list[Engine], adapter: TelegramRecorder
) -> None:
    store = engines[0].services.store
    # Someone of no community is told where to start; nothing is stored about them.
    await say(host, "stranger", "hello")
    assert direct_texts(adapter, "stranger")
    assert store.communities_of("telegram:stranger") == []
    # A member of one community: straight to it.
    await join(host, "bo", GROUP_B)
    await run(host, "bo", "/stop")
    adapter.take()
    await say(host, "bo", "/help")
    assert store.communities_of("telegram:bo") == ["beta"]
    # In a channel of no community, nothing is handled nor said, whoever writes.
    adapter.take()
    assert not await say(host, "stranger", "hello", group="-1009")
    assert not await run(host, "bo", "/report", group="-1009") and adapter.sent == []
    assert not any(
        isinstance(a, Ask) and a.choices and a.choices[0].key.startswith("community:")
        for a in adapter.sent
    )
    # A member of both, no flow waiting: asked; a press for a community she is not
    # in changes nothing; a press for one she is in is kept.
    for group in (GROUP_A, GROUP_B):
        await join(host, "cy", group)
        await say(host, "cy", "1")
        await run(host, "cy", "/stop")
    adapter.take()
    await say(host, "cy", "hello")
    assert isinstance(adapter.sent[-1], Ask)
    press = ChoiceMade(
        uuid.uuid4().hex,
        host.community,
        ref("cy"),
        place=Place.direct(ref("cy")),
        choice="community:gamma",
    )
    await send(host, press)
    assert store.member_record("telegram", "cy", "community") is None
    press = ChoiceMade(
        uuid.uuid4().hex,
        host.community,
        ref("cy"),
        place=Place.direct(ref("cy")),
        choice="community:alpha",
    )
    assert await send(host, press)
    assert not await send(host, press)  # a re-delivery is not answered twice
    assert store.member_record("telegram", "cy", "community") == "alpha"
    # A message delivered again after the member chose another community stays with
    # the community that handled it: ignored there, never handled by the other.
    hello = TextSaid(
        uuid.uuid4().hex, host.community, ref("cy"), place=Place.direct(ref("cy")), text="hi"
    )
    assert await send(host, hello)
    press = ChoiceMade(
        uuid.uuid4().hex,
        host.community,
        ref("cy"),
        place=Place.direct(ref("cy")),
        choice="community:beta",
    )
    assert await send(host, press)
    assert not await send(host, hello)
    assert not store.seen(f"beta|telegram|{hello.event_id}")


async def test_timers_fire_in_their_own_community(
    host: AdapterHost, engines: list[Engine], adapter: TelegramRecorder
) -> None:
    await join(host, "di", GROUP_A)
    await join(host, "di", GROUP_B)
    adapter.take()
    clock = engines[0].services.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(days=3))
    # One loop fires every community's timers, each in its own community's engine:
    # Alpha reminds her in English, Beta in Spanish.
    assert await engines[1].fire_due_timers() == 2
    texts = direct_texts(adapter, "di")
    for engine, language in ((engines[0], "en"), (engines[1], "es")):
        reminder = engine.services.catalogs.translator(language).gettext("onboarding.reminder")
        assert any(t.startswith(reminder.split("{")[0]) for t in texts), language


async def test_forget_in_one_community_keeps_the_other(
    host: AdapterHost, engines: list[Engine], adapter: TelegramRecorder
) -> None:
    store = engines[0].services.store
    for group in (GROUP_A, GROUP_B):
        await join(host, "ed", group)
        await say(host, "ed", "1")  # Alpha, asked once both wait
        await run(host, "ed", "/stop")
    await run(host, "ed", "/forget")  # which community? asked first
    assert store.communities_of("telegram:ed") == ["alpha", "beta"]
    await say(host, "ed", "1")  # Alpha
    await run(host, "ed", "/forget")
    await say(host, "ed", "1")  # yes, erase
    assert "erased" in direct_texts(adapter, "ed")[-1]
    assert store.load_profile("alpha", "telegram:ed") is None
    assert store.load_conversation("alpha", "telegram:ed") is None
    assert store.communities_of("telegram:ed") == ["beta"]
    assert store.load_profile("beta", "telegram:ed") is not None
    # Her direct messages now go to Beta, her one community, without a question.
    adapter.take()
    await run(host, "ed", "/help")
    assert not any(isinstance(a, Ask) for a in adapter.sent) and adapter.sent


def test_two_communities_with_one_id_are_refused(tmp_path: Path) -> None:
    path = write_deployment(tmp_path)
    beta = tmp_path / "communities" / "beta.yaml"
    beta.write_text(beta.read_text("utf-8").replace("id: beta", "id: alpha"), "utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert (error.value.file, error.value.line, error.value.key) == (str(beta), 2, "community.id")
    assert "alpha.yaml" in error.value.message


def test_a_space_claimed_twice_is_refused(tmp_path: Path) -> None:
    path = write_deployment(tmp_path)
    beta = tmp_path / "communities" / "beta.yaml"
    beta.write_text(beta.read_text("utf-8").replace(GROUP_B, GROUP_A), "utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert (error.value.file, error.value.key) == (str(beta), "spaces.telegram[0]")
    assert error.value.line == 13


def test_an_error_in_one_community_file_names_its_file_line_and_key(tmp_path: Path) -> None:
    path = write_deployment(tmp_path)
    alpha = tmp_path / "communities" / "alpha.yaml"
    alpha.write_text(
        alpha.read_text("utf-8").replace("  name: Alpha\n", "  name: Alpha\n  colour: red\n"),
        "utf-8",
    )
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert (error.value.file, error.value.line, error.value.key) == (
        str(alpha),
        4,
        "community.colour",
    )


def test_a_shared_moderators_room_or_a_platform_wide_role_is_refused(tmp_path: Path) -> None:
    path = write_deployment(tmp_path)
    beta = tmp_path / "communities" / "beta.yaml"
    beta.write_text(beta.read_text("utf-8").replace("beta-moderators", "alpha-moderators"), "utf-8")
    with pytest.raises(ConfigError, match=r"alpha\.yaml") as error:
        load_config(path)
    assert error.value.key == "moderators.channel"
    # Nor may one community name another's moderators' room as its space.
    beta.write_text(
        beta.read_text("utf-8").replace('"alpha-moderators"', '"beta-moderators"'), "utf-8"
    )
    kept = beta.read_text("utf-8")
    beta.write_text(kept + '  irc: ["alpha-moderators"]\n', "utf-8")
    with pytest.raises(ConfigError, match=r"alpha\.yaml") as error:
        load_config(path)
    assert error.value.key == "spaces.irc[0]"
    beta.write_text(kept, "utf-8")
    beta.write_text(
        beta.read_text("utf-8").replace('"alpha-moderators"', '"beta-moderators"'), "utf-8"
    )
    path.write_text(
        DEPLOYMENT + "platforms:\n  telegram:\n    token_env: T\n    moderator_ids: [1]\n", "utf-8"
    )
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert (error.value.line, error.value.key) == (7, "platforms.telegram.moderator_ids")
    # A members' room grants a role on Matrix: it would be every community's.
    path.write_text(
        DEPLOYMENT + "platforms:\n  matrix:\n    token_env: T\n"
        '    members_room: "#members:example.org"\n',
        "utf-8",
    )
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert (error.value.line, error.value.key) == (7, "platforms.matrix.members_room")


def test_a_config_of_one_community_is_unchanged(tmp_path: Path) -> None:
    config = load_config(None)
    assert config.communities == () and config.spaces == {}
    engines = build_engines(config, tmp_path / "one.db")
    assert [e.community for e in engines] == [config.community_id]
    assert AdapterHost.of(engines).router is None
    engines[0].services.store.close()


def english_and_spanish(tmp_path: Path, beta_extra: str = "") -> Path:
    """A deployment of two communities, alpha in English and beta in Spanish (with
    ``beta_extra`` in its file); the deployment's file."""
    folder = tmp_path / "communities"
    folder.mkdir(exist_ok=True)
    for ident, language, extra in (("alpha", "en", ""), ("beta", "es", beta_extra)):
        (folder / f"{ident}.yaml").write_text(
            f"community:\n  id: {ident}\n  name: {ident}\n  default_language: {language}\n"
            f"  languages: [{language}]\n  code_of_conduct: {COC}\n{extra}"
            f'moderators:\n  channel: "{ident}-moderators"\n',
            "utf-8",
        )
    (tmp_path / "concord.yaml").write_text(DEPLOYMENT, "utf-8")
    return tmp_path / "concord.yaml"


def test_command_menus_describe_each_language_as_a_community_speaking_it(
    tmp_path: Path,
) -> None:
    """A platform's menus are per language, not per space: each language's
    descriptions come from a community that speaks it, with its own catalogs."""
    folder = tmp_path / "communities"
    own = folder / "beta-locales" / "es" / "LC_MESSAGES"
    own.mkdir(parents=True)
    (own / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Language: es\\n"\n"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n'
        '"Content-Type: text/plain; charset=utf-8\\n"\n"X-Review-Status: draft\\n"\n\n'
        'msgid "command.appeal"\nmsgstr "Pedir que Beta revise una sanción"\n',
        "utf-8",
    )
    deployment = english_and_spanish(tmp_path, beta_extra="  locales: beta-locales\n")
    engines = build_engines(load_config(deployment), tmp_path / "menus.db")
    try:
        appeal = next(c for c in AdapterHost.of(engines).commands() if c.name == "appeal")
        assert appeal.descriptions["es"] == "Pedir que Beta revise una sanción"
        english = engines[0].services.catalogs.translator("en").gettext("command.appeal")
        assert appeal.descriptions["en"] == english
    finally:
        engines[0].services.store.close()


async def test_a_channel_of_a_server_goes_to_the_community_of_its_server(
    host: AdapterHost, engines: list[Engine], adapter: TelegramRecorder
) -> None:
    """A place that names no space (a Discord channel id) but an event that names its
    server (``space``): the server's community, whoever writes; no server, set aside."""
    channel = Place("telegram", PlaceKind.CHANNEL, "5551")

    def typed(event_id: str, space: str = "") -> CommandRun:
        ana = ref("ana")
        return CommandRun(event_id, host.community, ana, place=channel, name="help", space=space)

    assert await host.handle(typed("in-beta", GROUP_B))
    assert engines[1].services.store.communities_of("telegram:ana") == ["beta"]
    adapter.take()
    assert not await host.handle(typed("in-no-server"))
    assert adapter.take() == []


async def test_an_action_is_delivered_knowing_its_own_communitys_spaces(
    host: AdapterHost, engines: list[Engine], adapter: TelegramRecorder
) -> None:
    """While the outbox delivers a community's action, the host names that community's
    spaces (an adapter acts in those only: a Discord role in its own server)."""
    seen: list[tuple[str, ...]] = []
    record = adapter.deliver

    async def deliver(action: object, idempotency_key: str) -> None:
        seen.append(host.spaces_of("telegram"))
        await record(action, idempotency_key)  # type: ignore[arg-type]

    adapter.deliver = deliver  # type: ignore[method-assign]
    await join(host, "ana", GROUP_B)
    await join(host, "bo", GROUP_A)
    assert seen and (GROUP_B,) in seen and (GROUP_A,) in seen
    assert seen.index((GROUP_B,)) < seen.index((GROUP_A,))
    assert host.spaces_of("telegram") == ()  # nothing is being delivered now


async def test_an_adapters_own_notice_speaks_the_language_of_the_members_community(
    host: AdapterHost, engines: list[Engine]
) -> None:
    """A notice an adapter writes itself (Matrix: "I could not read your message") is
    in the language of the community of the room it goes to, else of the member's one
    community: never the first community's for everyone."""
    from adapters.matrix.undecryptable import NOTICE

    await join(host, "bo", GROUP_B)  # Beta speaks Spanish
    await join(host, "ana", GROUP_A)
    spanish = engines[1].services.catalogs.translator("es").gettext(NOTICE)
    english = engines[0].services.catalogs.translator("en").gettext(NOTICE)
    assert spanish != english
    assert host.member_text(ref("bo"), NOTICE) == spanish  # in direct messages
    assert host.member_text(ref("ana"), NOTICE) == english
    assert host.member_text(ref("ana"), NOTICE, space=GROUP_B) == spanish  # Beta's room


def test_a_command_typed_as_text_is_known_in_every_communitys_languages(
    tmp_path: Path,
) -> None:
    """A platform with commands of its own (Discord) asks whether ``/word`` typed as
    text is one of Concord's: a command's name in any community's language is."""
    from bot.i18n.command_names import local_name

    engines = build_engines(load_config(english_and_spanish(tmp_path)), tmp_path / "names.db")
    try:
        spanish = local_name(engines[1].services.catalogs, "report", "es")
        assert spanish is not None and spanish not in engines[0].command_aliases
        host = AdapterHost.of(engines)
        assert host.is_command("report") and host.is_command(spanish)
        assert not host.is_command("shrug")
    finally:
        engines[0].services.store.close()
