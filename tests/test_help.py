"""``/help``: built from the command table for who is asking, in their language."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from adapters.console.session import AdvancingClock, ConsoleSession
from bot.config.community import load_config
from bot.core.clock import ManualClock
from bot.core.resources import locales_dir
from bot.engine.commands import command_table, run_help
from bot.engine.turn import Command
from bot.i18n.catalogs import Catalogs
from bot.i18n.locales import FSI, PDI

MEMBER = ("/coc", "/language", "/report", "/mediate", "/appeal", "/mydata", "/forget", "/quiet")
SESSION = ("/pause", "/private", "/propose", "/leave")
MEDIATOR = ("/case", "/resume", "/floor")
MODERATOR = ("/reports", "/sanction", "/appeals")


async def help_for(console: ConsoleSession, name: str) -> list[str]:
    [text] = await console.feed(f"{name}> /help")
    return [line.removeprefix(f"bot → {name}: ").strip() for line in text.split("\n")]


def listed(lines: list[str]) -> set[str]:
    return {line.split(" – ")[0] for line in lines if " – " in line}


async def test_a_member_learns_every_member_command_and_no_staff_command(
    console: ConsoleSession,
) -> None:
    lines = await help_for(console, "ana")
    assert set(MEMBER) <= listed(lines)
    assert not listed(lines) & {*SESSION, *MEDIATOR, *MODERATOR}
    assert "/report – Tell the moderators privately about a problem" in lines
    assert lines[0] == "Here is what I can do:"
    assert lines[-1].startswith("You can also write me a question")


async def test_moderators_and_mediators_see_their_own_commands(console: ConsoleSession) -> None:
    moderator = await help_for(console, "kai")
    assert set(MODERATOR) <= listed(moderator) and not listed(moderator) & set(MEDIATOR)
    heading = moderator.index("For moderators:")
    assert all(moderator.index(line) > heading for line in moderator if "/sanction" in line)
    mediator = await help_for(console, "noor")
    assert {*SESSION, *MEDIATOR} <= listed(mediator) and not listed(mediator) & set(MODERATOR)
    assert "For mediators:" in mediator and "In a mediation session:" in mediator


async def test_help_comes_from_the_member_s_catalog(console: ConsoleSession) -> None:
    catalogs = Catalogs.load([locales_dir()])
    await console.feed("sam joins es")
    await console.feed("sam> /stop")
    lines = await help_for(console, "sam")
    spanish = catalogs.translator("es")
    assert f"/report – {spanish.gettext('command.report')}" in lines
    assert lines[0] == spanish.gettext("common.help").split("\n")[0]
    await console.feed("samira joins ar")
    await console.feed("samira> /stop")
    arabic = "\n".join(await help_for(console, "samira"))
    assert f"{FSI}/report{PDI} – {catalogs.translator('ar').gettext('command.report')}" in arabic


async def test_an_empty_message_gets_the_same_help(console: ConsoleSession) -> None:
    await console.feed("ana joins")
    await console.feed("ana> /stop")
    [text] = await console.feed("ana> ")
    assert "/report – " in text and "/mydata – " in text


def test_a_command_for_an_unknown_audience_is_refused() -> None:
    typo = Command("oops", run_help, help="common.help_help", audience="moderators")
    with pytest.raises(ValueError, match="unknown audience"):
        command_table([], (typo,))


async def test_an_emergency_contact_learns_of_reports(tmp_path: Path) -> None:
    """An emergency contact who is not a moderator may read emergencies with /reports:
    /help lists it for them (and only that); a moderator who is also one sees it once."""
    config = load_config(None)
    contacts = ("console:eve", "console:mod")
    config = replace(config, reports=replace(config.reports, emergency_contacts=contacts))
    clock = AdvancingClock(ManualClock(), fixed=True)
    console = ConsoleSession(config, tmp_path / "help.db", clock)
    await console.open()
    try:
        contact = await help_for(console, "eve")
        heading = contact.index("For emergency contacts:")
        assert contact[heading + 1] == (
            "/reports – Emergencies: read the emergency reports you are told about"
        )
        assert listed(contact) & {*MODERATOR, *MEDIATOR} == {"/reports"}
        moderator = await help_for(console, "mod")
        assert sum(line.startswith("/reports") for line in moderator) == 1
        assert "For emergency contacts:" not in moderator
    finally:
        console.close()
