"""The console syntax admins and transcripts rely on."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.console.adapter import (
    ConsoleSyntaxError,
    Directive,
    format_action,
    parse_line,
    write_out,
)
from adapters.console.session import UNSHOWN, AdvancingClock, ConsoleSession
from bot.config.community import load_config
from bot.core.actions import Ask, Choice, GrantRole, NotifyModerators, Say
from bot.core.clock import ManualClock
from bot.core.events import CommandRun, MemberJoined, MemberRef, Place, PlaceKind, TextSaid

ANA = MemberRef("console", "ana", "ana")
ROOT = Path(__file__).resolve().parents[1]


def test_join_with_and_without_locale() -> None:
    event = parse_line("ana joins", "c")
    assert isinstance(event, MemberJoined) and event.member == ANA and event.locale is None
    event = parse_line("ana joins pt-BR", "c")
    assert isinstance(event, MemberJoined) and event.locale == "pt-BR"


def test_direct_channel_and_commands() -> None:
    direct = parse_line("ana> hello there", "c")
    assert isinstance(direct, TextSaid) and direct.text == "hello there"
    assert direct.place == Place.direct(ANA)
    channel = parse_line("ana #general> hi all", "c")
    assert isinstance(channel, TextSaid)
    assert channel.place == Place("console", PlaceKind.CHANNEL, "general")
    run = parse_line("ana> /coc be kind", "c")
    assert isinstance(run, CommandRun) and (run.name, run.args) == ("coc", ("be", "kind"))
    empty = parse_line("ana>", "c")
    assert isinstance(empty, TextSaid) and empty.text == ""


def test_each_line_is_a_new_event() -> None:
    first, second = parse_line("ana> 1", "c"), parse_line("ana> 1", "c")
    assert first is not None and second is not None
    assert first.event_id != second.event_id  # type: ignore[union-attr]


def test_directives_comments_and_mistakes() -> None:
    assert parse_line("# a note", "c") is None
    assert parse_line("   ", "c") is None
    assert parse_line(":wait 2d", "c") == Directive("wait", "2d")
    assert parse_line(":restart", "c") == Directive("restart")
    for wrong in (":wait soon", ":explode", "ana says hi", "@everyone> hi"):
        with pytest.raises(ConsoleSyntaxError):
            parse_line(wrong, "c")


def test_output_shows_where_it_went() -> None:
    assert format_action(Say(Place.direct(ANA), "hi\nthere"), "mods") == "bot → ana: hi\n    there"
    channel = Place("console", PlaceKind.CHANNEL, "welcome")
    assert format_action(Ask(channel, "Q?", (Choice("a", "A"),)), "mods") == "bot → #welcome: Q?"
    assert format_action(NotifyModerators("console", "help"), "mods") == "bot → #mods: help"
    assert format_action(GrantRole(ANA, "member"), "mods") == '* ana is given the role "member"'


# --- every typed line gets a visible answer ---------------------------------------------

ONBOARDING = Path(__file__).parent / "transcripts" / "onboarding-en.txt"


def chat(database: Path, lines: list[str]) -> list[str]:
    """``concord chat --db FILE`` in its own process, fed lines; what it printed."""
    result = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "chat", "--db", str(database)],
        input="".join(f"{line}\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[2:]  # after the banner and the syntax line


def test_a_second_chat_on_the_same_database_answers_a_known_member(tmp_path: Path) -> None:
    typed = [line[2:] for line in ONBOARDING.read_text("utf-8").splitlines() if line[:2] == "> "]
    first = chat(tmp_path / "c.db", [line for line in typed if not line.startswith(":")])
    assert any("Welcome" in line for line in first)
    second = chat(tmp_path / "c.db", ["ana joins"])
    assert len(second) == 1 and second[0].startswith("· ana joins; this database already knows")


async def test_every_line_gets_a_visible_line(tmp_path: Path) -> None:
    session = ConsoleSession(
        load_config(None), tmp_path / "c.db", AdvancingClock(ManualClock(), fixed=True)
    )
    try:
        await session.open()
        assert await session.feed(":again") == ["· nothing to deliver again yet"]
        assert (await session.feed("ana joins"))[0].startswith("bot → ana: Welcome")
        for line in ("ana leaves", ":again", ":restart", ":wait 30m", "ana #general> hi all"):
            answer = await session.feed(line)
            assert answer and all(text.strip() for text in answer), line
        assert await session.feed(":again") == [
            "· delivered again; Concord had already handled it, so nothing is repeated"
        ]
    finally:
        session.close()


def test_at_a_terminal_chat_shows_a_prompt(tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "chat", "--db", str(tmp_path / "c.db")],
        stdin=follower,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    os.close(follower)
    os.write(leader, b"ana joins\n\x04")
    try:
        out, _ = process.communicate(timeout=120)
    finally:
        os.close(leader)
    lines = out.splitlines()
    assert lines[2].startswith("> bot → ana: Welcome"), lines[:3]


async def test_a_text_the_output_cannot_show_is_set_aside_as_undeliverable(
    tmp_path: Path,
) -> None:
    """A terminal in Latin-1 cannot show the console's arrow, nor Russian or Japanese:
    each reply is recorded as undeliverable with the reason and counted, at once,
    rather than retried as a bug while every later reply waits behind it."""
    terminal = io.TextIOWrapper(io.BytesIO(), encoding="latin-1")
    clock = AdvancingClock(ManualClock(), fixed=True)
    session = ConsoleSession(
        load_config(None), tmp_path / "c.db", clock, echo=lambda text: write_out(text, terminal)
    )
    try:
        await session.open()
        await session.feed("ana joins")  # the welcome and the language menu
        await session.feed("ana> /coc")  # answered, not held up behind them
        store = session.engine.services.store
        assert store.pending_outbox() == []
        assert store.undeliverable() == {"console": 3}
        reasons = store.undeliverable_reasons()
        assert len(reasons) == 3 and all(p == "console" for _, p, _ in reasons)
        assert all("cannot show this text" in reason for _, _, reason in reasons)
        # Nothing of Concord's was shown, so nothing counts as said; the console says so.
        assert session.output == [UNSHOWN, UNSHOWN]
    finally:
        session.close()
