"""Case numbers people read: each kind counts on its own (report 1, mediation case 1,
record 1, appeal 1), and numbers given before that keep working."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import build_engine
from bot.config.community import Config
from bot.core.actions import NotifyModerators
from bot.core.clock import ManualClock
from bot.engine.engine import Engine
from bot.store.cases import Case, save_case
from bot.store.sqlite import SQLiteStore
from bot.store.types import Changes, iso
from bot.store.writes import ClaimCaseNumbers
from tests.test_mediation import RelayAdapter, join, request, run, say
from tests.test_reports import make_config, report
from tests.test_store import old_database


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def adapter() -> RelayAdapter:
    return RelayAdapter()


def moderators(adapter: RelayAdapter) -> list[str]:
    return [a.text for a in adapter.sent if isinstance(a, NotifyModerators)]


async def test_first_mediation_after_a_report_is_case_1(
    engine: Engine, adapter: RelayAdapter, clock: ManualClock
) -> None:
    """A report took the first record; the first mediation is still case 1 for its
    members and its mediator, and its invitations and deadlines go by that number."""
    for name in ("rhea", "ana", "sam", "bob", "lee"):
        await join(engine, name)
    await report(engine, "rhea")
    adapter.clear()
    await request(engine, "ana", "sam")
    assert any("This is case 1." in t for t in adapter.to("ana")), adapter.to("ana")
    assert any("(case 1)" in t for t in adapter.to("sam")), adapter.to("sam")
    await say(engine, "sam", "1")  # accepts
    assert any("mediator of case 1" in t for t in adapter.to("noor")), adapter.to("noor")
    adapter.clear()
    await run(engine, "noor", "/case show 1")
    assert adapter.to("noor")[-1].startswith("Case 1:"), adapter.to("noor")
    record = engine.services.store.cases.find("example", "mediation", 1)
    assert record is not None and record.status == "statements" and record.id == 2
    await request(engine, "bob", "lee")  # case 2, left unanswered
    clock.advance(timedelta(days=3, minutes=1))
    adapter.clear()
    await engine.fire_due_timers()
    second = engine.services.store.cases.find("example", "mediation", 2)
    assert second is not None and second.status == "declined"
    assert any("case 2 will not go ahead" in t for t in adapter.to("bob")), adapter.to("bob")
    assert engine.services.store.cases.find("example", "mediation", 1).status == "statements"


async def test_sanctions_and_appeals_are_numbered_per_kind(
    engine: Engine, adapter: RelayAdapter
) -> None:
    for name in ("rhea", "sam"):
        await join(engine, name)
    await report(engine, "rhea")
    await run(engine, "mod", "/sanction sam warning 1 Insults in #general.")
    assert any("(record 1)" in t for t in adapter.to("sam")), adapter.to("sam")
    assert "record 1" in adapter.to("mod")[-1], adapter.to("mod")
    await run(engine, "sam", "/appeal")
    await say(engine, "sam", "1")
    await say(engine, "sam", "It was a joke between friends.")
    assert "New appeal 1." in moderators(adapter)[-1], moderators(adapter)
    await run(engine, "kai", "/appeals show 1")
    assert adapter.to("kai")[-1].startswith("Appeal 1 by"), adapter.to("kai")
    await run(engine, "kai", "/appeals decide 1 lifted Friends joking.")
    assert "Your appeal 1 was reviewed" in adapter.to("sam")[-1], adapter.to("sam")


def database_before_per_kind_numbers(path: Path, clock: ManualClock) -> None:
    """A database from before per-kind numbers: report 1, mediation case 2 (its
    invitation still waiting for sam), record 3 about sam and sam's appeal 4."""
    conn = sqlite3.connect(old_database(path, 4), isolation_level=None)
    now = iso(clock.now())
    cases = (
        (1, "report", "received", "test:rhea", {"alias": "reporter-1"}),
        (2, "mediation", "consent", "test:ana", {}),
        (3, "sanction", "recorded", "test:mod", {"type": "warning", "reason": "Rude."}),
        (4, "appeal", "open", "test:sam", {"sanction": 3, "acted_by": "test:mod"}),
    )
    for case_id, kind, status, by, data in cases:
        conn.execute(
            "INSERT INTO cases (id, community, kind, status, opened_by, created_at,"
            " updated_at, data) VALUES (?, 'example', ?, ?, ?, ?, ?, ?)",
            (case_id, kind, status, by, now, now, json.dumps(data)),
        )
    members = (
        (1, "rhea", "reporter", {}),
        (2, "ana", "requester", {}),
        (2, "sam", "party", {"consent": "pending"}),
        (3, "sam", "subject", {}),
        (4, "sam", "appellant", {}),
    )
    for case_id, name, role, state in members:
        ref = json.dumps({"platform": "test", "id": name, "name": name})
        conn.execute(
            "INSERT INTO case_members VALUES (?, ?, ?, ?, ?)",
            (case_id, f"test:{name}", ref, role, json.dumps(state)),
        )
    conn.execute("INSERT INTO counters VALUES ('example:case', 4)")
    due = iso(clock.now() + timedelta(days=3))
    conn.execute(
        "INSERT INTO timers (community, member, member_ref, kind, due_at, payload)"
        " VALUES ('example', 'test:sam', ?, 'case:expire:2', ?, '2')",
        (json.dumps({"platform": "test", "id": "sam", "name": "sam"}), due),
    )
    conn.close()


