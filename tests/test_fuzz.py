"""Fuzzing every parser of outside input with Hypothesis.

Admins write YAML (the config, its platform sections, dialogs, the code of conduct)
and .po catalogs; members type console lines and command words. Whatever they write,
a parser either accepts it or raises the one error it documents: ``ConfigError``
naming the file, a line inside the text and a key, or ``ConsoleSyntaxError`` with a
message. Anything else (a ``KeyError``, a ``TypeError``, a recursion error) is a bug.
Commands with random names and words go through the whole engine: no exception
escapes and the engine logs no error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import tempfile
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.console.adapter import ConsoleSyntaxError, Directive, parse_line
from adapters.console.session import AdvancingClock, ConsoleSession
from adapters.console.transcript import parse_transcript
from adapters.platforms import settings_module
from bot.app import build_engine, load_content
from bot.conduct.document import load_coc_text
from bot.config.community import PLATFORMS, load_config, parse_config
from bot.core import resources
from bot.core.clock import ManualClock
from bot.core.errors import ConfigError
from bot.core.events import CommandRun, Event, MemberRef, Place, PlaceKind
from bot.core.yamlsource import load_yaml_text
from bot.dialogs.loader import DialogRules, parse_dialog
from bot.engine.engine import Engine
from bot.features import all_features
from bot.i18n.catalogs import Catalogs
from tests.conftest import RecordingAdapter

ACTIONS, CHOICE_SOURCES = all_features().actions, all_features().choice_sources

ROOT = Path(__file__).parents[1]
NAME = "fuzz.yaml"
FAST = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# --- strategies -----------------------------------------------------------------------

YAML_CHARS = st.sampled_from(list(" \n\t-:#[]{},&*!|>'\"%@`?=~.0123456789abcdefxyzé🙂\\"))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            "off",
            "2d",
            "30m",
            "0d",
            "en",
            "xx",
            "console:ana",
            "ana",
            "-1",
            "https://x",
            "/",
            "..",
            "code-of-conduct.yaml",
            "#general",
            "onboarding.done",
        ]
    ),
)


def structures(keys: list[str]) -> st.SearchStrategy[Any]:
    """Nested data whose mapping keys are mostly the format's own key names."""
    key = st.one_of(st.sampled_from(keys), st.text(max_size=8))
    return st.recursive(
        SCALARS,
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(key, children, max_size=6)
        ),
        max_leaves=30,
    )


def mutations(original: str) -> st.SearchStrategy[str]:
    """A real file with a few lines deleted, repeated, re-indented or garbled."""

    @st.composite
    def mutate(draw: st.DrawFn) -> str:
        lines = original.split("\n")
        for _ in range(draw(st.integers(1, 4))):
            if not lines:
                break
            index = draw(st.integers(0, len(lines) - 1))
            how = draw(st.sampled_from(["delete", "repeat", "indent", "dedent", "insert", "cut"]))
            line = lines[index]
            if how == "delete":
                del lines[index]
            elif how == "repeat":
                lines.insert(index, line)
            elif how == "indent":
                lines[index] = " " * draw(st.integers(1, 4)) + line
            elif how == "dedent":
                lines[index] = line.lstrip()
            elif how == "insert":
                at = draw(st.integers(0, len(line)))
                lines[index] = line[:at] + draw(st.text(YAML_CHARS, max_size=6)) + line[at:]
            else:
                lines[index] = line[: draw(st.integers(0, len(line)))]
        return "\n".join(lines)

    return mutate()


def yaml_texts(original: str, keys: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        mutations(original),
        st.text(YAML_CHARS, max_size=200),
        structures(keys).map(lambda data: yaml.safe_dump(data, allow_unicode=True)),
    )


# Line breaks as YAML counts them: NEL and the Unicode separators end lines too.
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


def assert_located(error: ConfigError, text: str | None = None, name: str = NAME) -> None:
    """The error names the file, a line that exists, and a key (which may be a key an
    admin wrote as blanks: it is reported as written)."""
    assert error.file == name
    assert isinstance(error.line, int) and error.line >= 1
    if text is not None:
        assert error.line <= len(_LINE_BREAK.split(text)) + 1, (error, text)
    assert isinstance(error.key, str) and error.key
    assert error.message.strip()


