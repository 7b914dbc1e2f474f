"""The store contract (bot.store.protocol.Store), run against every backend: SQLite on
a real file, the in-memory store, and PostgreSQL on a real throwaway cluster the suite
starts on loopback (tests/postgres_server.py).

Each test says what a member or a moderator would notice if a backend broke it: a reply
sent twice or lost, a half-made step after a crash, a private text kept after delivery,
another member's records erased with someone's ``/forget``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import adapters.console.session as console_session
from adapters.console.session import AdvancingClock
from adapters.console.transcript import run_transcript
from bot.app import build_engine
from bot.config.community import Config, load_config
from bot.core.actions import GrantRole, Say, ScheduleTimer
from bot.core.clock import Clock, ManualClock
from bot.core.errors import Conflict
from bot.core.events import MemberRef, Place
from bot.core.state import Profile, profile_to_dict
from bot.engine.engine import Engine
from bot.store.cases import (
    Case,
    CaseMember,
    add_audit,
    add_block,
    add_invitation,
    save_case,
    set_invitation,
)
from bot.store.memory import MemoryStore
from bot.store.privacy import ERASED, forget_member
from bot.store.protocol import Store
from bot.store.sqlite import SQLiteStore
from bot.store.types import Changes, iso
from bot.store.writes import (
    AddCount,
    BurnLinkCodes,
    ClaimCaseNumbers,
    ClaimLinkCode,
    DropLinkCode,
    IssueLinkCode,
    RemoveLink,
    SetLink,
    ShareLinks,
    UnshareLinks,
)

C = "example"
ANA = MemberRef("telegram", "12", "Ana")
BOB = MemberRef("telegram", "123", "Bob")
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def say(member: MemberRef, text: str) -> tuple[str, Say]:
    return (C, Say(Place.direct(member), text))


@dataclass
class Backend:
    """A store under test: ``reopen`` gives the store as a new process would see it
    (the same file opened again; the in-memory store is its own process)."""

    store: Store
    reopen: Callable[[], Store]
    # Every outbox row's stored action text, delivered or not.
    stored_actions: Callable[[], list[str]]


def _reopening(open_store: Callable[[], Store], read_actions: Callable[[], list[str]]) -> Backend:
    backend = Backend(open_store(), lambda: backend.store, lambda: [])

    def reopen() -> Store:
        backend.store.close()
        backend.store = open_store()
        return backend.store

    def stored_actions() -> list[str]:
        backend.store.flush_marks()
        return read_actions()

    backend.reopen, backend.stored_actions = reopen, stored_actions
    return backend


def _sqlite(tmp_path: Path) -> Backend:
    path = tmp_path / "contract.db"

    def read_actions() -> list[str]:
        with sqlite3.connect(path) as other:
            return [row[0] for row in other.execute("SELECT action FROM outbox ORDER BY id")]

    return _reopening(lambda: SQLiteStore(path), read_actions)


def _memory(tmp_path: Path) -> Backend:
    store = MemoryStore()
    return Backend(store, lambda: store, lambda: [r.action for r in store._t.outbox.values()])


def _postgres(tmp_path: Path, url: str) -> Backend:
    import psycopg

    from bot.store.postgres.store import PostgresStore

    def read_actions() -> list[str]:
        with psycopg.connect(url) as other:
            return [row[0] for row in other.execute("SELECT action FROM outbox ORDER BY id")]

    return _reopening(lambda: PostgresStore(url, path=tmp_path / "concord.db"), read_actions)


@pytest.fixture(params=["sqlite", "memory", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "postgres":
        made = _postgres(tmp_path, request.getfixturevalue("postgres_url"))
    else:
        made = {"sqlite": _sqlite, "memory": _memory}[request.param](tmp_path)
    yield made
    made.store.close()


def profile_of(member: MemberRef) -> dict[str, Any]:
    """A new member's profile, as the engine writes it (every field)."""
    return profile_to_dict(Profile(member.name))


def a_turn(event_key: str, member: MemberRef = ANA, step: str = "welcome") -> Changes:
    return Changes(
        at=NOW,
        event_key=event_key,
        conversations={(C, member.key): {"step": step}},
        profiles={(C, member.key): profile_of(member)},
        outbox=[say(member, f"{step} 1"), say(member, f"{step} 2")],
        timers=[(C, ScheduleTimer(member, "checkin", NOW + timedelta(days=2)))],
        acknowledgements=[(C, member.key, "v1")],
    )


def test_an_event_is_committed_once_and_a_duplicate_writes_nothing(backend: Backend) -> None:
    store = backend.store
    assert not store.seen("e1")
    items = store.apply(a_turn("e1"))
    assert items is not None and len(items) == 2
    assert store.seen("e1")
    # The platform delivers the event again (with whatever the engine made of it now).
    again = a_turn("e1", step="other")
    again.outbox.append(say(BOB, "to bob"))
    assert store.apply(again) is None
    store = backend.reopen()
    assert store.load_conversation(C, ANA.key) == {"step": "welcome"}
    assert [i.action.text for i in store.pending_outbox()] == ["welcome 1", "welcome 2"]  # type: ignore[union-attr]
    assert len(store.due_timers(NOW + timedelta(days=3))) == 1


def test_a_turn_commits_state_outbox_and_timers_together(backend: Backend) -> None:
    turn = a_turn("e1")
    turn.cursors["telegram:offset"] = "41"
    items = backend.store.apply(turn)
    assert items is not None
    assert [i.action for i in items] == [a for _, a in turn.outbox]
    store = backend.reopen()
    assert store.load_conversation(C, ANA.key) == {"step": "welcome"}
    assert store.load_profile(C, ANA.key) == profile_of(ANA)
    # Both at once (a turn whose member is not among the live conversations).
    assert store.load_member(C, ANA.key) == ({"step": "welcome"}, profile_of(ANA))
    assert store.load_member(C, BOB.key) == (None, None)
    assert [(i.id, i.action) for i in store.pending_outbox()] == [(i.id, i.action) for i in items]
    [timer] = store.due_timers(NOW + timedelta(days=2))
    assert (timer.member, timer.kind, timer.due_at) == (ANA, "checkin", NOW + timedelta(days=2))
    assert store.cursor("telegram:offset") == "41"


def _crash_in_state(turn: Changes) -> None:
    # Ana's state is written, then Bob's cannot be.
    turn.conversations[(C, BOB.key)] = {"unstorable": {1, 2}}


def _crash_in_outbox(turn: Changes) -> None:
    # The state and timers are written, the first action too, then one cannot be.
    turn.outbox.append((C, Say(Place.direct(ANA), {"unstorable"})))  # type: ignore[arg-type]


