"""Leases in SQL, the same statements on SQLite and PostgreSQL: a role one process
of a deployment holds at a time (the Telegram poller, a platform's sender), taken for
a few seconds and renewed by a heartbeat (``bot.engine.leases``).

Expiry is reckoned by the database's clock (``now``: an SQL expression for the
current time in seconds), never by a process's own, so processes on machines whose
clocks differ still agree on who holds a lease. Taking is one statement: an upsert
that writes only when the lease is free, expired or the taker's own, so of two
processes taking at once exactly one gets it.
"""

from __future__ import annotations

from bot.store.sql import Connection

SCHEMA = (
    "CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL,"
    " expires_at DOUBLE PRECISION NOT NULL)",
)


class LeasesSql:
    """The lease part of the SQL stores (``bot.store.sql_store.SqlStore``)."""

    _conn: Connection
    NOW: str  # the database's clock, in seconds since 1970: an SQL expression

    def hold_lease(self, name: str, holder: str, seconds: float) -> bool:
        row = self._conn.execute(
            f"INSERT INTO leases VALUES (?, ?, {self.NOW} + ?) ON CONFLICT (name) DO UPDATE"
            " SET holder = excluded.holder, expires_at = excluded.expires_at"
            f" WHERE leases.holder = excluded.holder OR leases.expires_at < {self.NOW}"
            " RETURNING holder",
            (name, holder, float(seconds)),
        ).fetchone()
        return row is not None

    def release_lease(self, name: str, holder: str) -> None:
        self._conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

    def lease_holder(self, name: str) -> str | None:
        row = self._conn.execute(
            f"SELECT holder FROM leases WHERE name = ? AND expires_at >= {self.NOW}", (name,)
        ).fetchone()
        return str(row[0]) if row else None
