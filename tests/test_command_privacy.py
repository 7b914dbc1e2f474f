"""Privileged commands answered only privately, refusals that reveal nothing, and no
control characters in what the bot repeats: on the console (the scenario itself is in
tests/command_privacy.py, for every platform)."""

from __future__ import annotations

import dataclasses
import json
import sys
import unicodedata
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.console.adapter import PLATFORM, format_action, parse_line
from adapters.console.session import AdvancingClock, ConsoleSession
from bot.config.community import load_config
from bot.core.actions import RemoveMessage
from bot.core.clock import ManualClock
from bot.core.events import Event, MemberRef, Place, PlaceKind
from bot.i18n.controls import UNSAFE_CHARS, echo_safe
from bot.i18n.filling import substitute
from bot.i18n.locales import FSI, PDI, clean_user_text
from tests.command_privacy import Heard, check_command_privacy

ROOMS = {"community": "general", "moderators": "moderators", "unconfigured": "random"}
PLACE_OF = {f"#{name}": key for key, name in ROOMS.items()}


class ConsoleDriver:
    """The console community of the example config, typed into line by line."""

    def __init__(self, session: ConsoleSession) -> None:
        self.session = session
        self.names = {"imp": "kai"}  # display names other than the member's id

    async def join(self, who: str) -> None:
        await self.session.feed(f"{who} joins")

    async def type(self, who: str, place: str, text: str) -> list[Heard]:
        where = "" if place == "direct" else f" #{ROOMS[place]}"
        event = parse_line(f"{who}{where}> {text}", self.session.config.community_id)
        assert isinstance(event, Event)
        if who in self.names:
            member = MemberRef(PLATFORM, who, self.names[who])
            event = dataclasses.replace(event, member=member)  # type: ignore[type-var]
        # A member types at most one command every five seconds: within the rate limit.
        self.session.clock.offset += timedelta(seconds=5)
        start = len(self.session.output)
        await self.session.engine.handle(event)
        return [heard(line) for line in self.session.output[start:]]


def heard(output: str) -> Heard:
    """One printed action as the scenario sees it."""
    if output.startswith("* ") and output.endswith(" is removed"):
        room = output.split(" in ", 1)[1].removesuffix(" is removed")
        return Heard("removed", PLACE_OF.get(room, room))
    if not output.startswith("bot → "):
        return Heard("other", "", output)
    where, _, text = output.removeprefix("bot → ").partition(": ")
    text = "\n".join(line.removeprefix("    ") for line in text.split("\n"))
    if where.startswith("#"):
        return Heard("room", PLACE_OF.get(where, where), text)
    if where.startswith("("):
        return Heard("space", where.strip("()"), text)
    return Heard("dm", where, text)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[ConsoleSession]:
    config = load_config(Path(__file__).parents[1] / "community" / "concord.yaml")
    clock = AdvancingClock(ManualClock(), fixed=True)
    started = ConsoleSession(config, tmp_path / "concord.db", clock)
    yield started
    started.close()


async def test_every_command_by_every_role_in_every_place(session: ConsoleSession) -> None:
    await session.open()
    await check_command_privacy(ConsoleDriver(session))


async def test_moderators_room_takes_moderator_commands_but_never_cases(
    session: ConsoleSession,
) -> None:
    await session.open()
    assert await session.feed("kai #moderators> /reports list") == [
        "bot → #moderators: There are no open reports."
    ]
    moved = await session.feed("mod #moderators> /case list")
    assert [line.split(":")[0] for line in moved] == [
        "bot → mod",
        "* mod's message in #moderators is removed",
        "bot → mod",
    ]
    # Someone who is not a moderator gets the refusal privately, even there.
    refused = await session.feed("bob #moderators> /reports list")
    assert refused[-1] == "bot → bob: Sorry, you are not allowed to use /reports."


async def test_removal_is_shown_on_the_console() -> None:
    ana = MemberRef(PLATFORM, "ana", "ana")
    general = Place(PLATFORM, PlaceKind.CHANNEL, "general")
    removal = RemoveMessage(general, ana, "1234")
    assert format_action(removal, "mods") == "* ana's message in #general is removed"


CONTROLS = "\u202e\u200b\u2066\u2069\ufeff\u2060\u180e\U000e0041"


async def test_no_control_character_is_echoed(session: ConsoleSession) -> None:
    await session.open()
    for line in (
        "bob #general> /\u202eelif.exe\u200b",
        "bob> /\u2068case\u2069",
        "bob> /\u2067x\u2069",
        "kai> /reports show \u202e5",
        "tomas> /case show \u2066\u202e7",
    ):
        output = "\n".join(await session.feed(line))
        assert output, line
        shown = {hex(ord(c)) for c in output if unicodedata.category(c) in ("Cf", "Cc")}
        assert shown <= {hex(ord("\n"))}, (line, output)
    [unknown] = await session.feed("bob> /\u202eelif.exe\u200b")
    assert unknown.startswith("bot → bob: I do not know the command /elif.exe.")


def test_every_value_loses_its_controls_but_keeps_the_bots_isolates() -> None:
    assert substitute("x {v} y", {"v": f"a{CONTROLS}b"}) == "x ab y"
    assert substitute("{v}", {"v": f"{FSI}\u202ename{PDI}"}) == f"{FSI}name{PDI}"
    assert echo_safe(f"{FSI}a {FSI}/help{PDI} b{PDI}") == f"{FSI}a {FSI}/help{PDI} b{PDI}"
    assert echo_safe(f"{FSI}open{PDI}{PDI}{FSI}") == f"{FSI}open{PDI}"
    assert echo_safe("plain words") == "plain words"


def test_stored_text_loses_invisible_characters_but_keeps_joining_scripts() -> None:
    assert clean_user_text(f"ad{CONTROLS}min\u2028next") == "admin\nnext"
    assert clean_user_text("a\u200db \u200cword\u200c") == "ab word"
    persian = "می\u200cخواهم"  # the joiner-breaker Persian spelling needs
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    devanagari = "क्\u200dष"
    for kept in (persian, family, devanagari, "שלום\u200f"):
        assert clean_user_text(kept) == kept


def test_every_invisible_format_character_is_removed() -> None:
    """The list follows the Unicode database of this Python, but for the joiners and the
    implicit direction marks."""
    kept = {0x200C, 0x200D, 0x200E, 0x200F, 0x061C}
    missing = [
        hex(c)
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) == "Cf" and c not in kept and c not in UNSAFE_CHARS
    ]
    assert missing == []


async def test_mydata_does_not_name_the_moderator_who_muted_the_member(
    session: ConsoleSession,
) -> None:
    await session.open()
    await session.feed("bob joins")
    await session.feed("kai> /reports mute bob")
    output = "\n".join(await session.feed("bob> /mydata"))
    data = json.loads(output[output.index("{") :].replace("\n    ", "\n"))
    [muted] = [e for e in data["log"] if e["action"] == "report_muted"]
    assert muted["subject"] == "console:bob"
    assert "kai" not in output
