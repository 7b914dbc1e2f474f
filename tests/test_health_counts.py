"""Daily health counts as a community produces them, through the console and the real
engine: what is counted where it happens, what a member's profile keeps for the next
count (and loses with /quiet and /forget), and who is never counted."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from adapters.console.session import ConsoleSession
from adapters.console.transcript import run_transcript
from bot.config.community import load_config
from bot.core.errors import ConcordError
from tests.community_week import ONBOARDING, REPORT

TRANSCRIPTS = Path(__file__).parent / "transcripts"


def counts(session: ConsoleSession) -> Counter[str]:
    found: Counter[str] = Counter()
    for _, metric, _, _, n in session.engine.services.store.health_counts("example", "2000-01-01"):
        found[metric] += n
    return found


async def type_lines(session: ConsoleSession, *lines: str) -> None:
    for line in lines:
        await session.feed(line)


async def test_a_newcomer_is_counted_as_they_go_and_only_once(console: ConsoleSession) -> None:
    await type_lines(console, "ana joins", *(f"ana> {a}" for a in ["English", *ONBOARDING, "2"]))
    await type_lines(console, ":again", "ana joins", "ana #general> hi", "ana #general> me again")
    assert counts(console) == Counter(
        {
            "joins": 1,  # joining again (or a re-delivery) is no second join
            "onboarding_completed": 1,
            "first_message": 1,
            "channel_messages:newer": 2,
        }
    )


async def test_the_first_answer_to_a_newcomer_is_timed_in_a_bucket(
    console: ConsoleSession,
) -> None:
    await type_lines(console, "old joins", ":wait 100d", "ana joins", "ana #general> hello?")
    await type_lines(console, ":wait 2h", "ana #general> anyone?", "old #general> welcome!")
    await type_lines(console, "old #general> and again")
    found = counts(console)
    assert (
        found["first_reply:1h-6h"] == 1
        and sum(n for m, n in found.items() if m.startswith("first_reply:")) == 1
    )
    assert (found["channel_messages:newer"], found["channel_messages:veteran"]) == (2, 2)


async def test_coming_back_counts_the_day_they_return(console: ConsoleSession) -> None:
    await type_lines(console, "ana joins", "ana> /stop", ":wait 8d", "ana> /help")
    await type_lines(console, ":wait 30d", "ana> /help", "ana> /help")
    found = counts(console)
    assert found["active_again:7d"] == 2 and found["active_again:28d"] == 1
    assert found["still_active:7d"] == 1 and found["still_active:28d"] == 1


async def test_quiet_members_are_not_counted_but_their_reports_are(
    console: ConsoleSession,
) -> None:
    await type_lines(console, "ana joins", "ana> /stop", "ana #general> hi", "ana> /quiet")
    await type_lines(console, "bob joins", "bob> /stop", "bob #general> hi ana")  # not timed
    await type_lines(console, ":wait 10d", "ana #general> back", *(f"ana> {r}" for r in REPORT))
    profile = console.engine.services.store.load_profile("example", "console:ana")
    assert profile is not None and "health" not in profile["extra"]
    # Joined and spoke before asking for quiet; nothing after; a report is moderation's.
    found = counts(console)
    assert (found["joins"], found["first_message"], found["reports:standard"]) == (2, 2, 1)
    assert found["channel_messages:newer"] == 2  # her first words and bob's, not "back"
    assert not any(metric.startswith("first_reply:") for metric in found)


async def test_forget_takes_the_marks_and_leaves_the_day_counts(
    console: ConsoleSession,
) -> None:
    await type_lines(
        console, "ana joins", "ana> /stop", "ana #general> hi", "ana> /forget", "ana> 1"
    )
    assert console.engine.services.store.load_profile("example", "console:ana") is None
    before = counts(console)
    # Her first words no longer wait for an answer: nobody's reply is timed against them.
    await type_lines(console, "bob joins", "bob> /stop", "bob #general> hi ana")
    assert counts(console)["first_reply:lt1h"] == 0
    await type_lines(console, "ana #general> hello again")
    # Forgotten, she starts fresh: her first words are counted as first words again.
    assert counts(console)["first_message"] == before["first_message"] + 2  # bob's, and hers


async def test_a_sanction_is_counted_under_its_part(console: ConsoleSession) -> None:
    await type_lines(console, "sam joins", "sam> /stop")
    await console.feed("mod> /sanction sam warning 1 Insults in #general.")
    await console.feed("mod> /sanction sam warning privacy Shared a photo.")
    await console.feed("mod> /sanction sam warning Spam.")  # no part: nothing recorded
    found = counts(console)
    assert (found["sanctions:1"], found["sanctions:5"]) == (1, 1)
    assert sum(n for metric, n in found.items() if metric.startswith("sanctions:")) == 2


async def test_a_recorded_action_may_be_appealed_for_six_months(console: ConsoleSession) -> None:
    await type_lines(console, "sam joins", "sam> /stop", "mod> /sanction sam warning 1 Spam.")
    await console.feed(":wait 182d")
    asked = await console.feed("sam> /appeal")
    assert any("1. " in line for line in asked)  # the record is offered
    await type_lines(console, "sam> /stop", ":wait 2d")
    late = await console.feed("sam> /appeal")
    assert "appealed for 183 days" in late[-1]


def test_the_appeal_window_is_never_shorter_than_six_months(tmp_path: Path) -> None:
    config = tmp_path / "concord.yaml"
    config.write_text(
        "community:\n  id: example\n  name: X\nreports:\n  appeal_window: 30d\n", "utf-8"
    )
    with pytest.raises(ConcordError, match=r"reports\.appeal_window: appeals stay open at least"):
        load_config(config)
    config.write_text(
        "community:\n  id: example\n  name: X\nreports:\n  appeal_window: 52w\n", "utf-8"
    )
    assert load_config(config).reports.appeal_window.days == 364


async def test_a_whole_mediation_is_counted_step_by_step(console: ConsoleSession) -> None:
    """The mediation transcript: asked for, accepted, agreed; at the follow-up one party
    says it holds and the other that it does not."""
    passed, report = await run_transcript(console, TRANSCRIPTS / "mediation-en-es.txt")
    assert passed, report
    found = counts(console)
    assert [found[f"mediation_{m}"] for m in ("requests", "acceptances", "agreements")] == [1, 1, 1]
    assert (found["mediation_held"], found["mediation_not_held"]) == (1, 1)
