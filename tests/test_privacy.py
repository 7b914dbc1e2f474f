"""What members control about their data: /mydata, /forget, /quiet, and retention."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config.community import Config
from bot.core.clock import ManualClock
from bot.engine.engine import Engine
from tests.conftest import RecordingAdapter
from tests.test_mediation import REQUEST, STATEMENT
from tests.test_reports import SECRET, make_config, member, report, run, say


@pytest.fixture
def config(tmp_path: Path, request: pytest.FixtureRequest) -> Config:
    """The reports' community; ``durability`` as a test's parameter says (normal)."""
    durability = getattr(request, "param", "normal")
    return dataclasses.replace(make_config(tmp_path), durability=durability)


async def onboarded(engine: Engine, name: str) -> None:
    from tests.conftest import joined
    from tests.test_engine import ONBOARDING_ANSWERS

    await engine.handle(joined(name))
    for answer in ONBOARDING_ANSWERS:
        await say(engine, name, answer)


async def test_mydata_has_everything_of_the_member_and_nothing_of_others(
    engine: Engine, adapter: RecordingAdapter
) -> None:
    await onboarded(engine, "ana")
    await member(engine, "sam")
    await run(engine, "ana", "/mediate sam")
    for answer in REQUEST:
        await say(engine, "ana", answer)
    await say(engine, "sam", "1")
    for answer in STATEMENT:
        await say(engine, "ana", answer)
    for answer in ("Sam's own account.", "Sam felt bad.", "Sam needs time.", "1"):
        await say(engine, "sam", answer)
    await report(engine, "ana")
    adapter.take()
    await run(engine, "ana", "/mydata")
    [text] = adapter.texts("ana")
    data = json.loads(text[text.index("{") :])
    assert data["profile"]["acknowledged_version"] == engine.services.coc.version
    assert data["profile"]["interests"] == ["translation", "code"]
    assert [a["version"] for a in data["acknowledgements"]] == [engine.services.coc.version]
    mine = [t["text"] for c in data["cases"] for t in c["your_texts"]]
    assert SECRET in mine and "What happened." in mine
    assert "We disagree about how reviews are done." in mine
    assert not any("Sam" in t for t in mine)  # the other party's statement is theirs
    assert {c["kind"] for c in data["cases"]} == {"mediation", "report"}


@pytest.mark.parametrize("config", ["normal", "strict"], indirect=True)
async def test_forget_leaves_no_personal_data_in_the_file(
    engine: Engine, adapter: RecordingAdapter, tmp_path: Path, config: Config
) -> None:
    # Strict mode too: there the erasure's writes meet the loop's shared commit.
    assert engine.services.store.durable == (config.durability == "strict")
    name = "zoeunique"
    await onboarded(engine, name)
    await report(engine, name)
    await run(engine, "mod", f"/reports close 1 Handled, thank you {name}.")
    await say(engine, name, "A question about spam, please.")
    await run(engine, name, "/forget")
    await say(engine, name, "1")
    assert "erased" in adapter.texts(name)[-1]
    store = engine.services.store
    assert store.load_profile("example", f"test:{name}") is None
    assert store.load_conversation("example", f"test:{name}") is None
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("p.db*"))
    for needle in (name, name.capitalize(), SECRET, "A question about spam"):
        assert needle.encode() not in raw, needle
    assert any(e["action"] == "erased" for e in store.audit_log("example"))
    # Writing again starts fresh.
    adapter.take()
    await run(engine, name, "/start")
    assert "Welcome" in adapter.texts(name)[0]


async def test_quiet_members_are_never_written_to_first(
    engine: Engine, adapter: RecordingAdapter, clock: ManualClock
) -> None:
    await onboarded(engine, "ana")
    await member(engine, "sam")
    await run(engine, "ana", "/quiet")
    adapter.take()
    clock.advance(timedelta(days=8))
    await engine.fire_due_timers()
    assert adapter.texts("ana") == []  # no check-in
    await run(engine, "sam", "/mediate ana")
    assert "cannot send" in adapter.texts("sam")[-1]
    await say(engine, "ana", "what about privacy?")
    assert adapter.texts("ana")  # she is still answered when she writes


async def test_retention_purges_exactly_what_is_due(
    engine: Engine, adapter: RecordingAdapter, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    await member(engine, "ana")
    await report(engine, "ana")  # case 1: will be closed and old
    await run(engine, "mod", "/reports close 1 Done.")
    clock.advance(timedelta(days=100))
    await report(engine, "ana")  # case 2: closed, but recent
    await run(engine, "mod", "/reports close 2 Done.")
    await report(engine, "ana")  # case 3: open
    clock.advance(timedelta(days=90))  # retention is 180 days: case 1 is 190 days old
    with caplog.at_level(logging.INFO, logger="bot.engine.timers"):
        removed = engine.housekeeping()
    # The operator sees the purge begin and end, with what it removed; never whose.
    said = [r.getMessage() for r in caplog.records if r.name == "bot.engine.timers"]
    assert said[0] == "retention purge: texts and conversations older than 180 days"
    assert said[1].startswith(f"retention purge: {removed} removed in ") and removed >= 4
    assert not any("ana" in line for line in said)
    cases = engine.services.store.cases
    assert cases.texts(1) == []
    assert cases.load("example", 1).members == []  # a count, without identity
    assert cases.load("example", 1).status == "closed"
    assert len(cases.texts(2)) == 4 and len(cases.texts(3)) == 4
    assert cases.load("example", 2).members


async def test_delivered_replies_leave_no_text_in_the_database_file(
    engine: Engine, adapter: RecordingAdapter, tmp_path: Path
) -> None:
    """A mediator reads the parties' statements; the case closes and its statements are
    deleted; no copy stays behind in the delivered outbox rows."""
    from tests.test_mediation import run as run_in
    from tests.test_mediation import say as say_in
    from tests.test_mediation import to_joint_session

    await to_joint_session(engine)
    adapter.take()
    await run_in(engine, "noor", "/case show 1")
    assert any("Necesito respeto." in text for text in adapter.texts("noor"))
    await run_in(engine, "noor", "/case agreement 1 Both ask before changing pages.")
    await say_in(engine, "ana", "1")
    await say_in(engine, "sam", "1")
    await asyncio.sleep(0)  # the last sent mark is written once the loop is idle
    store = engine.services.store
    assert store.cases.load("example", 1).status == "closed"  # type: ignore[union-attr]
    assert adapter.texts("ana") and adapter.texts("sam")
    rows = list(store.db.execute("SELECT id FROM outbox"))
    assert rows == []  # all delivered: no row, no text
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("p.db*"))
    for statement in ("What happened.", "Pasó esto.", "Me sentí mal.", "Necesito respeto."):
        assert statement.encode() not in raw, statement


async def test_mydata_names_the_language_in_the_members_own_words(
    engine: Engine, adapter: RecordingAdapter
) -> None:
    from tests.conftest import joined

    await engine.handle(joined("ana", locale="sw"))
    adapter.take()
    await run(engine, "ana", "/mydata")
    [text] = adapter.texts("ana")
    assert "Lugha: Kiswahili." in text, text[:200]
