"""What one turn costs on PostgreSQL, for the paper limit of one server (README,
"Running several processes"): statements and transactions per handled event, events a
second of one process, and the loopback round trip. Starts a throwaway cluster as the
tests do (Debian's ``postgresql`` package). Run: ``python bench/postgres_turn.py``."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import build_engine  # noqa: E402
from bot.config.community import load_config  # noqa: E402
from bot.core.clock import ManualClock  # noqa: E402
from bot.store.postgres.connection import PgConnection  # noqa: E402
from tests.conftest import RecordingAdapter, joined, says  # noqa: E402
from tests.postgres_server import own_cluster  # noqa: E402
from tests.test_engine import ONBOARDING_ANSWERS  # noqa: E402

COUNTS = {"statements": 0, "transactions": 0}


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


async def turns(url: str, members: int) -> tuple[int, float]:
    engine = build_engine(load_config(ROOT / "community" / "concord.yaml"), url, ManualClock())
    engine.services.store._conn.__class__ = Counted  # type: ignore[attr-defined]
    engine.add_adapter(RecordingAdapter())
    COUNTS.update(statements=0, transactions=0)
    handled, started = 0, time.perf_counter()
    for i in range(members):
        name = f"m{i}"
        for event in [joined(name), *(says(name, answer) for answer in ONBOARDING_ANSWERS)]:
            await engine.handle(event)
            handled += 1
    took = time.perf_counter() - started
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
        handled, took = asyncio.run(turns(url, 50))
        trip = round_trip(url)
    per = {k: v / handled for k, v in COUNTS.items()}
    print(f"events handled: {handled} (onboarding of 50 members), one process")
    print(f"statements per event: {per['statements']:.1f}, transactions: {per['transactions']:.2f}")
    print(f"events a second: {handled / took:.0f} ({took / handled * 1e3:.2f} ms each)")
    print(f"loopback round trip (SELECT 1): {trip * 1e6:.0f} us")
    waits = (per["statements"] + 2) * trip
    print(
        f"round trips per turn: {waits * 1e3:.2f} ms, at most {1 / waits:.0f} turns/s a connection"
    )


if __name__ == "__main__":
    main()
