"""Reliability: crashes at random moments, and events delivered more than once.

What is guaranteed, precisely:

* Incoming events: each event id is handled at most once. Its effects (the id in the
  inbox, the new conversation state, the outgoing actions) are committed in one
  transaction, so after a crash an event is either wholly handled or not at all, and a
  re-delivery of a handled event (same id, at any time within the inbox's week, even
  after newer events or a restart) changes nothing and sends nothing.
* Outgoing actions: each committed action is delivered at least once, in order per
  member. The engine marks an action sent only after the adapter returned, so an
  action the adapter accepted just before a crash is handed to the adapter again
  after the restart. The engine hands the adapter an idempotency key made from the
  outbox item (``Adapter.deliver(action, idempotency_key)``); an adapter whose
  platform takes one (a transaction id, a nonce) turns that into exactly-once as seen
  by members. The
  crash test's adapter does so, and the test checks both halves: repeats did happen
  and were each the actions of the one event being delivered at a kill (an event's
  replies are marked together, before anything else goes out), and after dropping
  them by id every member saw exactly the replies of an uninterrupted run, none lost,
  none twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config.community import Config
from bot.core.actions import NotifyModerators
from bot.core.clock import ManualClock
from bot.core.events import MemberLeft, TimerFired
from bot.engine.engine import Engine
from tests.conftest import (
    COMMUNITY,
    RecordingAdapter,
    chooses,
    command,
    joined,
    member,
    new_engine,
    says,
)
from tests.crash_loader import member_events, read_log

ROOT = Path(__file__).parents[1]
MEMBERS = 60
KILLS = 24


# --- crash test -----------------------------------------------------------------------


def _loader(database: Path, log: Path, *extra: str) -> subprocess.Popen[str]:
    command_line = [sys.executable, "-m", "tests.crash_loader", "--db", str(database)]
    command_line += ["--log", str(log), "--members", str(MEMBERS), *extra]
    return subprocess.Popen(
        command_line, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finish(process: subprocess.Popen[str]) -> None:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0 and out.split() == ["ready", "done"], err[-3000:]


def _recipient(action_json: str) -> str:
    data = json.loads(action_json)
    if "to" in data:
        return str(data["to"]["id"])
    if "member" in data:
        return str(data["member"]["id"])
    return str(data["type"])


def _by_recipient(delivered: list[tuple[int, str]]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = defaultdict(list)
    for _, action in delivered:
        result[_recipient(action)].append(action)
    return dict(result)


def _table(database: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as conn:
        return list(conn.execute(sql))


@pytest.mark.parametrize("durability", ["normal", "strict"])
def test_sigkill_at_random_moments_loses_and_repeats_nothing(
    tmp_path: Path, durability: str
) -> None:
    """60 members onboard in a loader process killed 24 times (16 times at a random
    moment, 8 times right after a delivery); each run re-delivers every event. In the
    end each member got exactly the replies of an uninterrupted run, in order, each
    outbox item shown once; the only repeats were actions in flight at a kill, and the
    adapter dropped them by outbox id. In strict mode the events of concurrent members
    commit together: a kill before such a commit loses all of them (and the sent marks
    riding with it), never a part of one."""
    # The expected replies: one run that nobody interrupts.
    reference_db, reference_log = tmp_path / "reference.db", tmp_path / "reference.log"
    _finish(_loader(reference_db, reference_log))
    expected, repeats = read_log(reference_log)
    assert repeats == [] and len(expected) > MEMBERS * 15

    database, log = tmp_path / "crash.db", tmp_path / "crash.log"
    mode = ("--durability", durability)
    rng = random.Random(20261124)
    kills = injected = runs = amid_work = 0
    while kills < KILLS:
        runs += 1
        assert runs < 3 * KILLS, "the loader finished its work before enough kills"
        if runs % 3 == 0:
            # Killed by itself right after a delivery, before it is marked sent.
            process = _loader(database, log, *mode, "--die-after", str(rng.randint(1, 25)))
            _, err = process.communicate(timeout=120)
            assert process.returncode in (0, -signal.SIGKILL), err[-3000:]
            if process.returncode == -signal.SIGKILL:
                kills += 1
                injected += 1
                amid_work += len(read_log(log)[0]) < len(expected)
            continue
        process = _loader(database, log, *mode, "--seed", str(runs))
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.06))  # anywhere: flushing, handling, delivering
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        _, err = process.communicate(timeout=120)
        assert process.returncode in (0, -signal.SIGKILL), err[-3000:]
        if process.returncode == -signal.SIGKILL:
            amid_work += len(read_log(log)[0]) < len(expected)
    _finish(_loader(database, log, *mode))  # and the last run completes
    # Most kills came while replies remained to be sent (a fast run may finish the
    # work before the last few: those kills still test a restart with nothing new).
    assert amid_work >= KILLS // 2, amid_work

    delivered, repeated = read_log(log)
    numbers = [number for number, _ in delivered]
    assert len(numbers) == len(set(numbers)), "an outbox item was shown twice"
    # Every member saw exactly what an uninterrupted run shows, in the same order.
    assert _by_recipient(delivered) == _by_recipient(expected)
    # At-least-once, observed: every self-inflicted kill left its last delivery
    # unmarked, and it was handed over again after the restart, with at most the
    # actions delivered before it for the same event; nothing else ever was.
    groups = _repeat_groups(log)
    assert injected <= len(groups) <= kills
    assert set(repeated) <= set(numbers)
    recipients = {number: _recipient(action) for number, action in delivered}
    for group in groups:
        # One event's actions are consecutive outbox rows. A restart repeats, for each
        # member, the actions of one event at most (normal mode: of one member, whose
        # event's commit carries the marks; strict: of each member in the lost batch).
        by_member = defaultdict(set)
        for number in group:
            by_member[recipients[number]].add(number)
        assert durability == "strict" or len(by_member) == 1, group
        for numbers in by_member.values():
            ids = sorted(numbers)
            assert ids == list(range(ids[0], ids[0] + len(ids))), group
            assert len(ids) <= MAX_ACTIONS_OF_ONE_STEP, group
    # The database agrees: everything committed was delivered, and every member's
    # conversation and profile ended exactly where the uninterrupted run's did.
    assert _table(database, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == [(0,)]
    # Delivered rows are gone, and the ids they had stay given: every run reserved its
    # ids past the last block (a repeated id would have been dropped as a repeat above).
    assert _table(database, "SELECT count(*) FROM outbox") == [(0,)]
    [(next_id,)] = _table(database, "SELECT value FROM counters WHERE name = 'ids:next'")
    assert isinstance(next_id, int) and max(numbers) < next_id
    assert _table(database, "SELECT count(*) FROM inbox") == [(MEMBERS * 10,)]
    for table in ("conversations", "profiles"):
        sql = f"SELECT member, {'state' if table == 'conversations' else 'profile'} FROM {table}"
        assert sorted(_table(database, sql)) == sorted(_table(reference_db, sql)), table
    print(
        f"{runs + 1} runs, {kills} kills ({injected} right after a delivery,"
        f" {amid_work} while replies remained), "
        f"{len(repeated)} repeats dropped by outbox id, {len(delivered)} actions"
    )


# The most actions one onboarding step sends (the agreement: thanks, the role, the
# interests question).
MAX_ACTIONS_OF_ONE_STEP = 4


def _repeat_groups(log: Path) -> list[list[int]]:
    """Outbox ids handed over again, in runs of consecutive ``R`` lines: what one
    restart repeated."""
    groups: list[list[int]] = []
    previous = ""
    for line in log.read_text(errors="replace").split("\n")[:-1]:
        kind, _, rest = line.partition(" ")
        if kind == "R":
            if previous != "R":
                groups.append([])
            groups[-1].append(int(rest))
        previous = kind
    return groups


# --- the real `concord chat`, killed while it works -------------------------------------

CHAT_MEMBERS = {"ana": "2", "bo": "3", "cy": "1"}  # and the language each chooses
CHAT_ANSWERS = ("1", "1", "1", "1", "1", "1", "1 3", "2")
SYNC = "!!"  # not console syntax: its error line marks the end of the answer before it


def _chat_lines() -> list[tuple[str, str]]:
    lines = [(name, f"{name} joins") for name in CHAT_MEMBERS]
    for step in range(len(CHAT_ANSWERS) + 1):
        for name, language in CHAT_MEMBERS.items():
            answer = language if step == 0 else CHAT_ANSWERS[step - 1]
            lines.append((name, f"{name}> {answer}"))
    return lines


class Chat:
    """``concord chat`` in a child process, fed one line at a time."""

    def __init__(self, database: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "adapters.cli", "chat", "--db", str(database)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        banner = [self._readline(), self._readline()]
        assert banner[0].startswith("Concord console"), banner
        self.opening = self.send(None)  # what the restart delivered

    def _readline(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline()

    def send(self, line: str | None) -> list[str]:
        """Type ``line`` (None: nothing) and return everything printed in answer."""
        assert self.process.stdin is not None
        self.process.stdin.write((f"{line}\n" if line is not None else "") + f"{SYNC}\n")
        self.process.stdin.flush()
        out = []
        while not (text := self._readline()).startswith("? not understood"):
            assert text, "concord chat ended"
            out.append(text.rstrip("\n"))
        return out

    def kill_while(self, line: str, delay: float) -> list[str]:
        """Type ``line`` and SIGKILL the process ``delay`` seconds later."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{line}\n")
        self.process.stdin.flush()
        time.sleep(delay)
        self.process.send_signal(signal.SIGKILL)
        rest, _ = self.process.communicate(timeout=60)
        # print() writes a message, then its newline: a kill between the two leaves a
        # whole message without the newline, which counts as printed.
        printed = rest.split("\n")
        return printed[:-1] if printed[-1] == "" else printed

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


