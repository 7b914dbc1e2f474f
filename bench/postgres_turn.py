"""What one turn costs on PostgreSQL, for the paper limit of one server (README,
"Running several processes"): statements, transactions and round trips (the client
waiting for the server) per handled event, events a second of one process and the CPU
time each takes (the process's, and its server session's), beside the same walk on a
SQLite file in the same run, and the loopback round trip. Starts a throwaway cluster as
the tests do (Debian's ``postgresql`` package).
Run: ``python bench/postgres_turn.py [--members 100]``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import build_engine  # noqa: E402
from bot.config.community import load_config  # noqa: E402
from bot.core.clock import ManualClock  # noqa: E402
from bot.store.postgres.connection import PgConnection  # noqa: E402
from tests.conftest import RecordingAdapter, joined, says  # noqa: E402
from tests.postgres_server import own_cluster  # noqa: E402
from tests.test_engine import ONBOARDING_ANSWERS  # noqa: E402

COUNTS = {"statements": 0, "transactions": 0, "round trips": 0}


def round_trips(trace: str) -> int:
    """How often the client waited for the server, from libpq's trace of the messages
    it sent: a statement sent alone with its values ends with a Sync, and so does a
    batch of statements sent together (pipeline mode); a statement in the simple
    protocol is one Query; a Flush waits for a result read before the Sync (a Flush
    right after a Sync is part of that same wait)."""
    sent = [line.split("\t")[2] for line in trace.splitlines() if line.startswith("F\t")]
    return sum(
        1
        for i, message in enumerate(sent)
        if message in ("Query", "Sync")
        or (message == "Flush" and (i == 0 or sent[i - 1] != "Sync"))
    )


class Counted(PgConnection):
    def run(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Any]:
        COUNTS["statements"] += 1
        return super().run(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> None:
        rows = list(parameters)
        COUNTS["statements"] += len(rows)
        super().executemany(sql, rows)

    def transaction(self) -> AbstractContextManager[PgConnection]:
        COUNTS["transactions"] += 1
        return super().transaction()


class Walk:
    """What a walk took: events handled, wall time, this process's CPU time and its
    PostgreSQL session's (0 on SQLite), in seconds."""

    def __init__(self, handled: int, wall: float, cpu: float, server: float) -> None:
        self.handled, self.wall, self.cpu, self.server = handled, wall, cpu, server

    def per_event_ms(self) -> tuple[float, float, float]:
        return tuple(x / self.handled * 1e3 for x in (self.wall, self.cpu, self.server))  # type: ignore[return-value]


def session_cpu(pid: int | None) -> float:
    """The CPU time of a server process on this machine (utime + stime), in seconds."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def turns(database: str, members: int, first: int = 0, traced: bool = False) -> Walk:
    """Members ``first`` to ``first + members`` walk the onboarding; with ``traced``
    (PostgreSQL), the statements, transactions and round trips are counted (libpq's
    trace of what the client sent: slower, so not timed)."""
    config = load_config(ROOT / "community" / "concord.yaml")
    engine = build_engine(config, database, ManualClock())
    engine.add_adapter(RecordingAdapter())
    console = RecordingAdapter()  # the example's mentors and moderators are on the console
    console.platform = "console"
    engine.add_adapter(console)
    store: Any = engine.services.store
    pgconn, pid = None, None
    if database.startswith("postgresql:"):
        store._conn.__class__ = Counted
        pgconn, pid = store._conn.raw.pgconn, store._conn.raw.info.backend_pid
    COUNTS.update({"statements": 0, "transactions": 0, "round trips": 0})
    with tempfile.TemporaryFile("w+") as trace:
        if traced and pgconn is not None:
            pgconn.trace(trace.fileno())
            pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        handled, server = 0, session_cpu(pid)
        started, cpu = time.perf_counter(), time.process_time()
        for i in range(first, first + members):
            name = f"m{i}"
            for event in [joined(name), *(says(name, answer) for answer in ONBOARDING_ANSWERS)]:
                await engine.handle(event)
                handled += 1
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
        server = session_cpu(pid) - server
        if traced and pgconn is not None:
            pgconn.untrace()
            trace.seek(0)
            COUNTS["round trips"] = round_trips(trace.read())
    store.close()
    return Walk(handled, took, cpu, server)


def round_trip(url: str, times: int = 2000) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(200):
            conn.execute("SELECT 1")
        started = time.perf_counter()
        for _ in range(times):
            conn.execute("SELECT 1")
        return (time.perf_counter() - started) / times


@contextmanager
def cluster_url() -> Iterator[str]:
    clusters = own_cluster()
    cluster = next(clusters)
    try:
        yield cluster.new_database()
    finally:
        clusters.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100)
    members = parser.parse_args().members
    with cluster_url() as url, tempfile.TemporaryDirectory() as folder:
        counted = asyncio.run(turns(url, 10, traced=True)).handled
        per = {k: v / counted for k, v in COUNTS.items()}
        walk = asyncio.run(turns(url, members, first=10))
        trip = round_trip(url)
        sqlite = asyncio.run(turns(str(Path(folder) / "concord.db"), members))
    print(f"events handled: {walk.handled} (onboarding of {members} members), one process")
    print(
        f"per event (onboarding of 10 members, counted apart): statements"
        f" {per['statements']:.1f}, transactions {per['transactions']:.2f},"
        f" round trips {per['round trips']:.1f}"
    )
    wall, cpu, server = walk.per_event_ms()
    print(
        f"PostgreSQL: events a second: {walk.handled / walk.wall:.0f} ({wall:.2f} ms each;"
        f" CPU {cpu:.2f} ms in the process, {server:.2f} ms in its server session)"
    )
    lite_wall, lite_cpu, _ = sqlite.per_event_ms()
    print(
        f"SQLite: events a second: {sqlite.handled / sqlite.wall:.0f} ({lite_wall:.2f} ms"
        f" each; CPU {lite_cpu:.2f} ms)"
    )
    print(
        f"PostgreSQL's cost per event against SQLite's: {wall / lite_wall:.2f}x wall time,"
        f" {(cpu + server) / lite_cpu:.2f}x CPU (process and server session),"
        f" {cpu / lite_cpu:.2f}x the process's CPU"
    )
    print(f"loopback round trip (SELECT 1): {trip * 1e6:.0f} us")
    waits = per["round trips"] * trip
    print(
        f"round trips per turn: {waits * 1e3:.2f} ms, at most {1 / waits:.0f} turns/s a connection"
    )


if __name__ == "__main__":
    main()
