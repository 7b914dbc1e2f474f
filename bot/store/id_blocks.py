"""Ids for SQLite's outbox rows and timers, handed out from blocks reserved ahead.

An outbox row's id is the idempotency key a platform sees, and a timer's id names the
event it fires in the inbox: neither may ever be given again, even after its row is
gone. SQLite's AUTOINCREMENT kept that promise by writing its counter (a page of its
own in the log) with every commit that inserted a row. Here the store reserves a block
of ids at a time instead: the first id no block has reserved yet is kept in
``counters``, written in a transaction of its own and made durable before any id of the
block is given, so a restart (or a crash, or a power cut) starts after the last block
and never hands out an id twice. Ids left in a block when the process stops are
skipped: ids have gaps, never repeats, and still grow in the order rows were made.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from bot.core.errors import StoreError

COUNTER = "ids:next"  # in counters: the first id no block has reserved
BLOCK = 16384  # ids reserved at a time: one small durable commit per 16,384 rows
_READ = "SELECT value FROM counters WHERE name = ?"
_WRITE = "UPDATE counters SET value = ? WHERE name = ?"


class IdBlocks:
    """The ids of one SQLite connection's outbox and timers (one sequence for both)."""

    def __init__(self, conn: sqlite3.Connection, make_durable: Callable[[], None]) -> None:
        self._conn = conn
        self._make_durable = make_durable  # the reservation reaches the disk before use
        # Nothing reserved yet: the first write reserves, reading the stored counter.
        self._next = self._reserved = 0

    def short_of(self, count: int) -> bool:
        """Whether ``count`` more ids need a new block first."""
        return self._next + count > self._reserved

    def reserve(self, count: int) -> None:
        """Reserve a block of at least ``count`` ids, committed and durable. Outside any
        transaction: ids are given only once their block is surely on disk. The block
        starts where the stored counter stands, if another connection (a process
        started on the same file) reserved past this one's ids."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(_READ, (COUNTER,)).fetchone()
                if row is None:
                    raise StoreError(f"the database has no {COUNTER!r} counter (not migrated)")
                first = max(self._next, int(row[0]))
                upto = first + max(count, BLOCK)
                conn.execute(_WRITE, (upto, COUNTER))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            self._make_durable()
        except (sqlite3.Error, OSError, StoreError) as exc:
            raise StoreError(f"cannot reserve ids: {exc}") from exc
        self._next, self._reserved = first, upto

    def take(self, count: int) -> range:
        """``count`` new ids, in order, from the reserved block."""
        if self.short_of(count):
            raise StoreError("ids taken before their block was reserved")
        first = self._next
        self._next += count
        return range(first, first + count)