def _messages(lines: list[str]) -> list[tuple[str, str]]:
    """Console output as (recipient, whole message) pairs."""
    found: list[tuple[str, str]] = []
    for text in lines:
        if text.startswith("bot → "):
            where, _, said = text[len("bot → ") :].partition(": ")
            found.append((where, said))
        elif text.startswith("* "):
            found.append((text[2:].split(" ", 1)[0], text))
        elif found and (text.startswith("    ") or not text):
            where, said = found[-1]
            found[-1] = (where, f"{said}\n{text}")
    return found


def _state(database: Path, name: str) -> str | None:
    rows = _table(database, f"SELECT state FROM conversations WHERE member = 'console:{name}'")
    return str(rows[0][0]) if rows else None


def test_concord_chat_killed_mid_conversation_resumes_at_the_right_step(tmp_path: Path) -> None:
    """A SIGKILLed ``concord chat`` loses nothing committed and repeats at most the
    replies to one line, printed but not marked sent yet; every conversation resumes
    where its database says, which is where the uninterrupted run was after the same
    lines."""
    lines = _chat_lines()
    reference_db = tmp_path / "reference.db"
    chat = Chat(reference_db)
    expected: list[tuple[str, str]] = []
    states: dict[str, list[str | None]] = {name: [None] for name in CHAT_MEMBERS}
    for name, line in lines:
        expected += _messages(chat.send(line))
        states[name].append(_state(reference_db, name))
    chat.close()

    database = tmp_path / "crash.db"
    rng = random.Random(7)
    kill_at = set(rng.sample(range(len(lines)), 8))
    got: list[list[tuple[str, str]]] = []  # what each run printed
    chat = Chat(database)
    progress = dict.fromkeys(CHAT_MEMBERS, 0)
    index = committed = 0
    while index < len(lines):
        name, line = lines[index]
        if index not in kill_at:
            got.append(_messages(chat.send(line)))
            progress[name] += 1
            index += 1
            continue
        kill_at.discard(index)
        got.append(_messages(chat.kill_while(line, rng.uniform(0.0, 0.15))))
        chat = Chat(database)
        got.append(_messages(chat.opening))
        # The line was handled wholly or not at all; the database says which.
        now = _state(database, name)
        done = progress[name]
        assert now in (states[name][done], states[name][done + 1]), (line, now)
        if now == states[name][done + 1] and now != states[name][done]:
            progress[name] += 1
            index += 1  # committed before the kill: typing it again would be a new message
            committed += 1
        for other in CHAT_MEMBERS:
            assert _state(database, other) == states[other][progress[other]]
    chat.close()

    repeats = restarts_repeating = 0
    for name in CHAT_MEMBERS:
        want = [said for where, said in expected if where == name]
        runs = [[said for where, said in run if where == name] for run in got]
        seen: list[str] = []
        for run in runs:
            # Printed just before a kill (replies to one line), printed again on restart.
            again = _printed_again(seen, run)
            repeats += again
            restarts_repeating += bool(again)
            seen += run[again:]
        assert seen == want, name
    assert restarts_repeating <= 8
    print(
        f"8 kills: {committed} after the line was committed, {8 - committed} before;"
        f" {repeats} replies printed again"
    )


