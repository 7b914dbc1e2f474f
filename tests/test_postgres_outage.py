"""The PostgreSQL server lost while Concord runs (``pg_ctl stop -m fast`` on a real
cluster of the test's own, then started again): turns, deliveries and timers wait
for it with backoff, logging one line, and when it is back every member has each
reply exactly once, in order, as one process on SQLite gives them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from bot.app import build_engine
from bot.config.community import Config
from bot.core.clock import ManualClock
from bot.core.errors import StoreUnavailable
from bot.core.events import Event
from bot.engine.engine import Engine
from bot.store.postgres.connection import PgConnection
from tests.conftest import RecordingAdapter, joined, says
from tests.postgres_server import OWNER, Cluster, own_cluster, reap_abandoned
from tests.test_engine import ONBOARDING_ANSWERS

MEMBERS = [f"m{i}" for i in range(16)]
MENTOR = "(a mentor, or none free)"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    yield from own_cluster()


def events_of(name: str) -> list[Event]:
    return [joined(name), *(says(name, answer) for answer in ONBOARDING_ANSWERS)]


def replies(adapter: RecordingAdapter, name: str) -> list[str]:
    """A member's replies; whether a mentor is free, and who, depends on how members
    interleave, so that one line stands for any mentor answer."""
    return [MENTOR if "mentor" in text else text for text in adapter.texts(name)]


async def feed(engine: Engine, events: list[Event], gate: asyncio.Event | None) -> None:
    """One member's events in order, each delivered twice (as platforms re-deliver);
    with a gate, the second half only once the gate opens (when the server stops)."""
    for number, event in enumerate(events):
        if gate is not None and number == len(events) // 2:
            await gate.wait()
        await engine.handle(event)
        await engine.handle(event)
        await asyncio.sleep(0.01)  # events arrive over time, not all at once


async def test_a_lost_server_loses_and_repeats_nothing_when_it_returns(
    config: Config, cluster: Cluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    scripts = {name: events_of(name) for name in MEMBERS}
    alone, expected = build_engine(config, tmp_path / "one.db", ManualClock()), RecordingAdapter()
    alone.add_adapter(expected)
    for name in MEMBERS:
        for event in scripts[name]:
            await alone.handle(event)
    alone.services.store.close()

    clock, adapter = ManualClock(), RecordingAdapter()
    engine = build_engine(config, cluster.new_database(), clock)
    engine.add_adapter(adapter)
    retry = asyncio.create_task(engine.retry_outbox(timedelta(seconds=0.2)))
    try:
        async with asyncio.timeout(120):
            # Half the members write all along (their turns meet the stop midway), half
            # write again only once the server is going (their events meet it away).
            stopping = asyncio.Event()
            feeding = [
                asyncio.create_task(feed(engine, scripts[n], stopping if i % 2 else None))
                for i, n in enumerate(MEMBERS)
            ]
            while len(adapter.sent) < len(expected.sent) // 4:
                await asyncio.sleep(0.005)
            stop = asyncio.create_task(asyncio.to_thread(cluster.stop, "fast"))
            stopping.set()
            await stop
            await asyncio.sleep(1.0)
            assert engine.outage.down and not all(task.done() for task in feeding)
            await asyncio.to_thread(cluster.start)
            await asyncio.gather(*feeding)
            await engine.flush_outbox()
            for name in MEMBERS:
                assert replies(adapter, name) == replies(expected, name), name
            # Every committed action delivered (the replies above: each once), and its
            # row gone with its mark: none left pending, none set aside.
            store = engine.services.store
            assert store.pending_outbox() == []
            rows = store._conn.execute("SELECT count(*) FROM outbox").fetchone()
            assert rows is not None and rows[0] == 0

            # A reminder due while the server is away fires once it is back, once.
            await engine.handle(joined("late"))
            welcomed = len(adapter.texts("late"))
            await asyncio.to_thread(cluster.stop, "fast")
            clock.advance(timedelta(days=3))
            timers = asyncio.create_task(engine.run_timers())
            await asyncio.sleep(1.0)
            assert not timers.done()
            await asyncio.to_thread(cluster.start)
            while store.due_timers(clock.now()):
                await asyncio.sleep(0.05)
            await engine.flush_outbox()
            timers.cancel()
            reminded = adapter.texts("late")
            assert len(reminded) > welcomed
            assert await engine.fire_due_timers() == 0 and adapter.texts("late") == reminded
    finally:
        retry.cancel()
        with contextlib.suppress(BaseException):
            await retry
        engine.services.store.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.engine.outage"]
    assert lines.count("the database is back") == 2
    went = [line for line in lines if line.startswith("the database went away")]
    assert len(went) == 2 and all("s3cret" not in line for line in went)
    assert not any(name in line for line in lines for name in MEMBERS)


def test_a_session_the_server_ended_before_its_socket_closed_is_a_lost_server(
    cluster: Cluster,
) -> None:
    """A pipeline that meets a shutdown while busy: psycopg raises "cannot exit pipeline
    mode while busy" from the server's "terminating connection" (SQLSTATE 57P01) before
    the connection counts as broken (seen in a run of the outage test above). That is a
    lost server too: StoreUnavailable, the engine's signal to wait it out, and the next
    call connects again."""
    url = cluster.new_database()
    conn = PgConnection(url, psycopg.connect(url, autocommit=True))
    lost: list[bool] = []
    conn.on_lost.append(lambda: lost.append(True))
    try:
        with pytest.raises(StoreUnavailable), conn.lost_server():
            try:
                raise psycopg.errors.AdminShutdown("terminating connection")
            except psycopg.Error as shutdown:
                raise psycopg.OperationalError("cannot exit pipeline mode while busy") from shutdown
        assert lost == [True]
        assert conn.execute("SELECT 1").fetchone() == (1,)  # a new session
        with pytest.raises(psycopg.errors.SyntaxError), conn.lost_server():
            conn.execute("SELEC 1")  # any other error stays what it is
    finally:
        conn.close()


def test_a_cluster_left_by_a_killed_test_run_is_stopped_and_removed_by_the_next(
    cluster: Cluster, postgres_cluster: Cluster
) -> None:
    """A test run killed before its end leaves its server running (started apart by
    ``pg_ctl``) and its folder, a gigabyte, behind: the next run's first cluster stops
    and removes it. A running test run's cluster (this session's) is left alone."""
    ended = subprocess.Popen(["true"])
    ended.wait()  # a process id that belongs to nobody now
    (cluster.folder / OWNER).write_text(str(ended.pid))
    psycopg.connect(cluster.new_database()).close()  # it serves
    assert reap_abandoned(cluster.bin_dir, cluster.as_user) == [cluster.folder]
    assert not cluster.folder.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(cluster.url("postgres"), connect_timeout=5)
    assert postgres_cluster.folder.exists()
    psycopg.connect(postgres_cluster.new_database()).close()
