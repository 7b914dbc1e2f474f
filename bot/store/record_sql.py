"""Adapters' records about one member (``member_records``) in SQL, the same statements
on SQLite and PostgreSQL.

A record of what was just delivered (the id of a message the bot sent, so ``/clear``
can delete it) may be held with ``set_member_record_later`` and is read from memory
until written: at the latest in the transaction that writes the delivery's sent mark
(the next event's commit, or ``flush_marks``; also before a failure is recorded and
before an erasure), and before the adapter makes its next call to the platform
(``write_held_records``). So a crash never leaves a delivery marked sent without its
record (the action goes again and its new message is recorded), and what a crash
can leave unrecorded is what it could before, when each record was written on its
own right after the message: the message sent last, before anything else went out.
On a store no other process writes, what the last such write wrote is read back from
memory too (until an erasure or the next write): a member's next reply in the same
delivery reads the list of their messages without a query.

A record may have an end (``keep_until``: what it lists is of no use after it, as a
Telegram message its bot can no longer delete): from then on it reads as none, and
the daily housekeeping deletes it (``drop_expired_records``).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime

from bot.store.sql import Connection
from bot.store.types import HeldRecord, epoch, epoch_now, record_value

RecordKey = tuple[str, str, str]  # (platform, member id, name)
GET_RECORD = (
    "SELECT value FROM member_records WHERE platform = ? AND member = ? AND name = ?"
    " AND (expires_at IS NULL OR expires_at > ?)"
)
SET_RECORD = (
    "INSERT INTO member_records VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, member, name)"
    " DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at"
)
DROP_EXPIRED = "DELETE FROM member_records WHERE expires_at <= ?"


class MemberRecordsSql:
    """The member-record part of the SQL stores (``bot.store.sql_store.SqlStore``)."""

    _conn: Connection
    shared: bool  # other processes write to the store
    # Records to write with the next write, by key: see set_member_record_later.
    _unwritten_records: dict[RecordKey, HeldRecord]
    # What the last write of held records wrote, read without a query on a store no
    # other process writes (until an erasure or the next such write).
    _written_records: dict[RecordKey, HeldRecord]

    def member_record(
        self, platform: str, member_id: str, name: str, now: datetime | None = None
    ) -> str | None:
        """The record, unless it ended before ``now`` (by default, the present)."""
        key = (platform, member_id, name)
        at = epoch_now(now)
        known = self._unwritten_records.get(key) or self._written_records.get(key)
        if known is not None:
            return record_value(known, at)
        row = self._conn.execute(GET_RECORD, (*key, at)).fetchone()
        return str(row[0]) if row else None

    def set_member_record(
        self,
        platform: str,
        member_id: str,
        name: str,
        value: str,
        keep_until: datetime | None = None,
    ) -> None:
        """An adapter's record about one member (their direct room, the ids of messages
        sent to them): erased with them by ``/forget``, and only with them. Written now;
        a value held for later under the same key is replaced by this one."""
        key = (platform, member_id, name)
        self._unwritten_records.pop(key, None)
        self._written_records.pop(key, None)
        self._conn.execute(SET_RECORD, (*key, value, epoch(keep_until)))

    def set_member_record_later(
        self,
        platform: str,
        member_id: str,
        name: str,
        value: str,
        keep_until: datetime | None = None,
    ) -> None:
        """A record of what was just delivered, written with that delivery's sent mark
        (see the module's docstring); read back at once."""
        self._unwritten_records[(platform, member_id, name)] = (value, epoch(keep_until))

    def drop_expired_records(self, now: datetime) -> int:
        """Delete the records that ended by ``now``; how many."""
        self.write_held_records()
        self._written_records = {}  # (read back from memory no more)
        return int(self._conn.execute(DROP_EXPIRED, (epoch(now),)).rowcount)

    def write_held_records(self) -> None:
        """The held records, now (an adapter about to call its platform again). Their
        marks are not written yet, so they need no wait for the disk of their own."""
        records = self._unwritten_records
        if not records:
            return
        self._unwritten_records = {}
        try:
            with self._without_own_sync():
                for key, (value, ends) in records.items():
                    self._conn.execute(SET_RECORD, (*key, value, ends))
        except BaseException:
            self._unwritten_records = {**records, **self._unwritten_records}
            raise
        self._records_written(records)

    def _records_written(self, records: dict[RecordKey, HeldRecord]) -> None:
        """The held ``records`` are written (nothing else is held)."""
        self._unwritten_records = {}
        self._written_records = {} if self.shared else records

    def _without_own_sync(self, batch: bool = False) -> AbstractContextManager[None]:
        raise NotImplementedError  # the store's (bot.store.sql_store)


def write_records(conn: Connection, records: dict[RecordKey, HeldRecord]) -> None:
    """Inside a transaction: the held records (before any erasure in it)."""
    conn.executemany(SET_RECORD, [(*key, *held) for key, held in records.items()])