def _printed_again(seen: list[str], run: list[str]) -> int:
    """How many of a run's first messages are the last ones seen before it."""
    for count in range(min(len(seen), len(run), MAX_ACTIONS_OF_ONE_STEP), 0, -1):
        if run[:count] == seen[-count:]:
            return count
    return 0


def test_a_durable_store_syncs_every_commit(tmp_path: Path) -> None:
    """Marking an action sent skips its own fsync, never the commits that follow."""
    from bot.store.sqlite import SQLiteStore
    from bot.store.types import Changes

    store = SQLiteStore(tmp_path / "durable.db", durable=True)
    try:
        clock = ManualClock()
        [item] = store.apply(
            Changes(at=clock.now(), outbox=[(COMMUNITY, NotifyModerators("test", "hi"))])
        ) or [None]
        assert item is not None
        store.mark_sent(item.id, clock.now())
        assert store.pending_outbox() == []
        assert _table_of(store, "PRAGMA synchronous") == [(2,)]  # FULL
    finally:
        store.close()


def _table_of(store: object, sql: str) -> list[tuple[object, ...]]:
    return list(store._conn.execute(sql))  # type: ignore[attr-defined]


def test_crash_loader_events_have_stable_ids() -> None:
    first = [event.event_id for event in member_events(7)]
    assert first == [event.event_id for event in member_events(7)]
    assert first[0] == "m007:0" and len(set(first)) == len(first) == 10


