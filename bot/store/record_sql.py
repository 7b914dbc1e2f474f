"""Adapters' records about one member (``member_records``) in SQL, the same statements
on SQLite and PostgreSQL.

A record of what was just delivered (the id of a message the bot sent, so ``/clear``
can delete it) may be kept with ``set_member_record_later``: it is written with the
next write, in the same transaction as the sent mark of the delivery that made it
(the next event's commit, or ``flush_marks``, which runs before anything else is
delivered, when the event loop is idle, before a failure is recorded and before an
erasure). Until then it is read from memory. So a crash never leaves a delivery
marked sent whose record is missing: the record and the mark are lost together, and
the action goes again and is recorded then.
"""

from __future__ import annotations

from bot.store.sql import Connection

RecordKey = tuple[str, str, str]  # (platform, member id, name)
GET_RECORD = "SELECT value FROM member_records WHERE platform = ? AND member = ? AND name = ?"
SET_RECORD = (
    "INSERT INTO member_records VALUES (?, ?, ?, ?)"
    " ON CONFLICT (platform, member, name) DO UPDATE SET value = excluded.value"
)


class MemberRecordsSql:
    """The member-record part of the SQL stores (``bot.store.sql_store.SqlStore``)."""

    _conn: Connection
    # Records to write with the next write, by key: see set_member_record_later.
    _unwritten_records: dict[RecordKey, str]

    def member_record(self, platform: str, member_id: str, name: str) -> str | None:
        held = self._unwritten_records.get((platform, member_id, name))
        if held is not None:
            return held
        row = self._conn.execute(GET_RECORD, (platform, member_id, name)).fetchone()
        return str(row[0]) if row else None

    def set_member_record(self, platform: str, member_id: str, name: str, value: str) -> None:
        """An adapter's record about one member (their direct room, the ids of messages
        sent to them): erased with them by ``/forget``, and only with them. Written now;
        a value held for later under the same key is replaced by this one."""
        self._unwritten_records.pop((platform, member_id, name), None)
        self._conn.execute(SET_RECORD, (platform, member_id, name, value))

    def set_member_record_later(self, platform: str, member_id: str, name: str, value: str) -> None:
        """A record of what was just delivered, written with that delivery's sent mark
        (see the module's docstring); read back at once."""
        self._unwritten_records[(platform, member_id, name)] = value


def write_records(conn: Connection, records: dict[RecordKey, str]) -> None:
    """Inside a transaction: the held records (before any erasure in it)."""
    conn.executemany(SET_RECORD, [(*key, value) for key, value in records.items()])
