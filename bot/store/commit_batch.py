"""Strict mode's shared commit: the events handled in one pass of the event loop commit
together, each inside a savepoint of one transaction.

A commit costs more than the writes of an event (the log's pages written, the locks
taken): with a hundred updates in flight, most of strict mode's cost was commits. Here
the first event's writes begin a transaction; the writes of every other event that
reaches its commit before the loop's next pass join it as a savepoint of their own (one
event failing rolls back only its own); the transaction commits at the loop's next pass,
or just before the group sync (``bot.store.group_sync``) that makes it durable,
whichever comes first, and always before anything leaves the process: replies wait for
that sync.

Writes made outside the engine's turns while a batch is open (a sent mark, a cursor)
ride with it too; a write that must be stored at once (a transaction of its own, a sent
message's record before the adapter's next call) commits the batch first, which holds
whole events only.
A batch that fails to commit is lost whole: the next sync raises, so every event that
waits for it is taken as not stored (it is never reported durable).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bot.core.errors import StoreError
from bot.store.checkpoints import WriteGate

log = logging.getLogger(__name__)


class CommitBatch:
    """The open batch of one SQLite connection in strict mode (``synchronous = FULL``
    outside it: a batch commits without waiting for the disk)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        committed: Callable[[int], None],
        gate: WriteGate,
    ) -> None:
        self._conn = conn
        self._committed = committed  # told how many events each commit carried
        self._gate = gate  # passed while the batch is open (bot.store.checkpoints)
        self.is_open = False
        self.writing = False  # inside ``joined``: transactions become savepoints
        self._events = 0
        self._lost: Exception | None = None

    @contextmanager
    def joined(self, loop: asyncio.AbstractEventLoop) -> Iterator[None]:
        """Writes made inside belong to the open batch (begun here if none is)."""
        if not self.is_open:
            self._begin()
            loop.call_soon(self._commit_at_next_pass)
        self.writing = True
        try:
            yield
        finally:
            self.writing = False

    def _begin(self) -> None:
        conn = self._conn
        # The level cannot change inside a transaction: set for the whole batch.
        conn.execute("PRAGMA synchronous = NORMAL")
        self._gate.enter()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._gate.leave()
            conn.execute("PRAGMA synchronous = FULL")
            raise
        self.is_open = True
        self._events = 0

    @contextmanager
    def savepoint(self) -> Iterator[sqlite3.Connection]:
        """One event's writes inside the batch: all of them, or none."""
        conn = self._conn
        conn.execute("SAVEPOINT event")
        try:
            yield conn
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK TO event")
                conn.execute("RELEASE event")
            elif isinstance(exc, Exception):
                # SQLite ended the whole transaction (a full disk, an I/O error).
                self._lost = self._lost or exc
            raise
        conn.execute("RELEASE event")
        self._events += 1

    def commit(self) -> None:
        """Commit the open batch, if any. A failure is kept for ``raise_if_lost``
        (whoever waits for the sync must hear it, not whoever happened to call)."""
        if not self.is_open:
            return
        self.is_open = False
        conn = self._conn
        try:
            if not conn.in_transaction:
                raise StoreError("the database ended the transaction of the batch")
            conn.execute("COMMIT")
        except (sqlite3.Error, StoreError) as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._lost = self._lost or exc
        finally:
            self._gate.leave()
            conn.execute("PRAGMA synchronous = FULL")
        self._committed(max(self._events, 1))

    def raise_if_lost(self) -> None:
        """Raise if a batch failed to commit since the last call."""
        lost, self._lost = self._lost, None
        if lost is not None:
            raise StoreError(f"a batch of events was not stored: {lost}") from lost

    def _commit_at_next_pass(self) -> None:
        try:
            self.commit()
        except sqlite3.Error as exc:  # (setting the level back failed: kept for the sync)
            self._lost = self._lost or exc
        if self._lost is not None:
            log.error("a batch of events was not stored: %s", type(self._lost).__name__)