# --- duplicates -----------------------------------------------------------------------


def _step(engine: Engine, name: str) -> tuple[str, str] | None:
    state = engine.services.store.load_conversation(COMMUNITY, f"test:{name}")
    if not state or not state["frames"]:
        return None
    top = state["frames"][-1]
    return top["dialog"], top["step"]


async def _twice(engine: Engine, adapter: RecordingAdapter, event: object) -> None:
    """Handle ``event`` twice: the first changes something, the second nothing."""
    assert await engine.handle(event) is True  # type: ignore[arg-type]
    sent = len(adapter.sent)
    name = event.member.id  # type: ignore[attr-defined]
    before = engine.services.store.load_conversation(COMMUNITY, f"test:{name}")
    profile = engine.services.store.load_profile(COMMUNITY, f"test:{name}")
    assert await engine.handle(event) is False  # type: ignore[arg-type]
    assert len(adapter.sent) == sent
    assert engine.services.store.load_conversation(COMMUNITY, f"test:{name}") == before
    assert engine.services.store.load_profile(COMMUNITY, f"test:{name}") == profile


async def test_every_kind_of_event_twice_is_handled_once(
    engine: Engine, adapter: RecordingAdapter, clock: ManualClock
) -> None:
    await _twice(engine, adapter, joined("ana"))
    assert _step(engine, "ana") == ("onboarding", "choose_language")
    await _twice(engine, adapter, chooses("ana", "es"))
    assert _step(engine, "ana") == ("onboarding", "walkthrough")
    await _twice(engine, adapter, says("ana", "1"))
    await _twice(engine, adapter, command("ana", "/coc 2"))
    assert _step(engine, "ana") == ("coc", "more")
    await _twice(engine, adapter, command("ana", "/help"))
    await _twice(engine, adapter, MemberLeft("left-1", COMMUNITY, member("ana")))
    # A timer: the onboarding reminder, two days on.
    clock.advance(timedelta(days=2, minutes=1))
    [due] = engine.services.store.due_timers(clock.now())
    sent = len(adapter.sent)
    assert await engine.fire_due_timers() == 1
    assert len(adapter.sent) > sent
    fired = TimerFired(
        f"timer:{due.id}", due.community, due.member, kind=due.kind, payload=due.payload
    )
    await_again = await engine.handle(fired, timer_id=due.id)
    assert await_again is False
    assert await engine.fire_due_timers() == 0
    assert engine.services.store.due_timers(clock.now()) == []


async def test_an_old_event_after_newer_ones_is_ignored(
    engine: Engine, adapter: RecordingAdapter
) -> None:
    events = [joined("ana"), says("ana", "1"), says("ana", "1"), says("ana", "2")]
    for event in events:
        assert await engine.handle(event) is True
    step, sent = _step(engine, "ana"), len(adapter.sent)
    state = engine.services.store.load_conversation(COMMUNITY, "test:ana")
    # A platform replays older updates, out of order, after the newer ones.
    for old in (events[1], events[0], events[2], events[1]):
        assert await engine.handle(old) is False
    assert _step(engine, "ana") == step and len(adapter.sent) == sent
    assert engine.services.store.load_conversation(COMMUNITY, "test:ana") == state


