"""The Store on PostgreSQL: the statements shared with SQLite (``bot.store.sql_store``)
over one psycopg connection, in autocommit mode with explicit transactions.

A turn commits in one transaction, as on SQLite. Every commit waits for the server's
write-ahead log (PostgreSQL's default, ``synchronous_commit = on``), so the strict
durability that SQLite reaches by group syncs holds on its own: ``durable`` is False
(no group sync) and ``sync_log`` has nothing to do.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from contextlib import AbstractContextManager, suppress
from pathlib import Path
from typing import Any

import psycopg

from bot.core.errors import StoreUnavailable
from bot.core.sealing import Sealer
from bot.store.cases import CaseRecords
from bot.store.link_sql import ACCOUNTS, LinkRecords, linked_accounts
from bot.store.links import LinkedAccount
from bot.store.postgres import redacted
from bot.store.postgres.claims import Claims
from bot.store.postgres.connection import PgConnection, connect, placeholders
from bot.store.postgres.schema import migrate
from bot.store.record_sql import RecordKey, write_records
from bot.store.sql import Connection
from bot.store.sql_store import SqlStore
from bot.store.turn_writes import NewIds, OutboxRow, outbox_items
from bot.store.types import Changes, HeldRecord, OutboxItem


class PostgresCases(CaseRecords):
    MEMBER_ORDER = "seq"


# What a turn reads of its member, in one statement: their conversation's state, their
# profile and their linked accounts (member, person, share_cases, linked_at), a row for
# each account (one, without, when there is none), the state and profile on each, and
# whether the event's id is in the inbox (true, or null).
_TURN_READS = (
    "SELECT c.state, p.profile, l.member, l.person, l.share_cases, l.linked_at,"
    " (SELECT true FROM inbox WHERE event_key = %s)"
    " FROM (SELECT 1) AS one"
    " LEFT JOIN conversations AS c ON c.community = %s AND c.member = %s"
    " LEFT JOIN profiles AS p ON p.community = %s AND p.member = %s"
    f" LEFT JOIN LATERAL ({placeholders(ACCOUNTS)}) AS l ON true"
    " ORDER BY l.linked_at, l.member"
)


class PostgresLinks(LinkRecords):
    """Linked accounts, the turn's member's read with their claim (``claim_member``)."""

    def __init__(self, conn: PgConnection) -> None:
        super().__init__(conn)
        self.read: dict[tuple[str, str], list[Any]] = {}

    def accounts(self, community: str, member: str) -> list[LinkedAccount]:
        rows = self.read.pop((community, member), None)
        if rows is None:
            return super().accounts(community, member)
        return linked_accounts(rows)


class PostgresStore(SqlStore):
    """The shared store of many processes. One connection; not thread-safe, like the
    SQLite store."""

    ROW_ORDER = "seq"
    NOW = "extract(epoch from clock_timestamp())::float8"
    durable = False
    shared = True
    # Atomic even when two processes set the same timer at once (SQLite's REPLACE).
    SET_TIMER = (
        "INSERT INTO timers (community, member, member_ref, kind, due_at, payload)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (community, member, kind) DO UPDATE"
        " SET id = DEFAULT, member_ref = excluded.member_ref, due_at = excluded.due_at,"
        " payload = excluded.payload"
    )
    _conn: PgConnection

    def __init__(self, url: str, *, path: Path | str, sealer: Sealer | None = None) -> None:
        """``path``: a file name whose folder adapters keep their own files in (a
        PostgreSQL database has no folder)."""
        self.url = url
        self.shown = redacted(url)
        self.path = str(path)
        raw = connect(url)
        try:
            self.version = migrate(raw, self.shown)
        except BaseException:
            raw.close()
            raise
        self._conn = PgConnection(url, raw)
        self._unwritten_marks: list[tuple[int]] = []
        self._unwritten_records: dict[RecordKey, HeldRecord] = {}  # see bot.store.record_sql
        self._written_records: dict[RecordKey, HeldRecord] = {}
        self.sealer = sealer or Sealer(None)
        self.cases = PostgresCases(self._conn, sealer)
        self.links = PostgresLinks(self._conn)
        self._claims = Claims(self._conn)
        # Inside ``_apply``: rows whose claims go after its commit.
        self._ending: list[int] | None = None
        # Rows read with a claim, each taken by the turn's first load of it.
        self._states: dict[tuple[str, str], Any] = {}
        self._profiles: dict[tuple[str, str], Any] = {}
        self._seen: dict[tuple[str, str], tuple[str, bool]] = {}  # event key, handled
        self._check_key(self.sealer)

    @property
    def _raw(self) -> psycopg.Connection[Any]:
        return self._conn.raw

    def close(self) -> None:
        if self._conn.closed:
            return
        try:
            with suppress(StoreUnavailable):  # delivered again at worst, by another
                self.flush_marks()
        finally:
            self._conn.close()

    def _transaction(self) -> AbstractContextManager[PgConnection]:
        return self._conn.transaction()

    def _apply(self, changes: Changes) -> list[OutboxItem] | None:
        if self._claims.lost:
            raise StoreUnavailable(
                f"{self.shown}: turns that began before the connection was lost are"
                " ending; they run again"
            )
        try:
            return self._commit(changes)
        except psycopg.errors.UniqueViolation as exc:
            if exc.diag.table_name != "inbox":
                raise
            return None  # handled already: nothing was written

    def _commit(self, changes: Changes) -> list[OutboxItem] | None:
        # The client waits once, for all of it: the writes, the commit, and after it
        # the release of the delivered rows' claims and of the turn's member (their
        # turn ends with this commit).
        marks, records = self._unwritten_marks, self._unwritten_records
        session, turn, released = self._claims.session, _turn_of(changes), False
        self._ending = []
        try:
            with self._conn.pipeline():
                new_ids = self._write(changes)
                released = self._claims.release_with_commit(self._ending, turn)
        except BaseException:
            # Not committed: the marks are written again with the next write (or those
            # rows would be delivered again), so are the records, and what was to be
            # released after the commit was not (unless the session went, and all it
            # held with it).
            kept = self._claims.session == session
            if self._unwritten_marks is not marks:
                self._unwritten_marks = [*marks, *self._unwritten_marks]
                if kept:
                    self._claims.rows.update(outbox_id for (outbox_id,) in marks)
            if self._unwritten_records is not records:
                self._unwritten_records = {**records, **self._unwritten_records}
            if released and turn is not None:
                self._claims.keep_member(*turn, lost=not kept)
            raise
        finally:
            self._ending = None
        return None if new_ids is None else outbox_items(changes, new_ids())

    def flush_marks(self) -> None:
        """The marks commit, then their rows' claims go: in that order (a claim let go
        first would let another process see the row still pending), with one wait."""
        marks, records = self._unwritten_marks, self._unwritten_records
        if not marks and not records:
            return
        with self._conn.pipeline():
            with self._transaction() as conn:
                self._delete_sent(conn, marks)
                write_records(conn, records)
            self._claims.release_rows([outbox_id for (outbox_id,) in marks])
        self._unwritten_marks = []
        self._records_written(records)

    def _insert_event(self, conn: Connection, event_key: str, day: str) -> bool:
        """Sent without a wait for its answer: a re-delivery fails the statement, and
        the commit with it (``_apply``). Rare: the member's claim read the inbox."""
        conn.execute("INSERT INTO inbox (event_key, seen_at) VALUES (?, ?)", (event_key, day))
        return True

    def _delete_sent(self, conn: Connection, marks: list[tuple[int]]) -> None:
        conn.execute("DELETE FROM outbox WHERE id = ANY(?)", ([mark for (mark,) in marks],))

    def _insert_outbox(self, rows: list[OutboxRow]) -> NewIds:
        """One statement for all the rows, claiming each as it is made; its ids are
        read after the commit, so the transaction waits for nothing before it."""
        return self._claims.insert_new(rows)

    # Claims: see bot.store.postgres.claims --------------------------------------------

    def claim_member(self, community: str, member: str, event_key: str | None = None) -> bool:
        """Claim the member and, in the same wait, read their conversation, profile
        and linked accounts: the read runs after the claim (a statement sees every
        commit made before it began, so the last holder's too), and the turn's first
        load of each takes it instead of asking again."""
        key = (community, member)
        with self._conn.pipeline():
            claimed = self._claims.member(community, member)
            read = self._conn.run(
                _TURN_READS, (event_key, *key, *key, community, community, member)
            )
        if not claimed():
            return False
        rows = read.fetchall()
        if event_key is not None:
            self._seen[key] = (event_key, bool(rows[0][6]))
        self._states[key] = (rows[0][0],) if rows[0][0] is not None else None
        self._profiles[key] = (rows[0][1],) if rows[0][1] is not None else None
        self.links.read[key] = [row[2:6] for row in rows if row[2] is not None]
        return True

    def seen(self, event_key: str) -> bool:
        """Answered from the read with the member's claim (``claim_member``), the
        first time it is asked after it; else asked."""
        for key, (read_key, found) in self._seen.items():
            if read_key == event_key:
                del self._seen[key]
                return found
        return super().seen(event_key)

    def release_member(self, community: str, member: str) -> None:
        self._seen.pop((community, member), None)
        self._states.pop((community, member), None)
        self._profiles.pop((community, member), None)
        self.links.read.pop((community, member), None)
        self._claims.release_member(community, member)

    def load_conversation(self, community: str, member: str) -> dict[str, Any] | None:
        if (community, member) not in self._states:
            return super().load_conversation(community, member)
        return self._state_of(self._states.pop((community, member)))

    def load_profile(self, community: str, member: str) -> dict[str, Any] | None:
        if (community, member) not in self._profiles:
            return super().load_profile(community, member)
        return self._profile_of(self._profiles.pop((community, member)))

    def _lock_case_numbers(self) -> None:
        # Read committed: after this lock, the check of the claim reads every number
        # another process's commit took, and a taken one is a Conflict (turn runs again).
        self._conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('case numbers', 0))")

    def _done(self, outbox_ids: list[int]) -> None:
        if self._ending is not None:  # after the commit ``_apply`` is sending
            self._ending.extend(outbox_ids)
        else:
            self._claims.release_rows(outbox_ids)

    def pending_outbox(
        self,
        limit: int = 500,
        platforms: Collection[str] | None = None,
        communities: Mapping[str, Collection[str]] | None = None,
    ) -> list[OutboxItem]:
        """Pending rows no other process is delivering, now claimed by this one."""
        items = super().pending_outbox(limit, platforms, communities)
        held = self._claims.try_rows([item.id for item in items])
        # A row just taken may have been delivered, and released, in the meantime.
        rows = self._conn.execute(
            "SELECT id FROM outbox WHERE id = ANY(?) AND sent_at IS NULL", (held,)
        )
        still = {int(row[0]) for row in rows}
        self._claims.release_rows([row_id for row_id in held if row_id not in still])
        return [item for item in items if item.id in still]

    def sync_log(self) -> None:
        """Nothing to do: every commit is on the server's disk when it returns."""

    def end_batch(self) -> None:
        """Nothing held open: every event commits on its own."""


def _turn_of(changes: Changes) -> tuple[str, str] | None:
    """The member whose turn this commit ends: a turn writes its own member's
    conversation and no other (``bot.engine.commit``); None for other commits."""
    if len(changes.conversations) != 1:
        return None
    (key,) = changes.conversations
    return key
