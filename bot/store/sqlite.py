"""The embedded store: one SQLite file in WAL mode, through sqlite-utils.

Every event's effects (its id in the inbox, the new conversation state, the member
profile, the outgoing actions, the timers) are written in one transaction, so a crash
leaves all of an event or none of it. The statements it shares with the PostgreSQL
store are in ``bot.store.sql_store``; here is what is SQLite's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

import sqlite_utils

from bot.core.errors import StoreError
from bot.core.sealing import Sealer
from bot.store.cases import CaseRecords
from bot.store.checkpoints import LOG_BYTES, Checkpointer, WriteGate
from bot.store.commit_batch import CommitBatch
from bot.store.group_sync import fsync_path
from bot.store.id_blocks import IdBlocks
from bot.store.link_sql import LinkRecords
from bot.store.migrations import migrate
from bot.store.record_sql import RecordKey
from bot.store.sql_store import SqlStore
from bot.store.turn_writes import INSERT_OUTBOX, NewIds, OutboxRow
from bot.store.types import Changes, HeldRecord, MemberRows, OutboxItem

_LOAD_MEMBER = (
    "SELECT (SELECT state FROM conversations WHERE community = ? AND member = ?),"
    " (SELECT profile FROM profiles WHERE community = ? AND member = ?)"
)


# An event's outbox rows go in one statement (up to this many: SQLite takes a
# statement's values up to a limit).
_ROWS_PER_INSERT = 100


@functools.cache
def _insert_outbox(count: int) -> str:
    """One statement for an event's ``count`` outbox rows."""
    return INSERT_OUTBOX + ", (?, ?, ?, ?, ?)" * (count - 1)


