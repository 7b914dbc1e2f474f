"""What the SQLite and PostgreSQL stores share: the Store contract in SQL both read
alike, over a ``bot.store.sql.Connection``. Each backend adds how it opens, begins a
transaction, returns a new row's id and keeps its files tidy.

Every event's effects (its id in the inbox, the new conversation state, the member
profile, the outgoing actions, the timers, case records) are written in one
transaction, so a crash leaves all of an event or none of it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

from bot.core import jsontext
from bot.core.actions import Action, action_from_json
from bot.core.events import MemberRef
from bot.core.sealing import Sealer
from bot.core.state import profile_from_stored
from bot.store import outbox
from bot.store.case_sql import run_write
from bot.store.lease_sql import LeasesSql
from bot.store.link_sql import prune_link_codes
from bot.store.privacy import ERASE_MEMBER_RECORDS, purge_older_than
from bot.store.record_sql import MemberRecordsSql, write_records
from bot.store.sql import Connection
from bot.store.turn_writes import (
    SET_TIMER,
    NewIds,
    OutboxRow,
    outbox_items,
    outbox_rows,
    write_state,
    write_timers,
)
from bot.store.types import Changes, MemberRows, OutboxItem, TimerRow, seen_day
from bot.store.types import iso as _iso
from bot.store.types import parse_iso as _parse
from bot.store.writes import ClaimCaseNumbers

# A delivered action leaves nothing behind (a reply may quote a private statement, and
# nothing reads a delivered row): its row goes. Its id, the idempotency key the
# platform saw, is never given again (bot.store.id_blocks; an identity on PostgreSQL).
MARK_SENT = "DELETE FROM outbox WHERE id = ?"
_INSERT_EVENT = "INSERT INTO inbox (event_key, seen_at) VALUES (?, ?) ON CONFLICT DO NOTHING"
LOAD_CONVERSATION = "SELECT state FROM conversations WHERE community = ? AND member = ?"
LOAD_PROFILE = "SELECT profile FROM profiles WHERE community = ? AND member = ?"
_SET_CURSOR = (
    "INSERT INTO cursors VALUES (?, ?)"
    " ON CONFLICT (name) DO UPDATE SET position = excluded.position"
)


class SqlStore(MemberRecordsSql, LeasesSql):
    """The shared part of the SQL stores. Not thread-safe: the engine uses a store
    from one event loop."""

    # The column that keeps rows without an id of their own in insertion order.
    ROW_ORDER = "rowid"
    # The database's clock, in seconds since 1970 (leases expire by it).
    NOW = "((julianday('now') - 2440587.5) * 86400.0)"
    shared = False  # one process writes to it
    SET_TIMER = SET_TIMER
    _conn: Connection
    sealer: Sealer
    # Sent marks not written yet, as (outbox id,): see mark_sent_later.
    _unwritten_marks: list[tuple[int]]

    # What each backend provides ------------------------------------------------------

    def _transaction(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _insert_outbox(self, rows: list[OutboxRow]) -> NewIds:
        """Inside the turn's transaction: insert the rows, in order. Their ids are read
        after the commit; they are this process's to deliver (a store that other
        processes share claims them)."""
        raise NotImplementedError

    def _new_ids(self, count: int) -> Iterator[int] | None:
        """Inside the turn's transaction: ids for ``count`` new timers, or None where
        the database numbers them (an identity)."""
        return None

    def _without_own_sync(self, batch: bool = False) -> AbstractContextManager[None]:
        """Commits made inside skip their own wait for the disk (SQLite's strict
        mode; see ``SQLiteStore``); with ``batch``, they may wait for its batch."""
        return _nothing()

    def _insert_event(self, conn: Connection, event_key: str, day: str) -> bool:
        """The event's id into the inbox; False if it was there (a re-delivery)."""
        return bool(conn.execute(_INSERT_EVENT, (event_key, day)).rowcount)

    def _delete_sent(self, conn: Connection, marks: list[tuple[int]]) -> None:
        conn.executemany(MARK_SENT, marks)

    def _tidy(self) -> None:
        """After an erasure: no old copy of erased rows left in the backend's files."""

    def _done(self, outbox_ids: list[int]) -> None:
        """These rows' delivery (or setting aside) is written: no longer claimed."""

    def _lock_case_numbers(self) -> None:
        """Inside the turn's transaction, before case numbers are claimed: no other
        process claims any until this commit ends (one process writes here: nothing)."""

    def claim_member(self, community: str, member: str, event_key: str | None = None) -> bool:
        return True

    def release_member(self, community: str, member: str) -> None:
        """Nothing to release: no other process writes to this store."""

    def _check_key(self, sealer: Sealer) -> None:
        new_check = sealer.check(self.cursor("crypto:check"))
        if new_check is not None:
            self.set_cursor("crypto:check", new_check)

    # Reads --------------------------------------------------------------------------

    def seen(self, event_key: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM inbox WHERE event_key = ?", (event_key,))
        return row.fetchone() is not None

    def load_conversation(self, community: str, member: str) -> dict[str, Any] | None:
        return self._state_of(self._conn.execute(LOAD_CONVERSATION, (community, member)).fetchone())

    def load_profile(self, community: str, member: str) -> dict[str, Any] | None:
        return self._profile_of(self._conn.execute(LOAD_PROFILE, (community, member)).fetchone())

    def load_member(self, community: str, member: str) -> MemberRows:
        return self.load_conversation(community, member), self.load_profile(community, member)

    def _state_of(self, row: Any) -> dict[str, Any] | None:
        return jsontext.read(self.sealer.open(row[0])) if row else None

    def _profile_of(self, row: Any) -> dict[str, Any] | None:
        return profile_from_stored(jsontext.read(row[0])) if row else None

    def communities_of(self, member: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT community FROM profiles WHERE member = ? ORDER BY community", (member,)
        ).fetchall()
        return [row[0] for row in rows]

    def count_mentees(self, community: str, mentor: str) -> int:
        row = self._conn.execute(
            "SELECT count(*) FROM mentorships WHERE community = ? AND mentor = ?",
            (community, mentor),
        ).fetchone()
        return int(row[0])

    def acknowledgements(self, community: str, member: str) -> list[tuple[str, datetime]]:
        rows = self._conn.execute(
            "SELECT version, at FROM acknowledgements WHERE community = ? AND member = ?"
            f" ORDER BY {self.ROW_ORDER}",
            (community, member),
        )
        return [(version, _parse(at)) for version, at in rows]

    def audit_log(self, community: str) -> list[dict[str, str]]:
        rows = self._conn.execute(
            "SELECT at, actor, action, subject, detail FROM audit WHERE community = ? ORDER BY id",
            (community,),
        )
        keys = ("at", "actor", "action", "subject", "detail")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def health_counts(self, community: str, since: str) -> list[tuple[str, str, str, str, int]]:
        rows = self._conn.execute(
            "SELECT day, metric, platform, language, count FROM health_counts"
            " WHERE community = ? AND day >= ? ORDER BY day, metric, platform, language",
            (community, since),
        )
        return [(d, m, p, lang, int(n)) for d, m, p, lang, n in rows]

    def health_count_rows(self, community: str, since: str) -> int:
        row = self._conn.execute(
            "SELECT COUNT(*) FROM health_counts WHERE community = ? AND day >= ?",
            (community, since),
        ).fetchone()
        return int(row[0])

    def pending_outbox(
        self,
        limit: int = 500,
        platforms: Collection[str] | None = None,
        communities: Mapping[str, Collection[str]] | None = None,
    ) -> list[OutboxItem]:
        self.flush_marks()
        only, wanted = outbox.pending_where(platforms, communities)
        rows = self._conn.execute(
            f"SELECT id, community, action, attempts FROM outbox WHERE sent_at IS NULL{only}"
            " ORDER BY id LIMIT ?",
            (*wanted, limit),
        )
        return [OutboxItem(i, c, action_from_json(self.sealer.open(a)), n) for i, c, a, n in rows]

    def waiting(self) -> dict[str, int]:
        rows = self._conn.execute(
            "SELECT platform, count(*) FROM outbox WHERE sent_at IS NULL GROUP BY platform"
        )
        return {str(platform): int(number) for platform, number in rows}

    def release(self, outbox_id: int) -> None:
        self._done([outbox_id])

    def drop_waiting(
        self, platform: str, unwanted: Callable[[Action], bool], keep: Collection[int] = ()
    ) -> int:
        self.flush_marks()
        rows = outbox.waiting_rows(self._conn, platform)
        opened = ((row_id, action_from_json(self.sealer.open(a))) for row_id, a in rows)
        dropped = [row_id for row_id, action in opened if row_id not in keep and unwanted(action)]
        with self._transaction() as conn:
            outbox.drop(conn, dropped)
        self._done(dropped)
        return len(dropped)

    def next_timer_due(self) -> datetime | None:
        row = self._conn.execute("SELECT min(due_at) FROM timers").fetchone()
        return _parse(row[0]) if row and row[0] else None

    def due_timers(self, now: datetime, limit: int = 500) -> list[TimerRow]:
        rows = self._conn.execute(
            "SELECT id, community, member_ref, kind, due_at, payload FROM timers"
            " WHERE due_at <= ? ORDER BY due_at, id LIMIT ?",
            (_iso(now), limit),
        )
        read = jsontext.read
        return [TimerRow(i, c, MemberRef(**read(m)), k, _parse(d), p) for i, c, m, k, d, p in rows]

    def cursor(self, name: str) -> str | None:
        row = self._conn.execute("SELECT position FROM cursors WHERE name = ?", (name,))
        found = row.fetchone()
        return str(found[0]) if found else None

    def undeliverable(self) -> dict[str, int]:
        """How many actions were set aside as undeliverable, per platform."""
        return outbox.counts(self._conn)

    def undeliverable_reasons(self, limit: int = 100) -> list[tuple[int, str, str]]:
        """The latest actions set aside (outbox id, platform, reason), newest first."""
        return outbox.reasons(self._conn, limit)

    def members_to_reacknowledge(self, community: str, version: str) -> list[MemberRef]:
        """Members whose latest acknowledgement is of another version of the document."""
        order = self.ROW_ORDER
        rows = self._conn.execute(
            f"SELECT member FROM acknowledgements WHERE {order} IN ("
            f" SELECT max({order}) FROM acknowledgements WHERE community = ? GROUP BY member)"
            " AND version != ?",
            (community, version),
        )
        members = []
        for (key,) in rows:
            platform, _, member_id = key.partition(":")
            members.append(MemberRef(platform, member_id))
        return members

    # Writes -------------------------------------------------------------------------

    def apply(self, changes: Changes, *, sync_later: bool = False) -> list[OutboxItem] | None:
        """Commit everything one event caused. Returns the new outbox items, or None when
        the event was already handled (a re-delivery), in which case nothing is written.
        With ``sync_later`` a strict store skips this commit's fsync: the caller must
        wait for ``sync_log`` (through a GroupSync) before anything leaves the process."""
        if sync_later:
            with self._without_own_sync(batch=True):
                return self._apply(changes)
        return self._apply(changes)

    def _apply(self, changes: Changes) -> list[OutboxItem] | None:
        new_ids = self._write(changes)
        return None if new_ids is None else outbox_items(changes, new_ids())

    def _write(self, changes: Changes) -> NewIds | None:
        """``_apply`` up to the ids of the new outbox rows (read when wanted)."""
        now = _iso(changes.at)
        marks, records = self._unwritten_marks, self._unwritten_records
        with self._transaction() as conn:
            key = changes.event_key
            if key is not None and not self._insert_event(conn, key, seen_day(now)):
                return None
            if marks:  # they ride along: no commit of their own
                self._delete_sent(conn, marks)
            if records:  # so do the records of those deliveries (bot.store.record_sql)
                write_records(conn, records)
            write_state(conn, changes, now, self.sealer)
            write_timers(conn, changes, self.SET_TIMER, self._new_ids(len(changes.timers)))
            new_ids = self._insert_outbox(outbox_rows(changes, now, self.sealer))
            if any(isinstance(write, ClaimCaseNumbers) for write in changes.writes):
                self._lock_case_numbers()
            for write in changes.writes:
                run_write(conn, write, self.sealer)
            for name, position in changes.cursors.items():
                conn.execute(_SET_CURSOR, (name, position))
        if records:
            self._records_written(records)
        if marks:
            self._unwritten_marks = []
            self._done([outbox_id for (outbox_id,) in marks])
        return new_ids

    def mark_sent(self, outbox_id: int, at: datetime) -> None:
        self.mark_sent_later(outbox_id, at)
        self.flush_marks()

    def mark_sent_later(self, outbox_id: int, at: datetime) -> None:
        """Mark an action sent (its row goes) with the next write: the next event's
        transaction, or ``flush_marks`` (before a flush sends anything, when no commit
        came soon: bot.engine.delivery). At most each member's last event's actions are
        unmarked (after a crash sent again, same idempotency key); a commit saved."""
        self._unwritten_marks.append((outbox_id,))

    def flush_marks(self) -> None:
        """The held marks and records (bot.store.record_sql), in one transaction."""
        marks, records = self._unwritten_marks, self._unwritten_records
        if not marks and not records:
            return
        # A mark lost to a power cut only means the action goes again (at least once):
        # no fsync of its own (a record lost with it is written when it goes again).
        with self._without_own_sync(batch=True):
            if len(marks) == 1 and not records:
                self._conn.execute(MARK_SENT, marks[0])
            else:
                with self._transaction() as conn:
                    self._delete_sent(conn, marks)
                    write_records(conn, records)
        self._unwritten_marks = []
        if records:
            self._records_written(records)
        self._done([outbox_id for (outbox_id,) in marks])

    def mark_failed(self, outbox_id: int, error: str) -> None:
        self.flush_marks()  # what was sent before the failure is recorded first
        self._conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
            (error[:500], outbox_id),
        )

    def delete_timer(self, timer_id: int) -> None:
        self._conn.execute("DELETE FROM timers WHERE id = ?", (timer_id,))

    def mark_dead(self, outbox_id: int, error: str, at: datetime) -> None:
        """An action no adapter can deliver: kept out of the way, without its text and
        with the reason (until ``prune``, a week later), and counted per platform for
        good."""
        self.flush_marks()
        with self._transaction() as conn:
            outbox.set_aside(conn, outbox_id, error, _iso(at))
        self._done([outbox_id])

    def set_cursor(self, name: str, position: str) -> None:
        self._conn.execute(_SET_CURSOR, (name, position))

    def erase_delivered(self, platform: str, member_id: str) -> None:
        """After ``/forget``: the reply telling the member is delivered (delivered rows
        are gone at once); now no set-aside row stays either (its reason may name them),
        no adapter record of that reply, no old copy of them in the backend's files."""
        self.flush_marks()
        self._written_records = {}
        self._conn.execute("DELETE FROM outbox WHERE sent_at IS NOT NULL")
        self._conn.execute(ERASE_MEMBER_RECORDS, (platform, member_id))
        self._tidy()

    def purge(self, community: str, before: datetime) -> int:
        self.flush_marks()
        with self._transaction() as conn:
            removed = purge_older_than(conn, community, before)
        self._shrink()
        self._tidy()
        return removed

    def prune(self, before: datetime) -> None:
        """Forget set-aside outbox rows and old inbox ids (platforms re-deliver for a
        day at most, so a week of ids is plenty), and hand the freed pages back."""
        self.flush_marks()
        with self._transaction() as conn:
            conn.execute("DELETE FROM inbox WHERE seen_at < ?", (_iso(before),))
            conn.execute(
                "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?", (_iso(before),)
            )
            prune_link_codes(conn, before)
        self._shrink()

    def _shrink(self) -> None:
        """After a prune or a purge: give free pages back to the file system where
        the backend can without rewriting the whole database."""


@contextmanager
def _nothing() -> Iterator[None]:
    yield
