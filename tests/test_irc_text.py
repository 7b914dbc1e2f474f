"""What the IRC adapter puts on a line and makes of one, without a server: control codes,
command characters, the 512-byte limit, commands, roles by mask, and the settings."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.irc.events import (
    Context,
    Sender,
    casefold,
    netsplit,
    parse_command,
    translate_join,
    translate_message,
)
from adapters.irc.settings import parse
from adapters.irc.text import (
    COMMAND_CHARACTERS,
    LINE_LIMIT,
    clean_lines,
    irc_lines,
    payload_budget,
)
from bot.config.community import load_config
from bot.core.errors import ConfigError
from bot.core.events import CommandRun, MemberJoined, PlaceKind, TextSaid

ROOT = Path(__file__).parents[1]
NAMES = frozenset({"help", "coc", "report", "stop"})
CONTEXT = Context(
    community="example",
    bot_nick="Concord",
    channels={"#community": "welcome"},
    moderators_channel="#Mods",
    moderators_name="moderators",
    moderator_masks=("*!*@user/kai",),
    command_names=NAMES,
)


def test_control_codes_go_with_their_colour_numbers() -> None:
    text = "\x02bold\x02 \x0304,12red\x03 \x1ditalic\x1d \x01ACTION waves\x01 \x16rev\x0f end"
    assert irc_lines(text, 400) == ["bold red italic ACTION waves rev end"]


def test_no_line_starts_with_a_command_character() -> None:
    lines = irc_lines("!kick bob\n.op me\n- a point\n@everyone\nplain\n/quit", 400)
    assert lines == ["» !kick bob", "» .op me", "• a point", "» @everyone", "plain", "» /quit"]


def test_a_line_break_or_carriage_return_never_reaches_the_wire_inside_a_line() -> None:
    lines = irc_lines("one\r\nQUIT :injected\rtwo\u2028three\x00", 400)
    assert lines == ["one", "QUIT :injected", "two", "three"]


@given(st.text(min_size=1, max_size=3000), st.integers(min_value=60, max_value=450))
def test_every_piece_fits_keeps_utf8_whole_and_loses_no_word(text: str, budget: int) -> None:
    lines = irc_lines(text, budget)
    for line in lines:
        assert len(line.encode()) <= budget
        assert line[0] not in COMMAND_CHARACTERS
        assert not any(ord(c) < 32 or c == "\x7f" for c in line)
    # Nothing but spaces, control codes and the start marks is lost.
    assert visible(" ".join(lines)) == visible(" ".join(clean_lines(text)))


def visible(text: str) -> str:
    return "".join(c for c in text if not c.isspace() and c not in "»•-*+")


def test_long_text_is_split_at_spaces_within_the_line_limit() -> None:
    prefix = len("Concord!~concord@") + 63
    budget = payload_budget(prefix, "PRIVMSG", "#community")
    lines = irc_lines(" ".join(["ünïcödé"] * 200), budget)
    assert len(lines) > 1
    for line in lines:
        wire = f":Concord!~concord@{'h' * 63} PRIVMSG #community :{line}\r\n"
        assert len(wire.encode()) <= LINE_LIMIT
        assert set(line.split()) == {"ünïcödé"}, "no word is cut"


def test_commands_in_channels_need_the_prefix_and_in_private_messages_less() -> None:
    assert parse_command("!concord coc 3", "!concord", False, NAMES) == ("coc", ("3",))
    assert parse_command("!Concord", "!concord", False, NAMES) == ("help", ())
    assert parse_command("help", "!concord", False, NAMES) is None
    assert parse_command("!coc 3", "!concord", False, NAMES) is None
    assert parse_command("help", "!concord", True, NAMES) == ("help", ())
    assert parse_command("!coc 3", "!concord", True, NAMES) == ("coc", ("3",))
    assert parse_command("/report", "!concord", True, NAMES) == ("report", ())
    # An answer that merely starts with a command's name is an answer.
    assert parse_command("stop it please", "!concord", True, NAMES) is None


def test_places_roles_and_the_bots_own_lines() -> None:
    kai = Sender("Kai[m]", "kai", "user/kai")
    impostor = Sender("kai", "x", "203.0.113.9")
    event = translate_message(kai, "concord", "\x0304help", CONTEXT)
    assert isinstance(event, CommandRun) and event.name == "help"
    assert event.member.id == "kai{m}" and event.member.name == "Kai[m]"
    assert event.place is not None and event.place.kind is PlaceKind.DIRECT
    assert event.roles == ("moderator",)
    said = translate_message(impostor, "#MODS", "hello", CONTEXT)
    assert isinstance(said, TextSaid) and said.roles == (), "a nick proves nothing"
    assert said.place is not None and said.place.id == "moderators"
    assert translate_message(impostor, "#elsewhere", "hello", CONTEXT) is None
    assert translate_message(Sender("Concord"), "#community", "hi", CONTEXT) is None
    joined = translate_join(impostor, "#Community", CONTEXT)
    assert isinstance(joined, MemberJoined) and joined.place is not None
    assert joined.place.id == "welcome"
    assert translate_join(impostor, "#mods", CONTEXT) is None
    assert casefold("Nick[\\]~") == "nick{|}^"


def settings_of(tmp_path: Path, section: str) -> object:
    base = (ROOT / "community" / "concord.yaml").read_text("utf-8")
    path = tmp_path / "concord.yaml"
    path.write_text(f"{base}\nplatforms:\n  irc:\n{section}", "utf-8")
    return parse(load_config(path).platforms["irc"], check_only=True)


def test_defaults_pace_at_one_line_a_second_in_bursts_of_four(tmp_path: Path) -> None:
    settings = settings_of(
        tmp_path,
        '    host: irc.example.org\n    operator: ops\n    channels: ["#a"]\n',
    )
    assert (settings.send_rate, settings.send_burst) == (1.0, 4)  # type: ignore[attr-defined]
    assert settings.tls and settings.port == 6697 and settings.sasl == "none"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('    host: h\n    channels: ["#a"]\n', "missing required key 'operator'"),
        ('    host: h\n    operator: o\n    channels: ["a"]\n', "expected a channel name"),
        ('    host: h\n    operator: o\n    channels: ["#a"]\n    sasl: plain\n', "password_env"),
        (
            '    host: h\n    operator: o\n    channels: ["#a"]\n    sasl: external\n',
            "client_cert",
        ),
        (
            '    host: h\n    operator: o\n    channels: ["#a"]\n    moderator_masks: [kai]\n',
            "expected a mask",
        ),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, section: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_of(tmp_path, section)


def test_a_netsplit_is_told_apart_from_a_members_quit() -> None:
    assert netsplit("hub.example.net leaf.example.org") == ("hub.example.net", "leaf.example.org")
    assert netsplit("*.net *.split") == ("*.net", "*.split")
    assert netsplit("Quit: hub.example.net leaf.example.org") is None
    assert netsplit("Ping timeout: 240 seconds") is None


async def test_no_password_reaches_the_debug_log(caplog: pytest.LogCaptureFixture) -> None:
    from adapters.irc.client import IrcClient

    sent: list[bytes] = []

    class Wire:
        async def send(self, data: bytes) -> None:
            sent.append(data)

    client = IrcClient(None, nickname="Concord")  # type: ignore[arg-type]
    client.connection, client.encoding = Wire(), "utf-8"
    with caplog.at_level(logging.DEBUG):
        await client.rawmsg("AUTHENTICATE", "Y29uY29yZABjb25jb3JkAHNlY3JldA==")
        await client.rawmsg("PASS", "secret")
        await client.rawmsg("NICK", "Concord")
    assert len(sent) == 3
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "NICK Concord" in logged
    assert "Y29u" not in logged and "secret" not in logged