async def test_numbers_given_before_per_kind_numbering_keep_working(
    config: Config, tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "old.db"
    database_before_per_kind_numbers(path, clock)
    adapter = RelayAdapter()
    engine = build_engine(config, path, clock)
    engine.add_adapter(adapter)
    try:
        await run(engine, "mod", "/case show 2")
        assert adapter.to("mod")[-1].startswith("Case 2:"), adapter.to("mod")
        await run(engine, "kai", "/appeals show 4")
        assert "Appeal 4 by" in adapter.to("kai")[-1] and "Rude." in adapter.to("kai")[-1]
        clock.advance(timedelta(days=3, minutes=1))
        await engine.fire_due_timers()  # the invitation of case 2 expires by its number
        assert engine.services.store.cases.find("example", "mediation", 2).status == "declined"
        assert any("case 2 will not go ahead" in t for t in adapter.to("ana"))
        for name in ("bob", "lee"):
            await join(engine, name)
        await request(engine, "bob", "lee")
        assert any("This is case 3." in t for t in adapter.to("bob")), adapter.to("bob")
        await run(engine, "mod", "/sanction bob warning 1 Spam.")
        assert any("(record 4)" in t for t in adapter.to("bob")), adapter.to("bob")
    finally:
        engine.services.store.close()


async def test_a_number_taken_meanwhile_by_another_process_is_not_given_twice(
    engine: Engine, adapter: RelayAdapter, database: Path
) -> None:
    """Between the moment rhea's report looked at the next number and its commit, another
    Concord process on the same database filed report 1. Her commit writes nothing, her
    turn runs again, and she is told the number she really has."""
    other = SQLiteStore(database)
    cases = engine.services.store.cases
    peek = cases.peek_numbers
    raced: list[tuple[int, int]] = []

    def peek_then_lose_the_race(community: str, kind: str) -> tuple[int, int]:
        seen = peek(community, kind)
        if not raced:  # the other process commits what rhea's turn just looked at
            raced.append(seen)
            now = engine.services.clock.now()
            case = Case(seen[0], community, kind, "received", "test:sam", now, number=seen[1])
            claim = ClaimCaseNumbers(community, kind, *seen)
            other.apply(Changes(at=now, writes=[claim, save_case(case, now)]))
        return seen

    cases.peek_numbers = peek_then_lose_the_race  # type: ignore[method-assign]
    await join(engine, "rhea")
    await report(engine, "rhea")
    other.close()
    assert raced == [(1, 1)]
    received = [t for t in adapter.to("rhea") if "Your report is number" in t]
    assert len(received) == 1 and "number 2." in received[0], adapter.to("rhea")
    assert cases.find("example", "report", 1).opened_by == "test:sam"  # type: ignore[union-attr]
    assert cases.find("example", "report", 2).opened_by == "test:rhea"  # type: ignore[union-attr]
    assert len(cases.listing("example", "report")) == 2
