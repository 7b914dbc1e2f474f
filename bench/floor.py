"""The floor: the same walk as a dict state machine writing one SQLite UPSERT per step."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from measuring import Timings, proc_status, result, timed_loop
from workload import STEPS, WARM_MEMBERS


def run_floor(n: int, folder: Path, full: bool) -> dict[str, Any]:
    """N members walk 10 steps, one UPSERT and one reply string each (full: synchronous=FULL)."""
    import sqlite3

    replies = [f"reply {step}" for step in range(STEPS)]
    sent: list[str] = []

    def setup(path: Path) -> tuple[sqlite3.Connection, dict[int, int], Callable[[Any], None]]:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={'FULL' if full else 'NORMAL'}")
        conn.execute("CREATE TABLE conv (member INTEGER PRIMARY KEY, step INTEGER, data TEXT)")
        upsert = (
            "INSERT INTO conv VALUES (?, ?, ?) ON CONFLICT(member) DO UPDATE"
            " SET step = excluded.step, data = excluded.data"
        )
        states: dict[int, int] = {}
        dumps = json.dumps

        def feed(update: tuple[int, str]) -> None:
            member, text = update
            step = states.get(member, -1) + 1
            states[member] = step
            conn.execute(upsert, (member, step, dumps({"last": text})))
            sent.append(replies[step])

        return conn, states, feed

    def updates(count: int, offset: int = 0) -> Iterator[tuple[int, str]]:
        for step in range(STEPS):
            text = "join" if step == 0 else "1"
            for member in range(offset, offset + count):
                yield member, text

    conn, _, warm_feed = setup(folder / "warm-floor.db")
    for update in updates(WARM_MEMBERS):
        warm_feed(update)
    conn.close()
    sent.clear()
    conn, states, feed = setup(folder / "floor.db")
    timings = Timings(n * STEPS)
    gc.collect()
    base = proc_status()["VmRSS"]

    async def afeed(update: tuple[int, str]) -> None:
        feed(update)

    elapsed, cpu = asyncio.run(timed_loop(afeed, updates(n), timings))
    assert len(sent) == n * STEPS and all(s == STEPS - 1 for s in states.values())
    res = result(
        "floor-sqlite" + ("-full" if full else ""),
        n,
        n * STEPS,
        elapsed,
        cpu,
        base,
        timings,
        {"replies": len(sent)},
    )
    conn.close()
    return res