@pytest.mark.parametrize("crash", [_crash_in_state, _crash_in_outbox], ids=["state", "outbox"])
def test_a_crash_in_the_middle_of_a_commit_leaves_nothing_of_the_turn(
    backend: Backend, crash: Callable[[Changes], None]
) -> None:
    backend.store.apply(a_turn("e1"))
    before = backend.stored_actions()
    broken = a_turn("e2", step="second")
    broken.cursors["telegram:offset"] = "42"
    broken.timers.append((C, ScheduleTimer(ANA, "reminder", NOW)))
    crash(broken)
    with pytest.raises(TypeError):
        backend.store.apply(broken)
    for store_now in (lambda: backend.store, backend.reopen):
        store = store_now()
        assert not store.seen("e2")
        assert store.load_conversation(C, ANA.key) == {"step": "welcome"}
        assert store.load_conversation(C, BOB.key) is None
        assert store.load_profile(C, ANA.key) == profile_of(ANA)
        assert backend.stored_actions() == before
        assert store.due_timers(NOW) == []
        assert store.cursor("telegram:offset") is None
    # The event handled again (the platform re-delivers it) commits in full.
    items = backend.store.apply(a_turn("e2", step="second"))
    assert items is not None and len(backend.store.pending_outbox()) == 4


def test_pending_deliveries_come_in_commit_order(backend: Backend) -> None:
    store = backend.store
    store.apply(a_turn("e1", ANA, "ana"))
    store.apply(a_turn("e2", BOB, "bob"))
    store.apply(Changes(at=NOW, event_key="e3", outbox=[(C, GrantRole(ANA, "member"))]))
    pending = store.pending_outbox()
    assert [type(i.action).__name__ for i in pending] == ["Say"] * 4 + ["GrantRole"]
    assert [i.action.text for i in pending[:4]] == ["ana 1", "ana 2", "bob 1", "bob 2"]  # type: ignore[union-attr]
    assert [i.id for i in pending] == sorted(i.id for i in pending)
    store.mark_failed(pending[0].id, "timed out")  # retried later, first still
    again = backend.reopen().pending_outbox()
    assert [i.id for i in again] == [i.id for i in pending]
    assert (again[0].attempts, again[1].attempts) == (1, 0)
    assert [i.id for i in backend.store.pending_outbox(limit=2)] == [i.id for i in pending[:2]]


def test_a_delivered_action_leaves_nothing_behind(backend: Backend) -> None:
    """Delivered rows go at once (a reply may quote a private statement); the ids they
    had are never given again, so an idempotency key a platform saw names one action."""
    store = backend.store
    first, second = (
        store.apply(
            Changes(
                at=NOW,
                event_key="e1",
                outbox=[say(ANA, "my private statement"), say(ANA, "still waiting")],
            )
        )
        or []
    )
    store.mark_sent(first.id, NOW)
    store.mark_sent_later(second.id, NOW)
    store.flush_marks()
    assert store.pending_outbox() == []
    assert backend.stored_actions() == []  # no row, no text
    store = backend.reopen()
    assert store.pending_outbox() == []
    [later] = store.apply(Changes(at=NOW, event_key="e2", outbox=[say(ANA, "later")])) or []
    assert later.id > second.id  # a new key, never one a platform saw before


def test_an_undeliverable_action_is_recorded_with_its_reason_and_counted(
    backend: Backend,
) -> None:
    store = backend.store
    items = (
        store.apply(
            Changes(
                at=NOW,
                event_key="e1",
                outbox=[
                    say(ANA, "secret one"),
                    (C, Say(Place.direct(MemberRef("matrix", "@ann:x.org")), "secret two")),
                    say(BOB, "secret three"),
                    say(BOB, "delivered"),
                ],
            )
        )
        or []
    )
    store.mark_dead(items[0].id, "blocked the bot", NOW)
    store.mark_dead(items[1].id, "no such room", NOW)
    store.mark_dead(items[2].id, "deactivated", NOW)
    store = backend.reopen()
    assert store.undeliverable() == {"telegram": 2, "matrix": 1}
    assert store.undeliverable_reasons() == [
        (items[2].id, "telegram", "deactivated"),
        (items[1].id, "matrix", "no such room"),
        (items[0].id, "telegram", "blocked the bot"),
    ]
    assert [i.id for i in store.pending_outbox()] == [items[3].id]  # never counted as sent
    assert [text for text in backend.stored_actions() if "secret" in text] == []


