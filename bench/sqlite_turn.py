"""Where a turn's SQLite time goes: each kind of statement's count and time per event,
and the pages each commit writes to the write-ahead log, by table or index.

N members walk the example onboarding (step-major, as ``bench/engine.py`` does) through
the real engine and its SQLite store; the store's connection is wrapped to time every
statement. Then a further 2,000 events are handled with the log's checkpoints held
back, and the log's frames are read and named by the b-tree their page belongs to
(SQLite's ``dbstat`` table, where the library has it).
Run: ``python bench/sqlite_turn.py [--members 3000]`` (from the repository root)."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import struct
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from concord_runs import concord_updates, make_engine  # noqa: E402

FRAME_HEADER, WAL_HEADER = 24, 32


class TimedConnection:
    """A sqlite3 connection whose statements are counted and timed, by their text."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.spent: defaultdict[str, list[float]] = defaultdict(lambda: [0, 0.0])

    def _note(self, sql: str, started: float) -> None:
        entry = self.spent[" ".join(sql.split())[:100]]
        entry[0] += 1
        entry[1] += time.perf_counter() - started

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
        started = time.perf_counter()
        cursor = self._conn.execute(sql, parameters)
        self._note(sql, started)
        return cursor

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        started = time.perf_counter()
        cursor = self._conn.executemany(sql, rows)
        self._note("(many) " + sql, started)
        return cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def frames_by_tree(log: bytes, page_size: int, owners: dict[int, str]) -> tuple[int, Counter[str]]:
    """The commits in a write-ahead log and its frames, counted by the b-tree of their page."""
    commits, frames = 0, Counter[str]()
    offset = WAL_HEADER
    while offset + FRAME_HEADER + page_size <= len(log):
        page, size_after_commit = struct.unpack(">II", log[offset : offset + 8])
        frames[
            owners.get(
                page,
                "page 1 (the header)"
                if page == 1
                else "a page free by the end (freed by a deletion)",
            )
        ] += 1
        commits += size_after_commit != 0
        offset += FRAME_HEADER + page_size
    return commits, frames


async def walk(members: int, folder: Path) -> None:
    engine, _ = make_engine(folder, "concord.db", durable=False)
    store = engine.services.store
    timed = TimedConnection(store._conn)
    store._conn = timed
    events = 0
    for event in concord_updates(members):
        await engine.handle(event)
        events += 1
    total = sum(spent for _, spent in timed.spent.values())
    count = sum(n for n, _ in timed.spent.values())
    print(
        f"{events:,} events: SQLite {total / events * 1e6:.1f} µs per event,"
        f" {count / events:.2f} statements"
    )
    ranked = sorted(timed.spent.items(), key=lambda item: -item[1][1])
    for sql, (n, spent) in ranked[:16]:
        print(
            f"  {n / events:5.2f} per event, {spent / n * 1e6:6.1f} µs each,"
            f" {spent / events * 1e6:6.1f} µs per event: {sql}"
        )

    store._conn = timed._conn
    checkpoints = store._checkpoints
    if checkpoints is not None:  # held back, so the log keeps every frame written below
        checkpoints.stop()
        store._checkpoints = None
    store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for event in concord_updates(200, offset=members):
        await engine.handle(event)
    log = (folder / "concord.db-wal").read_bytes()
    page_size = int(store._conn.execute("PRAGMA page_size").fetchone()[0])
    try:
        owners = dict(store._conn.execute("SELECT pageno, name FROM dbstat"))
    except sqlite3.OperationalError:
        owners = {}  # this SQLite has no dbstat: the pages stay unnamed
    commits, frames = frames_by_tree(log, page_size, owners)
    print(
        f"log pages written by {commits:,} commits (200 new members' walks):"
        f" {sum(frames.values()) / max(commits, 1):.2f} per commit"
    )
    for name, n in frames.most_common():
        print(f"  {n / max(commits, 1):5.2f} {name}")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=3000)
    members = parser.parse_args().members
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(walk(members, Path(folder)))


if __name__ == "__main__":
    main()
