"""``/human``: what the moderators are told, in words they understand, and never the
name of a reporter who did not agree to be named."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import build_engine
from bot.config.community import Config
from bot.core.actions import NotifyModerators
from bot.core.clock import ManualClock
from bot.engine.engine import Engine
from tests.conftest import RecordingAdapter
from tests.test_reports import SECRET, make_config, member, moderator_view, run, say


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def engine(config: Config, tmp_path: Path, adapter: RecordingAdapter) -> Iterator[Engine]:
    built = build_engine(config, tmp_path / "h.db", ManualClock())
    built.add_adapter(adapter)
    yield built
    built.services.store.close()


REST_OF_REPORT = ("kim", "Yesterday, voice channel", "1", "https://example.org/m/1", "2", "1")


def named_ana(texts: list[str]) -> list[str]:
    return [t for t in texts if "Ana" in t or "test:ana" in t]


async def test_human_in_a_report_keeps_the_reporter_unnamed_unless_they_agree(
    engine: Engine, adapter: RecordingAdapter
) -> None:
    for name in ("ana", "mod"):
        await member(engine, name)
    adapter.take()
    await run(engine, "ana", "/report")
    await say(engine, "ana", "2")  # not an emergency
    await say(engine, "ana", SECRET)
    await run(engine, "ana", "/human")
    assert named_ana(moderator_view(adapter)) == []
    assert "May I tell them your name?" in adapter.texts("ana")[-1]
    await say(engine, "ana", "2")  # no: keep my name private
    view = moderator_view(adapter)
    assert named_ana(view) == [] and not any("Their language" in t for t in view)
    assert any("Someone writing a report" in t and "not to be named" in t for t in view)
    assert "without your name" in adapter.texts("ana")[-2]
    assert "Step 3 of 8: Who" in adapter.texts("ana")[-1]  # the report goes on where it was
    for answer in REST_OF_REPORT:
        await say(engine, "ana", answer)
    assert any("Your report is number 1." in t for t in adapter.texts("ana"))

    # Answering the moderators' question: the request comes under the report's alias.
    await run(engine, "mod", "/reports ask 1 Did it happen before?")
    adapter.take()
    await run(engine, "ana", "/human")
    await say(engine, "ana", "2")
    [notice] = [a.text for a in adapter.sent if isinstance(a, NotifyModerators)]
    assert "reporter-1" in notice and "/reports ask 1" in notice
    assert named_ana(moderator_view(adapter)) == []
    audit = engine.services.store.cases.audit(1)
    assert ("reporter-1", "talk_to_person") in [(who, what) for _, who, what, _ in audit]
    assert not any(
        e["action"] == "talk_to_person" for e in engine.services.store.audit_log("example")
    )

    # Agreeing to be named: the moderators learn who it is, and where they are.
    adapter.take()
    await run(engine, "ana", "/human")
    await say(engine, "ana", "1")
    [notice] = [a.text for a in adapter.sent if isinstance(a, NotifyModerators)]
    assert "Ana (test:ana)" in notice
    assert "answering the moderators' question about a report" in notice


async def test_a_named_report_needs_no_question(engine: Engine, adapter: RecordingAdapter) -> None:
    await member(engine, "ana")
    await run(engine, "ana", "/report")
    for answer in ("2", SECRET, *REST_OF_REPORT[:4]):
        await say(engine, "ana", answer)
    await say(engine, "ana", "1")  # show my name
    adapter.take()
    await run(engine, "ana", "/human")
    [notice] = [a.text for a in adapter.sent if isinstance(a, NotifyModerators)]
    assert "Ana (test:ana)" in notice and "writing a private report" in notice


async def test_moderators_read_language_names_and_plain_places(
    engine: Engine, adapter: RecordingAdapter
) -> None:
    """Not "Their language: sw. Where they are: checkin."."""
    from bot.core.events import MemberJoined
    from tests.test_reports import ref

    await engine.handle(MemberJoined("j1", "example", ref("ana"), locale="sw"))
    adapter.take()
    await run(engine, "ana", "/human")
    [notice] = [a.text for a in adapter.sent if isinstance(a, NotifyModerators)]
    assert "Their language: Swahili." in notice, notice
    assert "Where they are: getting started as a newcomer." in notice, notice
    await run(engine, "ana", "/stop")
    adapter.take()
    await run(engine, "ana", "/human")
    [notice] = [a.text for a in adapter.sent if isinstance(a, NotifyModerators)]
    assert "Where they are: not in any conversation with the bot." in notice, notice
