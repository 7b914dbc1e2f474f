"""``/sanction NAME ACTION PART REASON`` through the console and the real engine: every
recorded action names a part of the code of conduct; a missing or unknown part records
nothing and shows the moderator the parts, in the moderator's language; the member is
told the part and the reason in theirs; and the report counts actions by part."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.cli import main
from adapters.console.session import ConsoleSession
from bot.store.types import Changes
from bot.store.writes import AddCount
from tests.test_health_counts import counts, type_lines

PARTS_EN = [
    "1 or be-kind: Be kind",
    "2 or welcome-newcomers: Welcome new people",
    "3 or disagree-well: Disagree about ideas, not people",
    "4 or no-harassment: No harassment",
    "5 or privacy: Respect privacy",
    "6 or safety: Safety and emergencies",
    "7 or report: How to report, and what happens next",
    "8 or fair-consequences: What happens when someone breaks the rules",
]


def told(heard: list[str], who: str) -> list[str]:
    """What the bot said to ``who``, one message each, its lines as written."""
    prefix = f"bot → {who}: "
    return [m.removeprefix(prefix).replace("\n    ", "\n") for m in heard if m.startswith(prefix)]


def recorded(session: ConsoleSession) -> list[dict[str, object]]:
    return [c.data for c in session.engine.services.store.cases.listing("example", "sanction")]


async def members(session: ConsoleSession, *joins: str) -> None:
    for line in joins:
        name = line.split()[0]
        await type_lines(session, line, f"{name}> /stop")


async def test_a_missing_part_records_nothing_and_lists_the_parts(
    console: ConsoleSession,
) -> None:
    await members(console, "sam joins")
    for line in ("mod> /sanction sam warning Spam.", "mod> /sanction sam warning"):
        heard = await console.feed(line)
        (reply,) = told(heard, "mod")
        first, usage, *parts = reply.split("\n")
        assert first.startswith("Nothing was recorded: after the action, write which part")
        assert "/sanction NAME ACTION PART REASON" in usage and "it is required" in usage
        assert parts == PARTS_EN
        assert told(heard, "sam") == []
    assert recorded(console) == []
    assert not [m for m in counts(console) if m.startswith("sanctions:")]


@pytest.mark.parametrize("part", ["9", "0", "rudeness", "Be"])
async def test_an_unknown_part_records_nothing_and_lists_the_parts(
    console: ConsoleSession, part: str
) -> None:
    await members(console, "sam joins")
    heard = await console.feed(f"mod> /sanction sam warning {part} Insults in #general.")
    (reply,) = told(heard, "mod")
    first, _usage, *parts = reply.split("\n")
    assert first == "Nothing was recorded: the code of conduct has no part with that number or id."
    assert parts == PARTS_EN
    assert told(heard, "sam") == [] and recorded(console) == []


async def test_the_moderator_is_answered_in_their_own_language(console: ConsoleSession) -> None:
    await members(console, "sam joins", "kai joins es")
    heard = await console.feed("kai> /sanction sam aviso grosero Insultos.")
    (reply,) = told(heard, "kai")
    first, usage, *parts = reply.split("\n")
    assert first.startswith("No se registró nada: el código de conducta no tiene ninguna parte")
    assert usage.startswith("Uso: /sanction NOMBRE MEDIDA PARTE MOTIVO") and "obligatoria" in usage
    assert parts[0] == "1 o be-kind: Sé amable" and parts[4] == "5 o privacy: Respeta la privacidad"
    assert len(parts) == 8 and recorded(console) == []


@pytest.mark.parametrize(
    ("part", "rule", "counted"),
    [("4", "no-harassment", "sanctions:4"), ("#4", "no-harassment", "sanctions:4")],
)
async def test_a_part_named_by_its_number_is_recorded_and_counted(
    console: ConsoleSession, part: str, rule: str, counted: str
) -> None:
    await members(console, "sam joins")
    heard = await console.feed(f"mod> /sanction sam warning {part} Insults in #general.")
    assert told(heard, "mod") == [
        "Kept as record 1 for sam, who is told the reason and how to appeal."
    ]
    [data] = recorded(console)
    assert data["rule"] == rule and data["reason"] == "Insults in #general."
    assert data["type"] == "warning"
    assert counts(console)[counted] == 1
    (notice,) = told(heard, "sam")
    assert "under part 4 (No harassment) of the code of conduct" in notice
    assert "The reason: Insults in #general." in notice and "/appeal" in notice


async def test_a_part_named_by_its_id_is_recorded_under_its_number(
    console: ConsoleSession,
) -> None:
    await members(console, "sam joins")
    heard = await console.feed("mod> /sanction sam ban Privacy Shared a photo of another member.")
    [data] = recorded(console)
    assert data["rule"] == "privacy" and data["type"] == "ban"
    assert counts(console)["sanctions:5"] == 1
    (notice,) = told(heard, "sam")
    assert "under part 5 (Respect privacy)" in notice and "Shared a photo" in notice


async def test_a_member_who_is_not_a_moderator_is_refused(console: ConsoleSession) -> None:
    await members(console, "sam joins", "ana joins")
    heard = await console.feed("ana> /sanction sam warning 1 Spam.")
    assert told(heard, "ana") == ["Sorry, you are not allowed to use /sanction."]
    assert told(heard, "sam") == [] and recorded(console) == []
    assert not [m for m in counts(console) if m.startswith("sanctions:")]


async def test_the_notice_names_the_part_in_the_members_language(
    console: ConsoleSession,
) -> None:
    await members(console, "sam joins es")
    heard = await console.feed("mod> /sanction sam warning be-kind Insultos en #general.")
    (notice,) = told(heard, "sam")
    assert "según la parte 1 (Sé amable) del código de conducta" in notice
    assert "El motivo: Insultos en #general." in notice and "/appeal" in notice
    assert ".." not in notice  # the reason's own full stop is not doubled by the sentence's
    # The moderator still reads English; the member's words are kept as written.
    assert told(heard, "mod")[0].startswith("Kept as record 1 for sam")


def test_the_report_counts_actions_by_part_and_old_ones_as_unspecified(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Part 10 of a longer code of conduct follows part 2; actions recorded before a
    part was required stay in the table, last, as "no part named"."""
    from bot.store.sqlite import SQLiteStore

    database = tmp_path / "sanctions.db"
    store = SQLiteStore(database)
    day = datetime.now(UTC).date().isoformat()
    found = {"sanctions:2": 3, "sanctions:10": 2, "sanctions:unspecified": 4, "sanctions:1": 6}
    writes = [AddCount("example", day, m, "console", "en", n) for m, n in found.items()]
    store.apply(Changes(at=datetime.now(UTC), writes=list(writes)))
    store.close()
    assert main(["report", "--db", str(database), "--json", "--k-moderation", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    sanctions = next(s for s in data["sections"] if s["id"] == "sanctions")
    assert sanctions["rows"] == [
        "sanctions:1",
        "sanctions:2",
        "sanctions:10",
        "sanctions:unspecified",
    ]
    assert sanctions["row_totals"] == {
        "sanctions:1": 6,
        "sanctions:2": 3,
        "sanctions:10": 2,
        "sanctions:unspecified": 4,
    }
    assert main(["report", "--db", str(database), "--k-moderation", "2"]) == 0
    page = capsys.readouterr().out
    start = page.index("Actions taken, by part of the code of conduct")
    table = page[start : page.index("</table>", start)]
    labels = ["Part 1", "Part 2", "Part 10", "No part named"]
    assert [table.index(f">{label}<") for label in labels] == sorted(
        table.index(f">{label}<") for label in labels
    )
