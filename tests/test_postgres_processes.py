"""Several Concord processes on one PostgreSQL database (a real cluster the suite
starts, tests/postgres_server.py): a member's turns taken by one process at a time,
outbox rows delivered by the one process that claimed them, a due timer fired once,
and what a killed process held passing to the others."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from bot.app import build_engine
from bot.config.community import Config
from bot.core.actions import Say, ScheduleTimer
from bot.core.clock import ManualClock
from bot.core.errors import StoreUnavailable
from bot.core.events import Event, MemberRef, Place
from bot.engine import timers
from bot.engine.delivery import Outbox
from bot.engine.engine import Engine
from bot.store.postgres.connection import PgConnection
from bot.store.postgres.store import PostgresStore
from bot.store.turn_writes import write_timers
from bot.store.types import Changes, TimerRow
from tests.conftest import RecordingAdapter, command, joined, says
from tests.test_engine import ONBOARDING_ANSWERS

ROOT = Path(__file__).resolve().parents[1]
C = "example"
ANA = MemberRef("test", "ana", "Ana")
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def two_stores(postgres_url: str, tmp_path: Path) -> Iterator[tuple[PostgresStore, ...]]:
    stores = tuple(PostgresStore(postgres_url, path=tmp_path / "x.db") for _ in range(2))
    yield stores
    for store in stores:
        store.close()


def _close_and_wait(store: PostgresStore) -> None:
    """Close the store (the process ends) and wait until the server has ended its
    session, so what it held is free (the server does this just after the close)."""
    pid = store._raw.info.backend_pid
    store.close()
    with psycopg.connect(store.url, autocommit=True) as conn:
        deadline = time.monotonic() + 30
        while conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            assert time.monotonic() < deadline, "the closed session never ended"
            time.sleep(0.02)


def a_turn(key: str, *texts: str) -> Changes:
    return Changes(at=NOW, event_key=key, outbox=[(C, Say(Place.direct(ANA), t)) for t in texts])


def test_a_member_is_taken_by_one_process_at_a_time(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    first, second = two_stores
    assert first.claim_member(C, ANA.key)
    assert not second.claim_member(C, ANA.key)  # Ana's turn runs in the first process
    assert second.claim_member(C, "test:bob")  # everyone else goes on
    assert second.claim_member("another community", ANA.key)
    first.release_member(C, ANA.key)  # committed: her next turn may run anywhere
    assert second.claim_member(C, ANA.key)
    assert not first.claim_member(C, ANA.key)


def test_outbox_rows_go_out_through_the_process_that_claimed_them(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    first, second = two_stores
    items = first.apply(a_turn("e1", "one", "two")) or []
    assert [i.id for i in first.pending_outbox()] == [i.id for i in items]
    assert second.pending_outbox() == []  # the first is delivering them
    first.mark_sent(items[0].id, NOW)
    first.mark_failed(items[1].id, "timed out")  # retried by the first, in order
    assert second.pending_outbox() == []
    assert [i.id for i in first.pending_outbox()] == [items[1].id]
    _close_and_wait(first)  # the process ends: what it held passes on
    assert [i.id for i in second.pending_outbox()] == [items[1].id]


def test_two_processes_retrying_share_the_backlog_without_overlap(
    postgres_url: str, tmp_path: Path, two_stores: tuple[PostgresStore, PostgresStore]
) -> None:
    crashed = PostgresStore(postgres_url, path=tmp_path / "x.db")
    committed = [i.id for n in range(5) for i in crashed.apply(a_turn(f"e{n}", "a", "b")) or []]
    _close_and_wait(crashed)  # it died before delivering anything
    first, second = two_stores
    taken_first = [i.id for i in first.pending_outbox(limit=4)]
    taken_second = [i.id for i in second.pending_outbox()]
    assert taken_first == committed[:4] and taken_second == committed[4:]


def test_a_killed_process_releases_its_member_and_rows(
    postgres_url: str, tmp_path: Path, two_stores: tuple[PostgresStore, PostgresStore]
) -> None:
    survivor = two_stores[0]
    script = textwrap.dedent(
        f"""
        import sys, time
        from datetime import UTC, datetime
        from bot.core.actions import Say
        from bot.core.events import MemberRef, Place
        from bot.store.postgres.store import PostgresStore
        from bot.store.types import Changes
        store = PostgresStore(sys.argv[1], path=sys.argv[2])
        ana = MemberRef("test", "ana", "Ana")
        assert store.claim_member({C!r}, ana.key)
        at = datetime(2026, 1, 5, tzinfo=UTC)
        store.apply(Changes(at=at, event_key="k1", outbox=[({C!r}, Say(Place.direct(ana), "x"))]))
        print("holding", flush=True)
        time.sleep(600)
        """
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, postgres_url, str(tmp_path / "x.db")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        assert not survivor.claim_member(C, ANA.key) and survivor.pending_outbox() == []
    finally:
        holder.kill()  # SIGKILL: no goodbye to the server
        holder.wait()
    deadline = time.monotonic() + 30  # the server notices the closed connection at once
    while not survivor.claim_member(C, ANA.key):
        assert time.monotonic() < deadline, "the killed process's claim was never released"
        time.sleep(0.05)
    assert len(survivor.pending_outbox()) == 1


def test_a_timer_both_processes_saw_due_fires_once(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    first, second = two_stores
    first.apply(Changes(at=NOW, event_key="e1", timers=[(C, ScheduleTimer(ANA, "remind", NOW))]))
    [seen_first], [seen_second] = first.due_timers(NOW), second.due_timers(NOW)
    assert seen_first == seen_second  # both processes polled before either fired it

    def firing(timer: TimerRow, text: str) -> Changes:
        turn = a_turn(f"{C}|test|timer:{timer.id}", text)
        turn.timers_done.append(timer.id)
        return turn

    assert first.apply(firing(seen_first, "reminder")) is not None
    assert second.apply(firing(seen_second, "reminder again")) is None  # nothing written
    assert [i.action.text for i in first.pending_outbox()] == ["reminder"]  # type: ignore[union-attr]
    assert first.due_timers(NOW + timedelta(days=1)) == []


Engines = Callable[..., list[Engine]]


@pytest.fixture
def processes(config: Config, postgres_url: str) -> Iterator[Engines]:
    """Makes engines on the test database, each its own store as a process has; all
    closed at the end."""
    made: list[Engine] = []

    def make(clock: ManualClock, adapter: RecordingAdapter, count: int = 2) -> list[Engine]:
        engines = [build_engine(config, postgres_url, clock) for _ in range(count)]
        for engine in engines:
            engine.add_adapter(adapter)
        made.extend(engines)
        return engines

    yield make
    for engine in made:
        engine.services.store.close()


async def _onboard_alternating(engines: list[Engine], names: list[str]) -> None:
    """Each member's events in order, every next one handled by the next process."""
    steps: list[list[Event]] = [[joined(n) for n in names]]
    steps += [[says(n, answer) for n in names] for answer in ONBOARDING_ANSWERS]
    for number, events in enumerate(steps):
        for index, event in enumerate(events):
            assert await engines[(number + index) % len(engines)].handle(event)