class SQLiteStore(SqlStore):
    """The default store. Not thread-safe: the engine uses it from one event loop."""

    _conn: sqlite3.Connection

    def __init__(
        self, path: Path | str, *, durable: bool = False, sealer: Sealer | None = None
    ) -> None:
        self.path = str(path)
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db = sqlite_utils.Database(conn)
            # A new database gives pages freed by deletions back to the file system
            # (``_shrink``, after each prune and retention purge). Only an empty file
            # takes the setting this way: an older database keeps its mode (a VACUUM,
            # which rewrites the whole file, would change it; its free pages are
            # reused by new rows).
            self.db.execute("PRAGMA auto_vacuum = INCREMENTAL")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
            self.db.execute("PRAGMA busy_timeout = 5000")
            self.db.execute("PRAGMA secure_delete = ON")
            self.version = migrate(self.db)
            self._checkpoints: Checkpointer | None = None
            # Passed around each write transaction: the checkpoint thread closes it to
            # copy the log's last frames while nothing is written.
            self._gate = WriteGate()
            if self.path != ":memory:":
                # Checkpoints run in a thread of their own (bot.store.checkpoints).
                self.db.execute("PRAGMA wal_autocheckpoint = 0")
                self.db.execute(f"PRAGMA journal_size_limit = {LOG_BYTES}")
                self._checkpoints = Checkpointer(
                    self.path, "FULL" if durable else "NORMAL", self._gate
                )
            if durable and self.path != ":memory:":
                # The log's name in its folder must survive a power cut as well.
                fsync_path(str(Path(self.path).resolve().parent))
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self.path}: cannot open the database: {exc}") from exc
        self._conn = conn
        self.durable = durable
        self._batch = CommitBatch(conn, self._committed, self._gate)
        # Sent marks not written yet, as (outbox id,): see mark_sent_later.
        self._unwritten_marks: list[tuple[int]] = []
        self._unwritten_records: dict[RecordKey, HeldRecord] = {}  # see bot.store.record_sql
        self._written_records: dict[RecordKey, HeldRecord] = {}
        # Conversation states and queued messages can hold what members wrote (report
        # drafts, statements): sealed like case texts when a key is set.
        self.sealer = sealer or Sealer(None)
        self.cases = CaseRecords(conn, sealer)
        self.links = LinkRecords(conn)
        # A block of ids reaches the disk before its ids are given: strict mode's own
        # commits do; the normal mode's are synced for it.
        self._ids = IdBlocks(conn, (lambda: None) if durable else self.sync_log)
        self._check_key(sealer or Sealer(None))

    def close(self) -> None:
        self.flush_marks()
        if self._batch.is_open:  # strict mode: what the loop's last pass wrote, on disk
            self._batch.commit()
            self.sync_log()
        if self._checkpoints is not None:
            self._checkpoints.stop()
        self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self._batch.writing:  # strict mode, inside ``_without_own_sync``
            with self._batch.savepoint() as conn:
                yield conn
            return
        self._batch.commit()  # what was written before goes first
        conn = self._conn
        with self._gate:  # (bot.store.checkpoints)
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        self._committed(1)

    def _committed(self, events: int) -> None:
        if self._checkpoints is not None:
            self._checkpoints.committed(events)

    def _without_own_sync(self, batch: bool = False) -> AbstractContextManager[None]:
        """In strict mode, commits made here skip their own fsync: the caller makes
        them durable later (``sync_log``), or may lose them without harm. With
        ``batch``, under the event loop, they join the batch that commits at the loop's
        next pass (``bot.store.commit_batch``); without, they commit at once (a record
        that must be written before the adapter's next call: ``write_held_records``)."""
        if not self.durable:
            return nullcontext()  # (no generator made for every mark written)
        if batch:
            try:
                return self._batch.joined(asyncio.get_running_loop())
            except RuntimeError:  # no event loop: this commit alone, now
                pass
        return self._sync_deferred()

    @contextmanager
    def _sync_deferred(self) -> Iterator[None]:
        self._batch.commit()
        self._conn.execute("PRAGMA synchronous = NORMAL")
        try:
            yield
        finally:
            self._conn.execute("PRAGMA synchronous = FULL")

    def end_batch(self) -> None:
        """Before a group sync: commit the open batch; raise if a batch was lost since
        the last sync (its events are then not stored)."""
        self._batch.commit()
        self._batch.raise_if_lost()

    def sync_log(self) -> None:
        """Make every transaction committed so far durable: fsync the write-ahead log
        (what synchronous=FULL does at each commit). Safe to call from another thread:
        it touches the file only, never the connection."""
        if self.path == ":memory:":
            return
        with contextlib.suppress(FileNotFoundError):  # nothing committed since a reset
            fsync_path(self.path + "-wal")

    def load_member(self, community: str, member: str) -> MemberRows:
        """In one statement: a turn whose member is not among the live conversations
        reads both (one read transaction, not two)."""
        state, profile = self._conn.execute(_LOAD_MEMBER, (community, member) * 2).fetchone()
        return (
            self._state_of((state,)) if state is not None else None,
            self._profile_of((profile,)) if profile is not None else None,
        )

    def apply(self, changes: Changes, *, sync_later: bool = False) -> list[OutboxItem] | None:
        wanted = len(changes.outbox) + len(changes.timers)
        if self._ids.short_of(wanted):
            # A block of ids is reserved in a transaction of its own, before the turn's
            # (a batch holds whole events only: it commits first).
            self._batch.commit()
            self._ids.reserve(wanted)
        return super().apply(changes, sync_later=sync_later)

    def _new_ids(self, count: int) -> Iterator[int]:
        return iter(self._ids.take(count))

    def _insert_outbox(self, rows: list[OutboxRow]) -> NewIds:
        ids = self._ids.take(len(rows))
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            part = rows[start : start + _ROWS_PER_INSERT]
            numbered = zip(ids[start : start + len(part)], part, strict=True)
            values = [value for i, row in numbered for value in (i, *row)]
            self._conn.execute(_insert_outbox(len(part)), values)
        return lambda: list(ids)

    def _shrink(self) -> None:
        """Free pages go back to the file system (a database made with
        auto_vacuum = INCREMENTAL; on an older one this does nothing)."""
        # As a script: it runs to the end (one execute frees a single page). A script
        # commits whatever is open first: the batch is committed in its own way.
        self._batch.commit()
        self._conn.executescript("PRAGMA incremental_vacuum;")

    def _tidy(self) -> None:
        """No old page of erased rows in the WAL (once the thread's checkpoint under
        way, if any, is over: a checkpoint running meanwhile would keep this one from
        truncating)."""
        self._batch.commit()
        if self._checkpoints is None:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return
        with self._checkpoints.lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
