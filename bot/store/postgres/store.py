"""The Store on PostgreSQL: the statements shared with SQLite (``bot.store.sql_store``)
over one psycopg connection, in autocommit mode with explicit transactions.

A turn commits in one transaction, as on SQLite. Every commit waits for the server's
write-ahead log (PostgreSQL's default, ``synchronous_commit = on``), so the strict
durability that SQLite reaches by group syncs holds on its own: ``durable`` is False
(no group sync) and ``sync_log`` has nothing to do.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager, suppress
from pathlib import Path
from typing import Any

import psycopg

from bot.core.errors import StoreUnavailable
from bot.core.sealing import Sealer
from bot.store.cases import CaseRecords
from bot.store.link_sql import LinkRecords
from bot.store.postgres import redacted
from bot.store.postgres.claims import Claims
from bot.store.postgres.connection import PgConnection, connect
from bot.store.postgres.schema import migrate
from bot.store.sql_store import SqlStore
from bot.store.types import Changes, OutboxItem


class PostgresCases(CaseRecords):
    MEMBER_ORDER = "seq"


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
        self._unwritten_marks: list[tuple[str, int]] = []
        self.sealer = sealer or Sealer(None)
        self.cases = PostgresCases(self._conn, sealer)
        self.links = LinkRecords(self._conn)
        self._claims = Claims(self._conn)
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
        return super()._apply(changes)

    def _insert_id(self, sql: str, parameters: Sequence[Any]) -> int:
        row = self._conn.execute(sql + " RETURNING id", parameters).fetchone()
        assert row is not None
        return int(row[0])

    # Claims: see bot.store.postgres.claims --------------------------------------------

    def claim_member(self, community: str, member: str) -> bool:
        return self._claims.member(community, member)

    def release_member(self, community: str, member: str) -> None:
        self._claims.release_member(community, member)

    def _lock_case_numbers(self) -> None:
        # Read committed: after this lock, the check of the claim reads every number
        # another process's commit took, and a taken one is a Conflict (turn runs again).
        self._conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('case numbers', 0))")

    def _claim_new(self, items: list[OutboxItem]) -> None:
        self._claims.take_new([item.id for item in items])

    def _done(self, outbox_ids: list[int]) -> None:
        self._claims.release_rows(outbox_ids)

    def pending_outbox(
        self, limit: int = 500, platforms: Collection[str] | None = None
    ) -> list[OutboxItem]:
        """Pending rows no other process is delivering, now claimed by this one."""
        items = super().pending_outbox(limit, platforms)
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