async def test_two_processes_give_each_member_what_one_process_gives(
    config: Config, processes: Engines, tmp_path: Path
) -> None:
    names = [f"m{i}" for i in range(12)]
    alone, alone_adapter = (
        build_engine(config, tmp_path / "one.db", ManualClock()),
        RecordingAdapter(),
    )
    alone.add_adapter(alone_adapter)
    await _onboard_alternating([alone], names)
    alone.services.store.close()
    shared_adapter = RecordingAdapter()
    await _onboard_alternating(processes(ManualClock(), shared_adapter), names)
    for name in names:
        assert shared_adapter.texts(name) == alone_adapter.texts(name)
    assert len(shared_adapter.texts()) == len(alone_adapter.texts())


async def test_a_due_timer_fires_once_across_processes(processes: Engines) -> None:
    clock, adapter = ManualClock(), RecordingAdapter()
    first, second = processes(clock, adapter)
    await first.handle(joined("ana"))
    adapter.take()
    assert first.services.store.next_timer_due() is not None
    clock.advance(timedelta(days=3))  # the reminder is due
    assert [await first.fire_due_timers(), await second.fire_due_timers()] == [1, 0]
    reminders = adapter.texts("ana")
    assert reminders and await second.fire_due_timers() == 0
    assert adapter.texts("ana") == reminders


