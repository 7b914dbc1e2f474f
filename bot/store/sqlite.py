"""The embedded store: one SQLite file in WAL mode, through sqlite-utils.

Every event's effects (its id in the inbox, the new conversation state, the member
profile, the outgoing actions, the timers) are written in one transaction, so a crash
leaves all of an event or none of it.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from bot.core.actions import action_from_json
from bot.core.errors import StoreError
from bot.core.events import MemberRef
from bot.core.sealing import Sealer
from bot.store import outbox
from bot.store.case_sql import run_write
from bot.store.cases import CaseRecords
from bot.store.group_sync import fsync_path
from bot.store.link_sql import LinkRecords, prune_link_codes
from bot.store.migrations import migrate
from bot.store.privacy import ERASE_MEMBER_RECORDS, purge_older_than
from bot.store.turn_writes import write_outbox, write_state, write_timers
from bot.store.types import Changes, OutboxItem, TimerRow
from bot.store.types import iso as _iso
from bot.store.types import parse_iso as _parse

# A delivered action keeps no text (a reply may quote a private statement): its row
# keeps only the id, platform and times that delivery and its records need.
_MARK_SENT = "UPDATE outbox SET sent_at = ?, action = '' WHERE id = ?"


class SQLiteStore:
    """The default store. Not thread-safe: the engine uses it from one event loop."""

    def __init__(
        self, path: Path | str, *, durable: bool = False, sealer: Sealer | None = None
    ) -> None:
        self.path = str(path)
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db = sqlite_utils.Database(conn)
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
            self.db.execute("PRAGMA busy_timeout = 5000")
            self.db.execute("PRAGMA secure_delete = ON")
            self.version = migrate(self.db)
            if durable and self.path != ":memory:":
                # The log's name in its folder must survive a power cut as well.
                fsync_path(str(Path(self.path).resolve().parent))
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self.path}: cannot open the database: {exc}") from exc
        self._conn = conn
        self.durable = durable
        # Sent marks not written yet, (sent_at, outbox id): see mark_sent_later.
        self._unwritten_marks: list[tuple[str, int]] = []
        # Conversation states and queued messages can hold what members wrote (report
        # drafts, statements): sealed like case texts when a key is set.
        self.sealer = sealer or Sealer(None)
        self.cases = CaseRecords(conn, sealer)
        self.links = LinkRecords(conn)
        self._check_key(sealer or Sealer(None))

    def _check_key(self, sealer: Sealer) -> None:
        new_check = sealer.check(self.cursor("crypto:check"))
        if new_check is not None:
            self.set_cursor("crypto:check", new_check)

    def close(self) -> None:
        self.flush_marks()
        self._conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _without_own_sync(self) -> Iterator[None]:
        """In strict mode, commits made here skip their own fsync: the caller makes
        them durable later (``sync_log``), or may lose them without harm."""
        if not self.durable:
            yield
            return
        self._conn.execute("PRAGMA synchronous = NORMAL")
        try:
            yield
        finally:
            self._conn.execute("PRAGMA synchronous = FULL")

    def sync_log(self) -> None:
        """Make every transaction committed so far durable: fsync the write-ahead log
        (what synchronous=FULL does at each commit). Safe to call from another thread:
        it touches the file only, never the connection."""
        if self.path == ":memory:":
            return
        with contextlib.suppress(FileNotFoundError):  # nothing committed since a reset
            fsync_path(self.path + "-wal")

    # Reads --------------------------------------------------------------------------

    def seen(self, event_key: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM inbox WHERE event_key = ?", (event_key,))
        return row.fetchone() is not None

    def load_conversation(self, community: str, member: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT state FROM conversations WHERE community = ? AND member = ?",
            (community, member),
        ).fetchone()
        return json.loads(self.sealer.open(row[0])) if row else None

    def load_profile(self, community: str, member: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT profile FROM profiles WHERE community = ? AND member = ?",
            (community, member),
        ).fetchone()
        return json.loads(row[0]) if row else None

    def count_mentees(self, community: str, mentor: str) -> int:
        row = self._conn.execute(
            "SELECT count(*) FROM mentorships WHERE community = ? AND mentor = ?",
            (community, mentor),
        ).fetchone()
        return int(row[0])

    def acknowledgements(self, community: str, member: str) -> list[tuple[str, datetime]]:
        rows = self._conn.execute(
            "SELECT version, at FROM acknowledgements WHERE community = ? AND member = ?"
            " ORDER BY rowid",
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

    def pending_outbox(self, limit: int = 500) -> list[OutboxItem]:
        self.flush_marks()
        rows = self._conn.execute(
            "SELECT id, community, action, attempts FROM outbox WHERE sent_at IS NULL"
            " ORDER BY id LIMIT ?",
            (limit,),
        )
        return [OutboxItem(i, c, action_from_json(self.sealer.open(a)), n) for i, c, a, n in rows]

    def next_timer_due(self) -> datetime | None:
        row = self._conn.execute("SELECT min(due_at) FROM timers").fetchone()
        return _parse(row[0]) if row and row[0] else None

    def due_timers(self, now: datetime, limit: int = 500) -> list[TimerRow]:
        rows = self._conn.execute(
            "SELECT id, community, member_ref, kind, due_at, payload FROM timers"
            " WHERE due_at <= ? ORDER BY due_at, id LIMIT ?",
            (_iso(now), limit),
        )
        return [
            TimerRow(i, c, MemberRef(**json.loads(m)), k, _parse(d), p) for i, c, m, k, d, p in rows
        ]

    def cursor(self, name: str) -> str | None:
        row = self._conn.execute("SELECT position FROM cursors WHERE name = ?", (name,))
        found = row.fetchone()
        return str(found[0]) if found else None

    def member_record(self, platform: str, member_id: str, name: str) -> str | None:
        row = self._conn.execute(
            "SELECT value FROM member_records WHERE platform = ? AND member = ? AND name = ?",
            (platform, member_id, name),
        ).fetchone()
        return str(row[0]) if row else None

    # Writes -------------------------------------------------------------------------

    def apply(self, changes: Changes, *, sync_later: bool = False) -> list[OutboxItem] | None:
        """Commit everything one event caused. Returns the new outbox items, or None when
        the event was already handled (a re-delivery), in which case nothing is written.
        With ``sync_later`` a strict store skips this commit's fsync: the caller must
        wait for ``sync_log`` (through a GroupSync) before anything leaves the process."""
        if sync_later:
            with self._without_own_sync():
                return self._apply(changes)
        return self._apply(changes)

    def _apply(self, changes: Changes) -> list[OutboxItem] | None:
        now = _iso(changes.at)
        marks = self._unwritten_marks
        with self._transaction() as conn:
            if changes.event_key is not None:
                inserted = conn.execute(
                    "INSERT OR IGNORE INTO inbox (event_key, seen_at) VALUES (?, ?)",
                    (changes.event_key, now),
                ).rowcount
                if not inserted:
                    return None
            if marks:  # they ride along: no commit of their own
                conn.executemany(_MARK_SENT, marks)
            write_state(conn, changes, now, self.sealer)
            write_timers(conn, changes)
            items = write_outbox(conn, changes, now, self.sealer)
            for write in changes.writes:
                run_write(conn, write, self.sealer)
            for name, position in changes.cursors.items():
                conn.execute("INSERT OR REPLACE INTO cursors VALUES (?, ?)", (name, position))
        if marks:
            self._unwritten_marks = []
        return items

    def mark_sent(self, outbox_id: int, at: datetime) -> None:
        self.mark_sent_later(outbox_id, at)
        self.flush_marks()

    def mark_sent_later(self, outbox_id: int, at: datetime) -> None:
        """Mark an action sent with the next write: the next event's transaction, or
        ``flush_marks``, which the outbox calls before it delivers anything else. So
        at most the one action delivered last is ever unmarked (and after a crash
        delivered again), as with a mark of its own, and a busy engine saves a commit
        per event."""
        self._unwritten_marks.append((_iso(at), outbox_id))

    def flush_marks(self) -> None:
        marks = self._unwritten_marks
        if not marks:
            return
        # A mark lost to a power cut only means the action is delivered again, which the
        # outbox allows (at least once): it need not wait for its own fsync. The next
        # durable commit syncs the log up to and including it.
        with self._without_own_sync():
            if len(marks) == 1:
                self._conn.execute(_MARK_SENT, marks[0])
            else:
                with self._transaction() as conn:
                    conn.executemany(_MARK_SENT, marks)
        self._unwritten_marks = []

    def mark_failed(self, outbox_id: int, error: str) -> None:
        self._conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
            (error[:500], outbox_id),
        )

    def delete_timer(self, timer_id: int) -> None:
        self._conn.execute("DELETE FROM timers WHERE id = ?", (timer_id,))

    def members_to_reacknowledge(self, community: str, version: str) -> list[MemberRef]:
        """Members whose latest acknowledgement is of another version of the document."""
        rows = self._conn.execute(
            "SELECT member FROM acknowledgements WHERE rowid IN ("
            " SELECT max(rowid) FROM acknowledgements WHERE community = ? GROUP BY member)"
            " AND version != ?",
            (community, version),
        )
        members = []
        for (key,) in rows:
            platform, _, member_id = key.partition(":")
            members.append(MemberRef(platform, member_id))
        return members

    def mark_dead(self, outbox_id: int, error: str, at: datetime) -> None:
        """An action no adapter can deliver: kept out of the way, with the reason (until
        delivered rows are pruned), and counted per platform for good."""
        self.flush_marks()
        with self._transaction() as conn:
            outbox.set_aside(conn, outbox_id, error, _iso(at))

    def undeliverable(self) -> dict[str, int]:
        """How many actions were set aside as undeliverable, per platform."""
        return outbox.counts(self._conn)

    def undeliverable_reasons(self, limit: int = 100) -> list[tuple[int, str, str]]:
        """The latest actions set aside (outbox id, platform, reason), newest first."""
        return outbox.reasons(self._conn, limit)

    def set_cursor(self, name: str, position: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO cursors VALUES (?, ?)", (name, position))

    def set_member_record(self, platform: str, member_id: str, name: str, value: str) -> None:
        """An adapter's record about one member (their direct room, the ids of messages
        sent to them): erased with them by ``/forget``, and only with them."""
        self._conn.execute(
            "INSERT INTO member_records VALUES (?, ?, ?, ?)"
            " ON CONFLICT (platform, member, name) DO UPDATE SET value = excluded.value",
            (platform, member_id, name, value),
        )

    def erase_delivered(self, platform: str, member_id: str) -> None:
        """After ``/forget``: the reply telling the member is delivered; now no sent
        message naming them stays (delivered messages have no further use, and sealed
        ones cannot be searched), no adapter record of that reply (a message id kept
        under their id), and no old page of them in the WAL."""
        self.flush_marks()
        self._conn.execute("DELETE FROM outbox WHERE sent_at IS NOT NULL")
        self._conn.execute(ERASE_MEMBER_RECORDS, (platform, member_id))
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def purge(self, community: str, before: datetime) -> int:
        self.flush_marks()
        with self._transaction() as conn:
            removed = purge_older_than(conn, community, before)
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return removed

    def prune(self, before: datetime) -> None:
        """Forget delivered outbox rows and old inbox ids (platforms re-deliver for a day
        at most, so a week of ids is plenty)."""
        self.flush_marks()
        with self._transaction() as conn:
            conn.execute("DELETE FROM inbox WHERE seen_at < ?", (_iso(before),))
            conn.execute(
                "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?", (_iso(before),)
            )
            prune_link_codes(conn, before)