def _rewind_to_schema_11(kind: str, tmp_path: Path, postgres: str | None) -> Callable[[str], None]:
    """Runs SQL on a closed store's database, then marks it as of schema version 11 (before
    delivered rows were deleted): opening it again runs the later migrations."""

    def run(sql: str) -> None:
        if kind == "sqlite":
            with sqlite3.connect(tmp_path / "contract.db") as other:
                other.execute(sql)
                other.execute("PRAGMA user_version = 11")
            return
        import psycopg

        with psycopg.connect(postgres or "", autocommit=True) as other:
            other.execute(sql)  # type: ignore[arg-type]
            other.execute("UPDATE concord_schema SET version = 11")

    return run


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_migrating_drops_delivered_rows_and_keeps_the_rest(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Migration 12: rows kept after delivery go; a set-aside row keeps its reason, an
    undelivered one is still delivered, and no id (a platform's idempotency key) is
    given twice."""
    url = request.getfixturevalue("postgres_url") if kind == "postgres" else None
    backend = _sqlite(tmp_path) if url is None else _postgres(tmp_path, url)
    store = backend.store
    waiting, dead, *delivered = (
        store.apply(
            Changes(at=NOW, event_key="e1", outbox=[say(ANA, f"reply {n}") for n in range(4)])
        )
        or []
    )
    store.mark_dead(dead.id, "blocked the bot", NOW)
    store.close()
    # As an older Concord left them: delivered rows kept, without their text.
    marks = ",".join(str(item.id) for item in delivered)
    _rewind_to_schema_11(kind, tmp_path, url)(
        f"UPDATE outbox SET sent_at = '{iso(NOW)}', action = '' WHERE id IN ({marks})"
    )
    store = backend.reopen()
    assert [i.id for i in store.pending_outbox()] == [waiting.id]
    assert store.undeliverable_reasons() == [(dead.id, "telegram", "blocked the bot")]
    assert len(backend.stored_actions()) == 2
    [later] = store.apply(Changes(at=NOW, event_key="e2", outbox=[say(BOB, "new")])) or []
    assert later.id > delivered[-1].id
    store.close()


def test_due_timers_in_due_order(backend: Backend) -> None:
    store = backend.store
    store.apply(
        Changes(
            at=NOW,
            event_key="e1",
            timers=[
                (C, ScheduleTimer(ANA, "checkin", NOW + timedelta(hours=3), "old")),
                (C, ScheduleTimer(BOB, "checkin", NOW + timedelta(hours=2))),
                (C, ScheduleTimer(ANA, "remind", NOW + timedelta(hours=1))),
                (
                    C,
                    ScheduleTimer(ANA, "checkin", NOW + timedelta(hours=1), "new"),
                ),  # replaces "old"
                (C, ScheduleTimer(BOB, "cancel me", NOW)),
            ],
        )
    )
    store.apply(Changes(at=NOW, event_key="e2", timers_cancelled=[(C, BOB.key, "cancel me")]))
    store = backend.reopen()
    assert store.due_timers(NOW) == []
    assert store.next_timer_due() == NOW + timedelta(hours=1)
    due = store.due_timers(NOW + timedelta(hours=2))
    # Due first, then set first ("checkin" was set again after "remind").
    assert [(t.member.id, t.kind, t.payload) for t in due] == [
        ("12", "remind", ""),
        ("12", "checkin", "new"),
        ("123", "checkin", ""),
    ]
    assert due[0].due_at == NOW + timedelta(hours=1) and due[2].due_at == NOW + timedelta(hours=2)
    assert len(store.due_timers(NOW + timedelta(hours=2), limit=1)) == 1
    store.apply(Changes(at=NOW, event_key="t1", timers_done=[due[0].id]))
    store.delete_timer(due[1].id)
    assert [t.id for t in store.due_timers(NOW + timedelta(days=1))] == [due[2].id]


def test_member_records_are_exact_by_platform_member_and_name(backend: Backend) -> None:
    store = backend.store
    records = {
        ("telegram", "12", "sent"): "ana's message",
        ("telegram", "12", "dm"): "ana's chat",
        ("telegram", "123", "sent"): "bob's message",
        ("telegram", "1", "sent"): "one's message",
        ("matrix", "12", "sent"): "a matrix 12",
        ("telegram", "12%", "sent"): "a look-alike",
        ("telegram", "_2", "sent"): "another look-alike",
    }
    for (platform, member, name), value in records.items():
        store.set_member_record(platform, member, name, value)
    store.set_member_record("telegram", "12", "sent", "ana's newer message")
    records[("telegram", "12", "sent")] = "ana's newer message"
    store = backend.reopen()
    for (platform, member, name), value in records.items():
        assert store.member_record(platform, member, name) == value
    assert store.member_record("telegram", "12", "other") is None
    store.erase_delivered("telegram", "12")
    for (platform, member, name), value in records.items():
        expected = None if (platform, member) == ("telegram", "12") else value
        assert backend.reopen().member_record(platform, member, name) == expected


def test_a_record_of_a_delivery_is_kept_with_its_sent_mark(backend: Backend) -> None:
    """The id of a message just sent (what ``/clear`` deletes) is read back at once and
    written with the delivery's mark: with the next commit, or the marks' own write.
    ``/forget`` erases it as any record, and a record written at once replaces it."""
    store = backend.store
    [first] = store.apply(Changes(at=NOW, event_key="k1", outbox=[say(ANA, "hello")])) or []
    store.set_member_record_later("telegram", "12", "sent", "[1]")
    store.mark_sent_later(first.id, NOW)
    assert store.member_record("telegram", "12", "sent") == "[1]"
    store.apply(Changes(at=NOW, event_key="k2", outbox=[say(ANA, "again")]))
    store = backend.reopen()
    assert store.member_record("telegram", "12", "sent") == "[1]"
    assert [i.action.text for i in store.pending_outbox()] == ["again"]  # type: ignore[union-attr]
    [second] = store.pending_outbox()
    store.set_member_record_later("telegram", "12", "sent", "[1, 2]")
    store.set_member_record_later("telegram", "123", "sent", "[3]")
    store.mark_sent_later(second.id, NOW)
    store.flush_marks()
    store.set_member_record_later("telegram", "12", "sent", "[1, 2, 4]")
    store.set_member_record("telegram", "12", "sent", "[]")  # /clear deleted them all
    assert store.member_record("telegram", "12", "sent") == "[]"
    assert store.member_record("telegram", "123", "sent") == "[3]"
    store = backend.reopen()
    assert store.pending_outbox() == []
    assert store.member_record("telegram", "12", "sent") == "[]"
    assert store.member_record("telegram", "123", "sent") == "[3]"
    store.set_member_record_later("telegram", "12", "sent", "[5]")  # the answer to /forget
    store.erase_delivered("telegram", "12")
    assert store.member_record("telegram", "12", "sent") is None
    store = backend.reopen()
    assert store.member_record("telegram", "12", "sent") is None
    assert store.member_record("telegram", "123", "sent") == "[3]"


def test_a_record_with_an_end_reads_as_none_after_it_and_housekeeping_deletes_it(
    backend: Backend,
) -> None:
    """Telegram's ids of sent messages are of use for 48 hours (no message older can
    be deleted): past its end a record reads as none, written at once or held with a
    delivery, and the daily housekeeping deletes it; others stay."""
    store = backend.store
    ends = NOW + timedelta(hours=48)
    store.set_member_record("telegram", "12", "sent", "[1]", ends)
    store.set_member_record("telegram", "12", "dm", "kept")
    [first] = store.apply(Changes(at=NOW, event_key="k1", outbox=[say(BOB, "hello")])) or []
    store.set_member_record_later("telegram", "123", "sent", "[2]", ends)
    store.mark_sent_later(first.id, NOW)
    before, after = ends - timedelta(seconds=1), ends + timedelta(seconds=1)
    assert store.member_record("telegram", "123", "sent", before) == "[2]"  # held
    assert store.member_record("telegram", "123", "sent", after) is None
    store.flush_marks()
    store = backend.reopen()
    for member, value in (("12", "[1]"), ("123", "[2]")):
        assert store.member_record("telegram", member, "sent", before) == value
        assert store.member_record("telegram", member, "sent", after) is None
    assert store.drop_expired_records(before) == 0
    assert store.drop_expired_records(after) == 2
    store = backend.reopen()
    assert store.member_record("telegram", "12", "sent", before) is None  # gone
    assert store.member_record("telegram", "12", "dm", after) == "kept"
    store.set_member_record("telegram", "12", "sent", "[3]", after + timedelta(hours=48))
    assert backend.reopen().member_record("telegram", "12", "sent", after) == "[3]"


def _fill(store: Store, member: MemberRef, key: str) -> None:
    turn = a_turn(key, member, member.id)
    turn.mentorships.append((C, member.key, "telegram:mentor"))
    turn.audit.append((C, member.key, "joined", "", f"welcomed {member.id}"))
    store.apply(turn)
    store.set_member_record(member.platform, member.id, "sent", f"{member.id}'s message")


def test_erasing_one_member_leaves_the_others_intact(backend: Backend) -> None:
    store = backend.store
    _fill(store, ANA, "e1")
    _fill(store, BOB, "e2")
    delivered = store.pending_outbox()[0]
    store.mark_sent(delivered.id, NOW)
    keep_open = True
    forget = Changes(
        at=NOW,
        event_key="e3",
        outbox=[say(ANA, "forgotten")],
        writes=[forget_member(C, ANA.key, keep_open)],
    )
    [reply] = store.apply(forget) or []
    store.mark_sent(reply.id, NOW)
    store.erase_delivered(ANA.platform, ANA.id)
    store = backend.reopen()
    assert store.load_conversation(C, ANA.key) is None
    assert store.load_profile(C, ANA.key) is None
    assert store.member_record("telegram", "12", "sent") is None
    assert [t.member for t in store.due_timers(NOW + timedelta(days=3))] == [BOB]
    assert store.load_conversation(C, BOB.key) == {"step": "123"}
    assert store.load_profile(C, BOB.key) == profile_of(BOB)
    assert store.member_record("telegram", "123", "sent") == "123's message"
    assert [i.action.text for i in store.pending_outbox()] == [  # type: ignore[union-attr]
        "12 2",
        "123 1",
        "123 2",
    ]
    assert len(backend.stored_actions()) == 3  # no delivered row naming anyone stays
    reads: Any = store
    assert reads.acknowledgements(C, ANA.key) == []
    assert [v for v, _ in reads.acknowledgements(C, BOB.key)] == ["v1"]
    assert reads.count_mentees(C, "telegram:mentor") == 1
    details = [(e["actor"], e["detail"]) for e in reads.audit_log(C)]
    assert details == [("erased", "erased"), ("telegram:123", "welcomed 123")]


TRANSCRIPTS = sorted((Path(__file__).parent / "transcripts").glob("*.txt"))


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
@pytest.mark.parametrize("kind", ["memory", "postgres"])
async def test_whole_conversations_read_the_same_on_every_store(
    kind: str,
    path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """The transcripts (onboarding, reports, a mediation with its case records), played
    with the in-memory store or PostgreSQL in place of SQLite: every line as written."""
    if kind == "postgres":
        from bot.store.postgres.store import PostgresStore

        url = request.getfixturevalue("postgres_url")
        kinds: tuple[type, ...] = (PostgresStore,)

        def store() -> Any:
            return PostgresStore(url, path=tmp_path / "unused.db")
    else:
        kinds = (MemoryStore,)
        store = MemoryStore

    def with_other_store(config: Config, database: object, clock: Clock) -> Engine:
        return build_engine(config, clock=clock, store=store())

    monkeypatch.setattr(console_session, "build_engine", with_other_store)
    session = console_session.ConsoleSession(
        load_config(None), tmp_path / "unused.db", AdvancingClock(ManualClock(), fixed=True)
    )
    try:
        assert isinstance(session.engine.services.store, kinds)
        passed, report = await run_transcript(session, path)
    finally:
        session.close()
    assert passed, report
    assert not (tmp_path / "unused.db").exists()


# Case records (the CaseStore Protocol, and case writes carried by a turn) ------------

MOD = MemberRef("telegram", "99", "Mo")


def _a_case(store: Any, kind: str, opener: MemberRef, other: MemberRef, community: str = C) -> Case:
    case_id, number = store.cases.peek_numbers(community, kind)
    _commit(store, f"claim-{case_id}", ClaimCaseNumbers(community, kind, case_id, number))
    return Case(
        case_id,
        community,
        kind,
        "screening",
        opener.key,
        NOW,
        members=[CaseMember(opener, "reporter"), CaseMember(other, "party", {"seen": "no"})],
        space=f"room-{case_id}",
        data={"summary": "ça va"},
        number=number,
    )


def _commit(store: Any, key: str, *writes: Any) -> None:
    assert store.apply(Changes(at=NOW, event_key=key, writes=list(writes))) is not None


def test_case_records_are_written_with_the_turn_and_read_back(backend: Backend) -> None:
    store: Any = backend.store
    report = _a_case(store, "report", ANA, BOB)
    mediation = _a_case(store, "mediation", BOB, ANA)
    assert (report.id, report.number, mediation.id, mediation.number) == (1, 1, 2, 1)
    mediation.mediator = MOD.key
    _commit(
        store,
        "e1",
        save_case(report, NOW),
        save_case(mediation, NOW),
        store.cases.add_text(report.id, ANA.key, "report", "what happened", False, NOW),
        store.cases.add_text(report.id, BOB.key, "reply", "my side", True, NOW),
        add_audit(report.id, ANA.key, "opened", "against 123", NOW),
        add_invitation(C, BOB.key, ANA.key, mediation.id, NOW),
        add_block(C, MOD.key, BOB.key, NOW),
    )
    report.status, report.data = "closed", {"outcome": "warned"}  # saved by a later turn
    _commit(store, "e2", save_case(report, NOW + timedelta(hours=1)))
    cases = backend.reopen().cases  # type: ignore[attr-defined]
    loaded = cases.load(C, report.id)
    assert loaded == report and loaded.shown == 1 and not loaded.is_open
    assert cases.load("elsewhere", report.id) is None
    assert cases.find(C, "mediation", 1) == mediation
    assert cases.find(C, "report", 2) is None
    assert cases.by_space(C, f"room-{mediation.id}") == mediation
    assert [c.id for c in cases.of_member(C, ANA.key)] == [report.id, mediation.id]
    assert [c.id for c in cases.listing(C, "report")] == [report.id]
    assert cases.mediator_load(C, MOD.key) == 1
    assert [(t.author, t.kind, t.text, t.shared) for t in cases.texts(report.id)] == [
        (ANA.key, "report", "what happened", False),
        (BOB.key, "reply", "my side", True),
    ]
    assert cases.audit(report.id) == [(NOW, ANA.key, "opened", "against 123")]
    assert cases.invitations_since(C, NOW, requester=BOB.key) == 1
    assert cases.invitations_since(C, NOW + timedelta(seconds=1), target=ANA.key) == 0
    assert cases.refused(C, BOB.key, MOD.key, NOW)  # blocked
    assert not cases.refused(C, BOB.key, ANA.key, NOW)
    _commit(backend.store, "e3", set_invitation(mediation.id, ANA.key, "declined"))
    assert backend.reopen().cases.refused(C, BOB.key, ANA.key, NOW)  # type: ignore[attr-defined]


def test_case_numbers_count_per_kind_above_the_highest(backend: Backend) -> None:
    store: Any = backend.store
    first = _a_case(store, "report", ANA, BOB)
    _commit(store, "e1", save_case(first, NOW))
    assert store.cases.peek_numbers(C, "report") == (2, 2)
    assert store.cases.peek_numbers(C, "appeal") == (2, 1)
    # Looking takes nothing: a turn that fails before its commit leaves no gap.
    assert backend.reopen().cases.peek_numbers(C, "report") == (2, 2)  # type: ignore[attr-defined]


def test_numbers_claimed_by_another_commit_fail_the_whole_commit(backend: Backend) -> None:
    """Two turns looked at the same next number; the first commit takes it, the second
    writes nothing at all (not even its event id), so its turn can run again."""
    store: Any = backend.store
    case_id, number = store.cases.peek_numbers(C, "report")
    mine, theirs = (
        Case(case_id, C, "report", "received", who.key, NOW, members=[], number=number)
        for who in (ANA, BOB)
    )
    claim = ClaimCaseNumbers(C, "report", case_id, number)
    _commit(store, "first", claim, save_case(theirs, NOW))
    late = Changes(
        at=NOW,
        event_key="second",
        outbox=[(C, Say(Place.direct(ANA), "your report is number 1"))],
        writes=[claim, save_case(mine, NOW)],
    )
    with pytest.raises(Conflict):
        store.apply(late)
    reopened: Any = backend.reopen()  # type: ignore[attr-defined]
    assert not reopened.seen("second") and reopened.pending_outbox() == []
    loaded = reopened.cases.load(C, case_id)
    assert loaded is not None and loaded.opened_by == BOB.key
    assert reopened.cases.peek_numbers(C, "report") == (case_id + 1, number + 1)


def test_a_crash_leaves_no_case_record(backend: Backend) -> None:
    store: Any = backend.store
    case = _a_case(store, "report", ANA, BOB)
    broken = Changes(
        at=NOW,
        event_key="e1",
        outbox=[(C, Say(Place.direct(ANA), {"unstorable"}))],  # type: ignore[arg-type]
    )
    broken.writes = [save_case(case, NOW), add_audit(case.id, ANA.key, "opened", "", NOW)]
    with pytest.raises(TypeError):
        store.apply(broken)
    cases = backend.reopen().cases  # type: ignore[attr-defined]
    assert cases.load(C, case.id) is None and cases.audit(case.id) == []


@pytest.mark.parametrize("keep_open", [True, False], ids=["keep-open", "erase-open"])
def test_erasure_in_case_records_is_exact(backend: Backend, keep_open: bool) -> None:
    store: Any = backend.store
    closed = _a_case(store, "report", ANA, BOB)
    closed.status = "closed"
    still_open = _a_case(store, "mediation", BOB, ANA)
    _commit(
        store,
        "e1",
        save_case(closed, NOW),
        save_case(still_open, NOW),
        store.cases.add_text(closed.id, ANA.key, "report", "ana closed", False, NOW),
        store.cases.add_text(still_open.id, ANA.key, "statement", "ana open", False, NOW),
        store.cases.add_text(still_open.id, BOB.key, "statement", "bob open", False, NOW),
        store.cases.add_text(still_open.id, "telegram:1234", "statement", "look-alike", False, NOW),
        add_audit(still_open.id, ANA.key, "joined", "with 12 and 123", NOW),
        add_audit(still_open.id, BOB.key, "noted", "1234 and 123", NOW),
        add_invitation(C, BOB.key, ANA.key, still_open.id, NOW),
    )
    _commit(store, "e2", forget_member(C, ANA.key, keep_open))
    cases = backend.reopen().cases  # type: ignore[attr-defined]
    expected = [(ERASED, "ana open")] if keep_open else []
    assert [(t.author, t.text) for t in cases.texts(still_open.id)] == [
        *expected,
        (BOB.key, "bob open"),
        ("telegram:1234", "look-alike"),
    ]
    # Her report's texts go with her (she reported it); nobody else's text is touched.
    assert cases.texts(closed.id) == []
    assert cases.of_member(C, ANA.key) == []
    assert [c.id for c in cases.of_member(C, BOB.key)] == [closed.id, still_open.id]
    kept = cases.load(C, still_open.id)
    ana_now = kept.others(BOB.key)[0]
    assert (ana_now.member, ana_now.role) == (MemberRef("", "", ""), "party")
    assert cases.load(C, closed.id).opened_by == ERASED
    assert [(actor, detail) for _, actor, _, detail in cases.audit(still_open.id)] == [
        (ERASED, ERASED),
        (BOB.key, "1234 and 123"),
    ]
    assert cases.invitations_since(C, NOW, requester=BOB.key) == 0


def test_erasure_in_one_community_leaves_anothers_cases_as_they_are(backend: Backend) -> None:
    """Ana erases her data in one community; her report, statements and name in the
    other's cases stay theirs (each community keeps its own records)."""
    store: Any = backend.store
    mine = _a_case(store, "report", ANA, BOB)
    mine.status = "closed"
    _commit(store, "e0", save_case(mine, NOW))
    theirs = _a_case(store, "report", ANA, BOB, community="other")
    theirs.status = "closed"
    _commit(
        store,
        "e1",
        save_case(theirs, NOW),
        store.cases.add_text(mine.id, ANA.key, "report", "said here", False, NOW),
        store.cases.add_text(theirs.id, ANA.key, "report", "said there", False, NOW),
        add_audit(theirs.id, ANA.key, "reported", "by 12", NOW),
        add_audit(mine.id, ANA.key, "reported", "by 12", NOW),
    )
    _commit(store, "e2", forget_member(C, ANA.key, True))
    cases = backend.reopen().cases  # type: ignore[attr-defined]
    assert cases.texts(mine.id) == [] and cases.load(C, mine.id).opened_by == ERASED
    assert [(t.author, t.text) for t in cases.texts(theirs.id)] == [(ANA.key, "said there")]
    kept = cases.load("other", theirs.id)
    assert kept.opened_by == ANA.key and kept.member(ANA.key) is not None
    assert [(actor, detail) for _, actor, _, detail in cases.audit(theirs.id)] == [
        (ANA.key, "by 12")
    ]
    assert [(actor, detail) for _, actor, _, detail in cases.audit(mine.id)] == [(ERASED, ERASED)]


def test_retention_keeps_finished_cases_as_counts_only(backend: Backend) -> None:
    store: Any = backend.store
    old, current = _a_case(store, "report", ANA, BOB), _a_case(store, "report", BOB, ANA)
    old.status = "closed"
    _commit(
        store,
        "e1",
        save_case(old, NOW),
        save_case(current, NOW),
        store.cases.add_text(old.id, ANA.key, "report", "old text", False, NOW),
        store.cases.add_text(current.id, BOB.key, "report", "current text", False, NOW),
        add_audit(old.id, ANA.key, "closed", "warned 123", NOW),
    )
    assert store.purge(C, NOW + timedelta(days=1)) == 1 + 0  # one text; no old conversation
    cases = backend.reopen().cases  # type: ignore[attr-defined]
    purged = cases.load(C, old.id)
    assert (purged.kind, purged.status, purged.opened_by, purged.members) == (
        "report",
        "closed",
        "",
        [],
    )
    assert purged.data == {} and purged.space is None
    assert cases.texts(old.id) == [] and cases.audit(old.id) == [(NOW, "", "closed", "")]
    assert [t.text for t in cases.texts(current.id)] == ["current text"]


def _count(metric: str, n: int = 1, day: str = "2026-01-05", language: str = "en") -> AddCount:
    return AddCount(C, day, metric, "telegram", language, n)


def test_health_counts_add_up_with_their_turn_and_only_once(backend: Backend) -> None:
    """An administrator's report would count a join twice if a re-delivered event added
    again, or count a turn that never happened if a failed commit kept its numbers."""
    store: Any = backend.store
    _commit(store, "e1", _count("joins"), _count("joins", language="es"))
    _commit(store, "e2", _count("joins", 2), _count("joins", day="2026-01-04"))
    again = Changes(at=NOW, event_key="e2", writes=[_count("joins", 5)])
    assert store.apply(again) is None  # a re-delivery adds nothing
    broken = Changes(
        at=NOW,
        event_key="e3",
        outbox=[(C, Say(Place.direct(ANA), {"unstorable"}))],  # type: ignore[arg-type]
        writes=[_count("joins", 7)],
    )
    with pytest.raises(TypeError):
        store.apply(broken)
    _commit(store, "e4", AddCount("elsewhere", "2026-01-05", "joins", "telegram", "en", 9))
    reopened: Any = backend.reopen()
    assert reopened.health_counts(C, "2026-01-05") == [
        ("2026-01-05", "joins", "telegram", "en", 3),
        ("2026-01-05", "joins", "telegram", "es", 1),
    ]
    assert [row[-1] for row in reopened.health_counts(C, "2026-01-01")] == [1, 3, 1]
    assert reopened.health_counts(C, "2026-01-06") == []
    # What a report will read, counted before it is read.
    assert [reopened.health_count_rows(C, day) for day in ("2026-01-04", "2026-01-05")] == [3, 2]
    assert reopened.health_count_rows(C, "2026-01-06") == 0


# --- linked accounts -----------------------------------------------------------------

ON_DISCORD = MemberRef("discord", "555", "Ana")
ON_MATRIX = MemberRef("matrix", "@ana:example.org", "Ana")


def _issue(store: Any, key: str, code_hash: str, member: MemberRef, at: datetime) -> None:
    write = IssueLinkCode(
        C,
        code_hash,
        member.key,
        iso(at),
        iso(at + timedelta(minutes=5)),
        iso(at - timedelta(hours=1)),
    )
    _commit(store, key, write)


def test_a_linking_code_is_taken_once_and_a_late_claim_writes_nothing(backend: Backend) -> None:
    store: Any = backend.store
    _issue(store, "e1", "hash-1", ANA, NOW)
    code = backend.reopen().links.code(C, "hash-1")  # type: ignore[attr-defined]
    assert code is not None and code.member == ANA.key and code.claimed_by is None
    assert code.expires_at == NOW + timedelta(minutes=5) and not code.burnt
    store = backend.store
    until = iso(NOW + timedelta(minutes=15))
    _commit(store, "e2", ClaimLinkCode(C, "hash-1", ON_DISCORD.key, iso(NOW), until))
    # Another member looked at the same code before that commit: theirs writes nothing.
    late = Changes(
        at=NOW,
        event_key="e3",
        outbox=[say(BOB, "linked")],
        writes=[ClaimLinkCode(C, "hash-1", BOB.key, iso(NOW), until)],
    )
    with pytest.raises(Conflict):
        store.apply(late)
    store = backend.reopen()
    assert not store.seen("e3") and store.pending_outbox() == []
    code = store.links.code(C, "hash-1")  # type: ignore[attr-defined]
    assert code is not None and code.claimed_by == ON_DISCORD.key
    assert code.expires_at == NOW + timedelta(minutes=15)
    # The same hash drawn again while the code lives: the commit fails, the turn draws anew.
    with pytest.raises(Conflict):
        _issue(store, "e4", "hash-1", BOB, NOW)
    assert not store.seen("e4")


def test_burnt_and_expired_codes_cannot_be_claimed(backend: Backend) -> None:
    store: Any = backend.store
    _issue(store, "e1", "seen-in-public", ANA, NOW)
    _issue(store, "e2", "another-of-hers", ANA, NOW)
    _issue(store, "e3", "old", BOB, NOW - timedelta(minutes=10))
    _issue(store, "e4", "bobs", BOB, NOW)
    _commit(store, "e5", BurnLinkCodes(C, "seen-in-public", ANA.key))
    store = backend.reopen()
    assert store.links.code(C, "seen-in-public").burnt  # type: ignore[attr-defined]
    assert store.links.code(C, "another-of-hers").burnt  # type: ignore[attr-defined]
    assert not store.links.code(C, "bobs").burnt  # type: ignore[attr-defined]
    until = iso(NOW + timedelta(minutes=15))
    for number, code_hash in enumerate(("seen-in-public", "old")):
        with pytest.raises(Conflict):
            _commit(
                store, f"c{number}", ClaimLinkCode(C, code_hash, ON_DISCORD.key, iso(NOW), until)
            )
    assert store.links.codes_since(C, BOB.key, NOW - timedelta(minutes=30)) == 2  # type: ignore[attr-defined]
    assert store.links.codes_since(C, BOB.key, NOW - timedelta(minutes=1)) == 1  # type: ignore[attr-defined]
    # Codes issued before the rate window go when the member asks again.
    _issue(store, "e6", "new", BOB, NOW + timedelta(hours=2))
    assert store.links.code(C, "old") is None and store.links.code(C, "new") is not None  # type: ignore[attr-defined]
    _commit(store, "e7", DropLinkCode(C, "new"))
    assert backend.reopen().links.code(C, "new") is None  # type: ignore[attr-defined]


def test_linked_accounts_are_one_group_and_unlinking_is_immediate(backend: Backend) -> None:
    store: Any = backend.store
    _commit(
        store,
        "e1",
        SetLink(C, ANA.key, "p1", False, iso(NOW)),
        SetLink(C, ON_DISCORD.key, "p1", True, iso(NOW)),
        SetLink(C, BOB.key, "p2", False, iso(NOW)),
        SetLink(C, MOD.key, "p2", False, iso(NOW)),
    )
    _commit(store, "e2", SetLink(C, ON_MATRIX.key, "p1", False, iso(NOW + timedelta(hours=1))))
    links: Any = backend.reopen().links  # type: ignore[attr-defined]
    accounts = links.accounts(C, ON_DISCORD.key)
    assert [(a.member, a.share_cases) for a in accounts] == [
        (ON_DISCORD.key, True),
        (ANA.key, False),
        (ON_MATRIX.key, False),
    ]
    assert links.accounts("elsewhere", ANA.key) == [] and links.accounts(C, "test:x") == []
    _commit(backend.store, "e3", RemoveLink(C, ON_MATRIX.key))
    links = backend.reopen().links  # type: ignore[attr-defined]
    assert [a.member for a in links.accounts(C, ANA.key)] == [ON_DISCORD.key, ANA.key]
    assert links.accounts(C, ON_MATRIX.key) == []
    # The last but one leaves: the one left alone is linked to nothing either.
    _commit(backend.store, "e4", RemoveLink(C, ANA.key))
    links = backend.reopen().links  # type: ignore[attr-defined]
    assert links.accounts(C, ON_DISCORD.key) == []
    assert [a.member for a in links.accounts(C, BOB.key)] == [BOB.key, MOD.key]


def test_a_members_turn_reads_their_rows_as_stored_when_it_claims_them(backend: Backend) -> None:
    """A store that reads the member's rows with their claim (PostgreSQL) gives the
    turn what a plain read gives: whether its event was handled, their state, profile
    and linked accounts, in order, and nothing for a member it has never seen; a turn
    that runs again reads afresh."""
    store: Any = backend.store
    turn = a_turn("e1")
    turn.writes = [
        SetLink(C, ANA.key, "p1", False, iso(NOW)),
        SetLink(C, ON_DISCORD.key, "p1", True, iso(NOW + timedelta(hours=1))),
        SetLink(C, ON_MATRIX.key, "p1", False, iso(NOW + timedelta(hours=1))),
    ]
    assert store.apply(turn) is not None
    assert store.claim_member(C, ANA.key, "e1")
    assert store.seen("e1")  # a re-delivery: its turn does not run
    accounts = [(a.member, a.share_cases) for a in store.links.accounts(C, ANA.key)]
    assert accounts == [(ANA.key, False), (ON_DISCORD.key, True), (ON_MATRIX.key, False)]
    assert store.load_conversation(C, ANA.key) == {"step": "welcome"}
    assert store.load_profile(C, ANA.key) == profile_of(ANA)
    _commit(store, "e2", RemoveLink(C, ON_MATRIX.key))  # as a turn running again sees it
    assert [a.member for a in store.links.accounts(C, ANA.key)] == [ANA.key, ON_DISCORD.key]
    store.release_member(C, ANA.key)
    assert store.claim_member(C, BOB.key, "e3")
    assert not store.seen("e3")
    assert store.links.accounts(C, BOB.key) == []
    assert store.load_conversation(C, BOB.key) is None
    assert store.load_profile(C, BOB.key) is None
    store.release_member(C, BOB.key)


def test_erasure_takes_the_members_links_and_codes_and_nobody_elses(backend: Backend) -> None:
    store: Any = backend.store
    _issue(store, "e1", "anas", ANA, NOW)
    _issue(store, "e2", "bobs", BOB, NOW)
    _issue(store, "e3", "claimed-by-ana", MOD, NOW)
    until = iso(NOW + timedelta(minutes=15))
    _commit(
        store,
        "e4",
        ClaimLinkCode(C, "claimed-by-ana", ANA.key, iso(NOW), until),
        SetLink(C, ANA.key, "p1", False, iso(NOW)),
        SetLink(C, ON_DISCORD.key, "p1", False, iso(NOW)),
        SetLink(C, ON_MATRIX.key, "p1", False, iso(NOW)),
        SetLink(C, BOB.key, "p2", False, iso(NOW)),
        SetLink(C, MOD.key, "p2", False, iso(NOW)),
    )
    _commit(store, "e5", forget_member(C, ANA.key, keep_open_cases=False))
    store = backend.reopen()
    links: Any = store.links  # type: ignore[attr-defined]
    assert links.code(C, "anas") is None and links.code(C, "claimed-by-ana") is None
    assert links.code(C, "bobs") is not None
    assert links.accounts(C, ANA.key) == []
    assert [a.member for a in links.accounts(C, ON_DISCORD.key)] == [ON_DISCORD.key, ON_MATRIX.key]
    assert [a.member for a in links.accounts(C, BOB.key)] == [BOB.key, MOD.key]


# Ana's three accounts linked, and Bob's two.
_ANA_AND_BOB = (
    SetLink(C, ANA.key, "p1", False, iso(NOW)),
    SetLink(C, ON_DISCORD.key, "p1", False, iso(NOW)),
    SetLink(C, ON_MATRIX.key, "p1", False, iso(NOW)),
    SetLink(C, BOB.key, "p2", False, iso(NOW)),
    SetLink(C, MOD.key, "p2", False, iso(NOW)),
)


def test_a_disclosure_shows_one_cases_moderators_the_linked_accounts_until_withdrawn(
    backend: Backend,
) -> None:
    store: Any = backend.store
    _commit(store, "e1", *_ANA_AND_BOB)
    _commit(
        store,
        "e2",
        ShareLinks(C, 7, ANA.key, (ON_DISCORD.key, ON_MATRIX.key), iso(NOW)),
        ShareLinks(C, 8, ANA.key, (ON_DISCORD.key,), iso(NOW)),
        ShareLinks(C, 9, BOB.key, (MOD.key,), iso(NOW)),
    )
    links: Any = backend.reopen().links  # type: ignore[attr-defined]
    assert [(d.member, d.account) for d in links.disclosures(C, 7)] == [
        (ANA.key, ON_DISCORD.key),
        (ANA.key, ON_MATRIX.key),
    ]
    assert links.disclosures(C, 6) == [] and links.disclosures("elsewhere", 7) == []
    assert [(d.case_id, d.account) for d in links.disclosures_of(C, ON_DISCORD.key)] == [
        (7, ON_DISCORD.key),
        (8, ON_DISCORD.key),
    ]
    # Shared again for one case: what is shown is replaced, not added to.
    _commit(backend.store, "e3", ShareLinks(C, 7, ANA.key, (ON_MATRIX.key,), iso(NOW)))
    links = backend.reopen().links  # type: ignore[attr-defined]
    assert [d.account for d in links.disclosures(C, 7)] == [ON_MATRIX.key]
    # Withdrawn from the other account for one case, then everywhere.
    _commit(backend.store, "e4", UnshareLinks(C, ON_DISCORD.key, 8))
    links = backend.reopen().links  # type: ignore[attr-defined]
    assert links.disclosures(C, 8) == [] and len(links.disclosures(C, 7)) == 1
    _commit(backend.store, "e5", UnshareLinks(C, ANA.key, None))
    links = backend.reopen().links  # type: ignore[attr-defined]
    assert links.disclosures(C, 7) == [] and links.disclosures_of(C, ANA.key) == []
    assert [d.member for d in links.disclosures(C, 9)] == [BOB.key]  # Bob's untouched


def test_unlinking_or_erasure_withdraws_what_was_shared_at_once(backend: Backend) -> None:
    store: Any = backend.store
    _commit(
        store,
        "e1",
        *_ANA_AND_BOB,
        ShareLinks(C, 7, ANA.key, (ON_DISCORD.key, ON_MATRIX.key), iso(NOW)),
        ShareLinks(C, 9, BOB.key, (MOD.key,), iso(NOW)),
    )
    _commit(store, "e2", RemoveLink(C, ON_MATRIX.key))
    links: Any = backend.reopen().links  # type: ignore[attr-defined]
    assert [d.account for d in links.disclosures(C, 7)] == [ON_DISCORD.key]
    # Linked again later: what was withdrawn does not come back with the link.
    _commit(backend.store, "e3", SetLink(C, ON_MATRIX.key, "p1", False, iso(NOW)))
    links = backend.reopen().links  # type: ignore[attr-defined]
    assert [d.account for d in links.disclosures(C, 7)] == [ON_DISCORD.key]
    _commit(backend.store, "e4", forget_member(C, ON_DISCORD.key, keep_open_cases=False))
    links = backend.reopen().links  # type: ignore[attr-defined]
    assert links.disclosures(C, 7) == [] and links.disclosures_of(C, ANA.key) == []
    # Bob's group loses its last but one account: nothing of it is shown either.
    _commit(backend.store, "e5", RemoveLink(C, MOD.key))
    links = backend.reopen().links  # type: ignore[attr-defined]
    assert links.disclosures(C, 9) == []


def test_a_members_communities_are_those_where_they_have_a_profile(backend: Backend) -> None:
    store = backend.store
    assert store.communities_of(ANA.key) == []
    for community, event in (("river", "e1"), ("forest", "e2")):
        store.apply(Changes(at=NOW, event_key=event, profiles={(community, ANA.key): {"n": 1}}))
    store.apply(Changes(at=NOW, event_key="e3", profiles={("river", BOB.key): {"n": 2}}))
    store = backend.reopen()
    assert store.communities_of(ANA.key) == ["forest", "river"]
    assert store.communities_of(BOB.key) == ["river"]
    store.apply(Changes(at=NOW, event_key="e4", writes=[forget_member("forest", ANA.key, True)]))
    assert store.communities_of(ANA.key) == ["river"]  # forgotten in one, kept in the other


def test_a_lease_is_one_holders_until_let_go_or_expired(backend: Backend) -> None:
    """Two processes never both poll Telegram (or both send for one bot token): the
    lease is one holder's; a holder that stops renewing it loses it to another."""
    store = backend.store
    assert store.lease_holder("poll:telegram") is None
    assert store.hold_lease("poll:telegram", "first", 30)
    assert not store.hold_lease("poll:telegram", "second", 30)
    assert store.hold_lease("poll:telegram", "first", 30)  # renewed by its holder
    assert store.hold_lease("send:telegram", "second", 30)  # another lease, another holder
    store.release_lease("poll:telegram", "second")  # not the second's to let go
    store = backend.reopen()  # as another process sees them
    assert store.lease_holder("poll:telegram") == "first"
    assert store.lease_holder("send:telegram") == "second"
    store.release_lease("poll:telegram", "first")  # stopping: the next takes it at once
    assert store.lease_holder("poll:telegram") is None
    assert store.hold_lease("poll:telegram", "second", 30)
    assert store.hold_lease("send:telegram", "second", -1)  # renewed too late: expired
    assert store.lease_holder("send:telegram") is None
    assert store.hold_lease("send:telegram", "first", 30)
    assert not store.hold_lease("send:telegram", "second", 30)


def test_the_backlog_is_counted_per_platform(backend: Backend) -> None:
    store = backend.store
    assert store.waiting() == {}
    items = store.apply(a_turn("e1")) or []
    assert store.waiting() == {"telegram": 2}
    store.mark_sent(items[0].id, NOW)
    assert store.waiting() == {"telegram": 1}


def test_a_process_takes_only_the_communities_it_delivers_for(backend: Backend) -> None:
    """A Discord process whose shards carry one community's servers never takes the
    other community's Discord actions (it could not deliver them); other platforms'
    actions are not filtered by community."""
    dana = MemberRef("discord", "7", "Dana")
    turn = Changes(
        at=NOW,
        event_key="e1",
        outbox=[
            ("north", Say(Place.direct(dana), "north")),
            ("south", Say(Place.direct(dana), "south")),
            ("south", Say(Place.direct(ANA), "south on telegram")),
        ],
    )
    assert backend.store.apply(turn) is not None
    store = backend.reopen()

    def texts(**only: Any) -> list[str]:
        items = store.pending_outbox(**only)
        for item in items:  # on a shared store: free for the next look
            store.release(item.id)
        return [item.action.text for item in items]  # type: ignore[union-attr]

    assert texts(communities={"discord": {"north"}}) == ["north", "south on telegram"]
    assert texts(platforms={"discord"}, communities={"discord": {"south"}}) == ["south"]
    assert texts(communities={"discord": set()}) == ["south on telegram"]
    assert texts() == ["north", "south", "south on telegram"]


def test_dropped_waiting_actions_never_go_out_and_the_rest_wait_on(backend: Backend) -> None:
    store = backend.store
    items = store.apply(a_turn("e1", ANA, "ana")) or []
    store.apply(a_turn("e2", BOB, "bob"))
    for item in items:
        store.release(item.id)  # left for another process to send (a shared store)

    def to_ana(action: object) -> bool:
        return isinstance(action, Say) and action.to == Place.direct(ANA)

    kept = items[1].id
    assert store.drop_waiting("telegram", to_ana, keep=[kept]) == 1
    assert store.drop_waiting("matrix", to_ana) == 0  # another platform's: untouched
    left = backend.reopen().pending_outbox()
    assert [i.action.text for i in left] == ["ana 2", "bob 1", "bob 2"]  # type: ignore[union-attr]
    assert "ana 1" not in " ".join(backend.stored_actions())