async def test_a_turn_waits_while_another_process_has_the_member(
    processes: Engines, two_stores: tuple[PostgresStore, PostgresStore]
) -> None:
    other, adapter = two_stores[0], RecordingAdapter()
    [engine] = processes(ManualClock(), adapter, count=1)
    assert other.claim_member(C, ANA.key)  # Ana's turn runs in another process
    waiting = asyncio.create_task(engine.handle(joined("ana")))
    await asyncio.sleep(0.2)
    assert not waiting.done() and adapter.sent == []
    assert await engine.handle(joined("bob"))  # other members go on meanwhile
    other.release_member(C, ANA.key)
    assert await waiting and adapter.texts("ana")


def test_two_processes_setting_one_timer_at_once_keep_one(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    """Both processes, starting together, set the same timer (as reminding members of a
    new code of conduct does): the second commit replaces the first, no error."""
    first, second = two_stores
    setting = Changes(at=NOW, timers=[(C, ScheduleTimer(ANA, "reacknowledge", NOW))])
    results: list[object] = []

    def set_it_too() -> None:
        try:
            results.append(second.apply(setting))
        except Exception as exc:  # shown by the assertion below, not lost in a thread
            results.append(exc)

    other = threading.Thread(target=set_it_too)
    with first._transaction() as conn:
        write_timers(conn, setting, first.SET_TIMER)
        conn.sync()  # on the server, not committed yet
        other.start()
        waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted"
        with psycopg.connect(first.url) as watcher:
            while watcher.execute(waiting).fetchone() == (0,):
                assert other.is_alive(), f"the second commit did not wait: {results}"
    other.join()
    assert results == [[]]
    [timer] = first.due_timers(NOW)
    assert (timer.member, timer.kind) == (ANA, "reacknowledge")


def _adapter(platform: str) -> RecordingAdapter:
    adapter = RecordingAdapter()
    adapter.platform = platform
    return adapter


async def test_an_action_for_a_platform_another_process_runs_goes_out_there(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    """The process running Telegram commits a turn that also tells a moderator on
    Matrix: it delivers its own part and leaves the other to the Matrix process."""
    first = two_stores[0]
    here, there = _adapter("test"), _adapter("matrix")
    this_process, matrix_process = (Outbox(s, ManualClock(), shared=True) for s in two_stores)
    this_process.add_adapter(here)
    matrix_process.add_adapter(there)
    moderator = MemberRef("matrix", "@mod:example.org", "Mod")
    turn = a_turn("e1", "thanks for your report")
    turn.outbox.append((C, Say(Place.direct(moderator), "a new report")))
    await this_process.deliver_new(first.apply(turn) or [])
    assert here.texts() == ["thanks for your report"] and there.sent == []
    assert await matrix_process.flush() == 1
    assert there.texts() == ["a new report"]
    assert first.undeliverable() == {} and first.pending_outbox() == []


async def test_what_a_dead_process_left_undelivered_goes_out_from_another(
    postgres_url: str, tmp_path: Path, two_stores: tuple[PostgresStore, PostgresStore]
) -> None:
    crashed = PostgresStore(postgres_url, path=tmp_path / "x.db")
    crashed.apply(a_turn("e1", "one", "two"))
    _close_and_wait(crashed)  # it died before delivering
    adapter = _adapter("test")
    survivor = Outbox(two_stores[0], ManualClock(), shared=True)
    survivor.add_adapter(adapter)
    retrying = asyncio.create_task(survivor.retry_forever(timedelta(seconds=0.05)))
    try:
        deadline = time.monotonic() + 30
        while adapter.texts() != ["one", "two"]:
            assert time.monotonic() < deadline, f"not delivered: {adapter.texts()}"
            await asyncio.sleep(0.02)
    finally:
        retrying.cancel()


def test_two_processes_opening_cases_at_once_never_share_a_number(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    from bot.core.errors import Conflict
    from bot.store.writes import ClaimCaseNumbers

    first, second = two_stores
    assert first.cases.peek_numbers(C, "report") == second.cases.peek_numbers(C, "report")
    claim = ClaimCaseNumbers(C, "report", 1, 1)
    results: list[object] = []

    def second_commit() -> None:
        try:
            results.append(second.apply(Changes(at=NOW, event_key="e2", writes=[claim])))
        except Conflict as exc:
            results.append(exc)

    other = threading.Thread(target=second_commit)
    with first._transaction() as conn:
        first._lock_case_numbers()
        from bot.store.case_sql import run_write

        run_write(conn, claim, first.sealer)
        conn.execute("INSERT INTO inbox VALUES ('e1', '')")
        other.start()
        with psycopg.connect(first.url) as watcher:
            waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted"
            while watcher.execute(waiting).fetchone() == (0,):
                assert other.is_alive()
    other.join()
    assert isinstance(results[0], Conflict)  # the turn runs again and takes number 2
    assert second.cases.peek_numbers(C, "report") == (2, 2)


def test_counting_the_backlog_claims_nothing(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    """Operators' backlog figure, read by a process that does not deliver those rows,
    leaves them to the one that does (the one sender of a bot token)."""
    first, second = two_stores
    for item in first.apply(a_turn("e1", "one", "two")) or []:
        first.release(item.id)  # left for the process that sends
    assert second.waiting() == {"test": 2}
    assert [i.action.text for i in first.pending_outbox()] == ["one", "two"]  # type: ignore[union-attr]


async def test_what_waited_for_a_member_who_erased_their_data_never_goes_out(
    processes: Engines, postgres_url: str, tmp_path: Path
) -> None:
    """Replies to Ana that another process committed and left for the sender are
    dropped when she erases her data: the sender then sends her nothing more, and no
    record of a message to her comes back."""
    adapter = RecordingAdapter()
    [engine] = processes(ManualClock(), adapter, count=1)
    assert await engine.handle(joined("ana"))
    waiting = PostgresStore(postgres_url, path=tmp_path / "x.db")
    left = waiting.apply(a_turn("elsewhere", "an old question", "an old reminder")) or []
    for item in left:
        waiting.release(item.id)  # left for the process that sends
    other = MemberRef("test", "bo", "Bo")
    mentor = Changes(at=NOW, event_key="for-bo", outbox=[(C, Say(Place.direct(other), "hi Bo"))])
    for item in waiting.apply(mentor) or []:
        waiting.release(item.id)
    _close_and_wait(waiting)
    adapter.take()
    assert await engine.handle(command("ana", "/forget"))
    assert await engine.handle(says("ana", "1"))
    answer = adapter.texts("ana")
    assert answer and not any("an old" in text for text in answer)
    sender = Outbox(engine.services.store, ManualClock(), shared=True)
    sender.add_adapter(adapter)
    await sender.flush()
    assert adapter.texts("ana") == answer  # nothing more for her, ever
    assert "hi Bo" in adapter.texts("bo")  # what waits for others still goes
    assert engine.services.store.pending_outbox() == []


def test_the_days_housekeeping_runs_in_one_process(
    processes: Engines, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes both due for the day's retention purge: one does it, the other
    finds it done; once the day's lease is over (a second here), it is done again."""
    monkeypatch.setattr(timers, "HOUSEKEEPING_HOURS", 1 / 3600, raising=False)
    clock = ManualClock()
    first, second = processes(clock, RecordingAdapter())
    store = first.services.store
    stale = Changes(at=clock.now() - timedelta(days=400), conversations={(C, "test:old"): {}})
    store.apply(stale)
    first.housekeeping()
    assert store.load_conversation(C, "test:old") is None  # purged
    store.apply(stale)  # (as if it had been there all along)
    second.housekeeping()
    assert store.load_conversation(C, "test:old") is not None  # not done twice that day
    time.sleep(1.5)  # the lease lapses by the database's clock
    clock.advance(timedelta(days=1))
    second.housekeeping()
    assert store.load_conversation(C, "test:old") is None


def test_marks_that_rode_with_a_commit_the_server_never_confirmed_are_kept(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delivered row's mark rides with the next turn's commit. When the server goes
    away before that commit is confirmed (here: the COMMIT never reaches it, and the
    pipeline's answer is lost), the mark is written again with the next write: the row
    is not delivered twice once the server is back."""
    store = PostgresStore(postgres_url, path=tmp_path / "x.db")
    try:
        [delivered] = store.apply(a_turn("e1", "hello")) or []
        store.mark_sent_later(delivered.id, NOW)
        conn = store._conn
        real_pipeline = conn.pipeline

        @contextlib.contextmanager
        def commit_lost() -> Iterator[PgConnection]:
            with real_pipeline():
                conn.run("BEGIN")
                yield conn
                conn.run("ROLLBACK")  # the COMMIT never reached the server

        @contextlib.contextmanager
        def answer_lost() -> Iterator[None]:
            with real_pipeline():
                yield
            raise StoreUnavailable("the connection was lost")

        monkeypatch.setattr(conn, "transaction", commit_lost)
        monkeypatch.setattr(conn, "pipeline", answer_lost)
        with pytest.raises(StoreUnavailable):
            store.apply(a_turn("e2", "next"))
        monkeypatch.undo()
        assert store.pending_outbox() == []  # "hello" was delivered: not again
    finally:
        store.close()


def _advisory_locks(store: PostgresStore) -> int:
    """How many advisory locks the store's session holds on the server."""
    row = store._raw.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    ).fetchone()
    return int(row[0]) if row else 0


def a_members_turn(key: str, step: str) -> Changes:
    turn = a_turn(key, step)
    turn.conversations[(C, ANA.key)] = {"step": step}
    return turn


def test_a_turns_commit_lets_its_member_go_and_a_redelivery_changes_nothing(
    two_stores: tuple[PostgresStore, PostgresStore],
) -> None:
    """The member's claim ends with their turn's commit (in the same wait): another
    process may take their next turn at once, and finds the committed state. A
    re-delivered event's turn writes nothing, its delivered row's mark still rides
    with it, and nothing stays claimed."""
    first, second = two_stores
    assert first.claim_member(C, ANA.key)
    [reply] = first.apply(a_members_turn("e1", "welcome")) or []
    assert second.claim_member(C, ANA.key)  # before the first process lets her go
    assert second.load_conversation(C, ANA.key) == {"step": "welcome"}
    first.release_member(C, ANA.key)  # nothing left to release: the second keeps her
    assert not first.claim_member(C, ANA.key)
    second.release_member(C, ANA.key)

    assert first.claim_member(C, ANA.key)
    first.mark_sent_later(reply.id, NOW)  # delivered; the mark rides with the next commit
    assert first.apply(a_members_turn("e1", "again")) is None  # a re-delivery
    first.release_member(C, ANA.key)
    assert second.claim_member(C, ANA.key)
    second.release_member(C, ANA.key)
    assert second.load_conversation(C, ANA.key) == {"step": "welcome"}
    assert first.pending_outbox() == [] and second.pending_outbox() == []  # not again
    assert _advisory_locks(first) == 0  # no claim left behind on the server
