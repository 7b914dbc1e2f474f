"""The console syntax admins and transcripts rely on."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from adapters.console import (
    ConsoleSyntaxError,
    Directive,
    format_action,
    parse_line,
    write_out,
)
from adapters.session import AdvancingClock, ConsoleSession
from bot.actions import Ask, Choice, GrantRole, NotifyModerators, Say
from bot.clock import ManualClock
from bot.config import load_config
from bot.events import CommandRun, MemberJoined, MemberRef, Place, PlaceKind, TextSaid

ANA = MemberRef("console", "ana", "ana")


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
        assert session.output == []  # nothing was shown, so nothing counts as said
    finally:
        session.close()
