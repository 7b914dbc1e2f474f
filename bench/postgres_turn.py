"""What one turn costs on PostgreSQL, for the paper limit of one server (README,
"Running several processes"): statements, transactions and round trips (the client
waiting for the server) per handled event, events a second of one process, and the
loopback round trip. Starts a throwaway cluster as the
tests do (Debian's ``postgresql`` package). Run: ``python bench/postgres_turn.py``."""

from __future__ import annotations

import asyncio
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
    it sent: each statement sent alone ends with a Sync; statements sent together in a
    pipeline end with one Sync, or a Flush where a result is read before it (a Flush
    right after a Sync is part of that same wait)."""
    sent = [line.split("\t")[2] for line in trace.splitlines() if line.startswith("F\t")]
    return sum(
        1
        for i, message in enumerate(sent)
        if message == "Sync" or (message == "Flush" and (i == 0 or sent[i - 1] != "Sync"))
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


async def turns(url: str, members: int, first: int = 0, traced: bool = False) -> tuple[int, float]:
    """Members ``first`` to ``first + members`` walk the onboarding; with ``traced``,
    the statements, transactions and round trips are counted (libpq's trace of what
    the client sent: slower, so not timed)."""
    engine = build_engine(load_config(ROOT / "community" / "concord.yaml"), url, ManualClock())
    engine.services.store._conn.__class__ = Counted  # type: ignore[attr-defined]
    engine.add_adapter(RecordingAdapter())
    COUNTS.update({"statements": 0, "transactions": 0, "round trips": 0})
    pgconn = engine.services.store._conn.raw.pgconn  # type: ignore[attr-defined]
    with tempfile.TemporaryFile("w+") as trace:
        if traced:
            pgconn.trace(trace.fileno())
            pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        handled, started = 0, time.perf_counter()
        for i in range(first, first + members):
            name = f"m{i}"
            for event in [joined(name), *(says(name, answer) for answer in ONBOARDING_ANSWERS)]:
                await engine.handle(event)
                handled += 1
        took = time.perf_counter() - started
        if traced:
            pgconn.untrace()
            trace.seek(0)
            COUNTS["round trips"] = round_trips(trace.read())
    engine.services.store.close()
    return handled, took


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
    with cluster_url() as url:
        counted, _ = asyncio.run(turns(url, 10, traced=True))
        per = {k: v / counted for k, v in COUNTS.items()}
        handled, took = asyncio.run(turns(url, 50, first=10))
        trip = round_trip(url)
    print(f"events handled: {handled} (onboarding of 50 members), one process")
    print(
        f"per event (onboarding of 10 members, counted apart): statements"
        f" {per['statements']:.1f}, transactions {per['transactions']:.2f},"
        f" round trips {per['round trips']:.1f}"
    )
    print(f"events a second: {handled / took:.0f} ({took / handled * 1e3:.2f} ms each)")
    print(f"loopback round trip (SELECT 1): {trip * 1e6:.0f} us")
    waits = per["round trips"] * trip
    print(
        f"round trips per turn: {waits * 1e3:.2f} ms, at most {1 / waits:.0f} turns/s a connection"
    )


if __name__ == "__main__":
    main()