# --- config ---------------------------------------------------------------------------

CONFIG_TEXT = (ROOT / "community" / "concord.yaml").read_text("utf-8")
CONFIG_KEYS = sorted(
    {
        *("community", "onboarding", "moderators", "database", "limits", "platforms"),
        *("mediation", "reports", "privacy", "id", "name", "default_language", "languages"),
        *("code_of_conduct", "locales", "welcome", "interests", "mentors", "member"),
        *("capacity", "members", "channel", *PLATFORMS, "token_env", "groups"),
        *("homeserver", "user_id", "rooms", "retention_days", "per_day", "enabled"),
    }
)


def load_config_text(text: str) -> None:
    config = parse_config(load_yaml_text(text, NAME), resources.community_dir())
    for name, section in config.platforms.items():
        settings_module(name).parse(section, check_only=True)


@FAST
@given(yaml_texts(CONFIG_TEXT, CONFIG_KEYS))
@example("' ': null\n")  # a key of blanks is reported as written
@example("community: {id: x, name: X}\n\x85\x85bogus: 1\n")  # NEL ends a YAML line
def test_config_loader_fails_only_with_a_located_config_error(text: str) -> None:
    try:
        load_config_text(text)
    except ConfigError as error:
        assert_located(error, text)


@FAST
@given(
    st.fixed_dictionaries(
        {"community": st.fixed_dictionaries({"id": SCALARS, "name": SCALARS})},
        optional={
            key: structures(CONFIG_KEYS)
            for key in (
                "onboarding",
                "moderators",
                "database",
                "limits",
                "platforms",
                "mediation",
                "reports",
                "privacy",
            )
        },
    )
)
def test_config_structures_fail_only_with_a_located_config_error(data: dict[str, Any]) -> None:
    text = yaml.safe_dump(data, allow_unicode=True)
    try:
        load_config_text(text)
    except ConfigError as error:
        assert_located(error, text)


@FAST
@given(
    platform=st.sampled_from(PLATFORMS),
    section=st.dictionaries(st.sampled_from(CONFIG_KEYS), SCALARS, max_size=5),
)
def test_platform_sections_fail_only_with_a_located_config_error(
    platform: str, section: dict[str, Any]
) -> None:
    data = {"community": {"id": "x", "name": "X"}, "platforms": {platform: section}}
    text = yaml.safe_dump(data, allow_unicode=True)
    try:
        load_config_text(text)
    except ConfigError as error:
        assert_located(error, text)


def test_the_example_config_itself_loads() -> None:
    load_config_text(CONFIG_TEXT)


# --- dialogs, code of conduct, catalogs ---------------------------------------------------


@cache
def rules() -> DialogRules:
    config = load_config(None)
    catalogs, _, _ = load_content(config)
    return DialogRules(catalogs.message_ids("en"), set(ACTIONS), set(CHOICE_SOURCES))


DIALOG_FILES = sorted((ROOT / "dialogs").glob("*.yaml"))
DIALOG_KEYS = [
    *("dialog", "command", "help", "start", "steps", "talk_to_person", "progress", "say"),
    *("actions", "ask", "next", "on_result", "timeout", "on_timeout", "end", "message"),
    *("choices", "choices_from", "multiple", "text", "invalid", "store", "key", "label"),
    *("min_length", "max_length", "set_language", "grant_role", "onboarding.done", "finish"),
    *("no_person_because", "restart", "words"),
]


@st.composite
def dialog_texts(draw: st.DrawFn) -> str:
    original = draw(st.sampled_from(DIALOG_FILES)).read_text("utf-8")
    return draw(yaml_texts(original, DIALOG_KEYS))


@FAST
@given(dialog_texts())
def test_dialog_loader_fails_only_with_a_located_config_error(text: str) -> None:
    try:
        parse_dialog(load_yaml_text(text, NAME), rules())
    except ConfigError as error:
        assert_located(error, text)