async def test_after_a_replay_of_older_events_the_next_ones_go_on_from_what_is_stored(
    config: Config, tmp_path: Path, clock: ManualClock
) -> None:
    """A replayed event's turn runs on the member's conversation as the engine holds
    it (its id is found in the inbox only when the turn commits): whatever that turn
    did to the conversation must be gone, so the member's next messages are answered
    exactly as if no replay had come."""
    adapter, reference_adapter = RecordingAdapter(), RecordingAdapter()
    engine = new_engine(config, tmp_path / "replayed.db", clock, adapter)
    reference = new_engine(config, tmp_path / "reference.db", clock, reference_adapter)
    try:
        first = [joined("ana"), chooses("ana", "es"), says("ana", "1")]
        later = [says("ana", "1"), says("ana", "2"), command("ana", "/help")]
        for event in first:
            assert await engine.handle(event) is True
            await reference.handle(event)
        for old in (first[2], first[1], first[2]):  # each would move her on, replayed
            assert await engine.handle(old) is False
        for event in later:
            assert await engine.handle(event) is True
            await reference.handle(event)
        assert adapter.sent == reference_adapter.sent
        assert _step(engine, "ana") == _step(reference, "ana")
        assert engine.services.store.load_profile(
            COMMUNITY, "test:ana"
        ) == reference.services.store.load_profile(COMMUNITY, "test:ana")
    finally:
        engine.services.store.close()
        reference.services.store.close()


async def test_the_same_event_twice_at_the_same_moment_is_handled_once(
    config: Config, tmp_path: Path, clock: ManualClock
) -> None:
    adapter, single = RecordingAdapter(), RecordingAdapter()
    engine = new_engine(config, tmp_path / "twice.db", clock, adapter)
    reference = new_engine(config, tmp_path / "once.db", clock, single)
    try:
        events = [joined("ana"), says("ana", "2"), says("ana", "1"), command("ana", "/coc 3")]
        for event in events:
            results = await asyncio.gather(engine.handle(event), engine.handle(event))
            assert sorted(results) == [False, True]
            await reference.handle(event)
        assert adapter.sent == single.sent
        for store_a, store_b in [(engine.services.store, reference.services.store)]:
            assert store_a.load_conversation(COMMUNITY, "test:ana") == store_b.load_conversation(
                COMMUNITY, "test:ana"
            )
            assert store_a.load_profile(COMMUNITY, "test:ana") == store_b.load_profile(
                COMMUNITY, "test:ana"
            )
    finally:
        engine.services.store.close()
        reference.services.store.close()


async def test_re_delivery_after_a_restart_and_days_later_is_ignored(
    config: Config, database: Path, clock: ManualClock
) -> None:
    adapter = RecordingAdapter()
    first = new_engine(config, database, clock, adapter)
    events = [joined("ana"), says("ana", "1"), chooses("ana", "next"), command("ana", "/help")]
    for event in events:
        await first.handle(event)
    first.services.store.close()

    again = RecordingAdapter()
    second = new_engine(config, database, clock, again)
    try:
        clock.advance(timedelta(days=6))
        second.housekeeping()  # prunes inbox ids older than a week: these are younger
        for event in events:
            assert await second.handle(event) is False
        assert again.sent == []
    finally:
        second.services.store.close()


async def test_the_timer_loop_stops_when_cancelled_as_it_wakes(engine: Engine) -> None:
    """Shutting down cancels the timer loop; a cancellation that arrives just as a new
    timer wakes the loop must still stop it (Python 3.11's ``wait_for`` would swallow
    it, and the loop would go on using a store that is being closed)."""
    task = asyncio.create_task(engine.run_timers())
    await asyncio.sleep(0.01)
    engine.timers.wakeup.set()  # an event just scheduled a timer
    task.cancel()  # and at that moment the process shuts down
    await asyncio.sleep(0.05)
    assert task.cancelled()


# Actions marked sent: the join (the one event) commits two, the welcome and the
# first question; those no longer in the outbox were marked sent.
_MARKED_SENT = "SELECT 2 * (SELECT count(*) FROM inbox) - (SELECT count(*) FROM outbox)"


def test_a_reply_counts_as_sent_only_once_it_left_the_process(tmp_path: Path) -> None:
    """With output to a pipe (block-buffered), ``concord chat`` SIGKILLed after it marked
    replies sent: every reply marked sent had reached the pipe."""
    database = tmp_path / "chat.db"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    process = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "chat", "--db", str(database)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    sent = 0
    try:
        assert process.stdin is not None
        process.stdin.write("ana joins\n")
        process.stdin.flush()
        deadline = time.monotonic() + 30
        while sent < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            with contextlib.suppress(sqlite3.OperationalError):  # not created yet
                sent = int(_table(database, _MARKED_SENT)[0][0])
    finally:
        process.send_signal(signal.SIGKILL)
        printed, _ = process.communicate(timeout=60)
    assert sent == 2, "the welcome and the first question were marked sent"
    shown = _messages(printed.splitlines())
    assert len([m for m in shown if m[0] == "ana"]) >= sent, printed