@FAST
@given(
    st.fixed_dictionaries(
        {"dialog": SCALARS, "start": st.sampled_from(["a", "b", "end", ""])},
        optional={
            "steps": st.dictionaries(st.sampled_from(["a", "b", "c"]), structures(DIALOG_KEYS)),
            "command": SCALARS,
            "help": SCALARS,
        },
    )
)
@example({"dialog": "0\x85", "start": "a", "steps": {}, "help": "\x85", "command": "\x85"})
def test_dialog_structures_fail_only_with_a_located_config_error(data: dict[str, Any]) -> None:
    text = yaml.safe_dump(data, allow_unicode=True)
    try:
        parse_dialog(load_yaml_text(text, NAME), rules())
    except ConfigError as error:
        assert_located(error, text)


def test_every_shipped_dialog_loads() -> None:
    for path in DIALOG_FILES:
        parse_dialog(load_yaml_text(path.read_text("utf-8"), NAME), rules())


COC_TEXT = (ROOT / "community" / "code-of-conduct.yaml").read_text("utf-8")
COC_KEYS = [
    *("title", "version", "language", "sections", "id", "summary", "details", "ok"),
    *("not_ok", "keywords", "walkthrough"),
]


@FAST
@given(yaml_texts(COC_TEXT, COC_KEYS))
def test_code_of_conduct_loader_fails_only_with_a_located_config_error(text: str) -> None:
    try:
        load_coc_text(text, NAME)
    except ConfigError as error:
        assert_located(error, text)


PO_TEXT = (ROOT / "locales" / "es" / "LC_MESSAGES" / "messages.po").read_text("utf-8")
PO_CHARS = st.sampled_from(list(' \n\t"\\#:,.|~{}%msgidtrpluaxn0123456789[]é🙂'))


@settings(FAST, max_examples=60)
@given(st.one_of(mutations(PO_TEXT), st.text(PO_CHARS, max_size=300)))
def test_catalog_loader_fails_only_with_a_located_config_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        po = Path(folder) / "es" / "LC_MESSAGES" / "messages.po"
        po.parent.mkdir(parents=True)
        po.write_text(text, "utf-8")
        catalogs = Catalogs.load([ROOT / "locales", Path(folder)])
        try:
            catalogs.validate()
        except ConfigError as error:
            assert_located(error, None, str(po))
        else:
            catalogs.translator("es").format("common.help", name="x")


# --- console syntax and transcripts ---------------------------------------------------

CONSOLE_PIECES = st.sampled_from(
    [
        "ana",
        "b.o-b_1",
        " ",
        "  ",
        "joins",
        "leaves",
        ">",
        "> ",
        "#",
        "#general",
        "(",
        ")",
        "(case-1)",
        "/",
        "/coc",
        " 3",
        ":",
        ":wait",
        ":again",
        ":restart",
        " 2d",
        " 99999999d",
        " 0m",
        "pt-BR",
        "\t",
        "\r",
        "🙂",
        "x" * 41,
        "é",
        "\u202e",
    ]
)
CONSOLE_LINES = st.one_of(st.text(max_size=60), st.lists(CONSOLE_PIECES, max_size=8).map("".join))


@settings(FAST, max_examples=500)
@given(CONSOLE_LINES)
def test_console_lines_parse_or_fail_with_a_syntax_error(line: str) -> None:
    try:
        parsed = parse_line(line, "example")
    except ConsoleSyntaxError as error:
        assert str(error).strip()
        return
    assert parsed is None or isinstance(parsed, Event | Directive)
    if isinstance(parsed, Event):
        assert parsed.member.platform == "console" and parsed.member.id
        assert parsed.community == "example"


@FAST
@given(st.lists(st.one_of(CONSOLE_LINES, st.sampled_from(["> ana joins", "bot → ana: hi"]))))
def test_transcripts_parse_or_fail_with_a_syntax_error(lines: list[str]) -> None:
    try:
        parse_transcript("\n".join(lines))
    except ConsoleSyntaxError as error:
        assert str(error).startswith("line ")


SESSION_LINES = st.one_of(
    CONSOLE_LINES,
    st.sampled_from(
        [
            "ana joins",
            "ana joins es",
            "ana> 1",
            "ana> 2",
            "ana> /coc 3",
            "ana #general> hi",
            "ana (case-1)> hi",
            "bo> /language",
            "bo> /stop",
            "ana leaves",
            ":wait 2d",
            ":wait 30m",
            ":again",
            ":restart",
            "mod> /reports",
            "ana> /report",
        ]
    ),
)


@pytest.fixture(scope="module")
def console() -> Any:
    """One console session for every example: what one line leaves, the next meets."""
    with tempfile.TemporaryDirectory() as folder:
        clock = AdvancingClock(ManualClock(), fixed=True)
        session = ConsoleSession(load_config(None), Path(folder) / "console.db", clock)
        loop = asyncio.new_event_loop()
        loop.run_until_complete(session.open())
        yield session, loop
        session.close()
        loop.close()


@settings(FAST, max_examples=100, suppress_health_check=list(HealthCheck))
@given(lines=st.lists(SESSION_LINES, max_size=6))
def test_console_session_survives_any_line(console: Any, lines: list[str]) -> None:
    """Whatever is typed, ``concord chat`` answers or says it did not understand."""
    session, loop = console
    for line in lines:
        with contextlib.suppress(ConsoleSyntaxError):
            loop.run_until_complete(session.feed(line))


def test_a_huge_wait_is_refused_or_survived(console: Any) -> None:
    session, loop = console
    try:
        loop.run_until_complete(session.feed(":wait 999999w"))
    except ConsoleSyntaxError:
        return
    finally:
        session.clock.offset = timedelta()  # leave the shared session usable
    loop.run_until_complete(session.feed("ana> /help"))


# --- command words through the engine -------------------------------------------------


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage())


class CommandBench:
    """One engine shared by every example: state left by one command meets the next."""

    def __init__(self) -> None:
        self.folder = tempfile.TemporaryDirectory()
        config = load_config(None)
        self.engine: Engine = build_engine(config, Path(self.folder.name) / "f.db", ManualClock())
        self.adapter = ConsoleRecorder()
        self.engine.add_adapter(self.adapter)
        self.loop = asyncio.new_event_loop()
        self.errors = _Errors()
        self.count = 0

    def run(self, event: Event) -> None:
        logging.getLogger("bot").addHandler(self.errors)
        try:
            self.loop.run_until_complete(self.engine.handle(event))
        finally:
            logging.getLogger("bot").removeHandler(self.errors)
        assert not self.errors.records, self.errors.records


class ConsoleRecorder(RecordingAdapter):
    platform = "console"


@pytest.fixture(scope="module")
def bench() -> Any:
    made = CommandBench()
    yield made
    made.engine.services.store.close()
    made.loop.close()
    made.folder.cleanup()


WORDS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "1",
            "2",
            "0",
            "-1",
            "999999999999",
            "3.5",
            "#1",
            "case-1",
            "all",
            "console:ana",
            "@room",
            "yes",
            "no",
            "🙂",
            "\u202e",
            "privacy",
            "es",
        ]
    ),
)


@settings(FAST, max_examples=300, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_commands_with_any_words_never_break_the_engine(bench: CommandBench, data: Any) -> None:
    names = sorted(bench.engine.commands)
    name = data.draw(st.one_of(st.sampled_from(names), st.text(max_size=10)), label="name")
    args = data.draw(st.lists(WORDS, max_size=4).map(tuple), label="args")
    member_id = data.draw(st.sampled_from(["ana", "mod", "noor", "kai", "zed"]), label="member")
    roles = data.draw(st.sampled_from([(), ("moderator",), ("mediator",)]), label="roles")
    where = data.draw(st.sampled_from([None, "general", "case-1"]), label="where")
    who = MemberRef("console", member_id, member_id)
    kind = PlaceKind.PRIVATE if where == "case-1" else PlaceKind.CHANNEL
    place = Place("console", kind, where) if where else Place.direct(who)
    bench.count += 1
    event = CommandRun(
        f"c{bench.count}", "example", who, place=place, name=name, args=args, roles=roles
    )
    bench.run(event)
