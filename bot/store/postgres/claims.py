"""What one process holds in a database many processes share: its members' turns and
the outbox rows it is delivering, as session-level advisory locks.

Why advisory locks held by the session, not rows with an expiry or locks that end with
a transaction:

- A turn reads the member's state, runs (awaiting as it goes), and commits; the claim
  must cover all of it, or two processes read the same state and one turn's effects
  are lost. One connection serves every turn of a process, so no transaction can stay
  open across a turn: the lock belongs to the session and is released after the commit.
- A process that dies (SIGKILL, a lost machine) loses its connection, and the server
  releases everything it held at once: no expiry to wait out, nothing to clean up.
- Claiming never waits inside the server (``pg_try_advisory_lock``): the engine waits
  with ``await``, so one member's turn elsewhere never stalls this process's others.
  Waiting turns are not served strictly first come, first served across processes;
  within a process they are (the engine's per-member lock is FIFO).

Members are keyed by a 64-bit hash of community and member (a collision only makes two
members wait for each other, never breaks anything); outbox rows by two 32-bit keys
(class, row id), a key space PostgreSQL keeps apart from the 64-bit one.
"""

from __future__ import annotations

from collections import Counter

from bot.store.postgres.connection import PgConnection

OUTBOX_CLASS = 0x436F  # "Co": the class key of outbox row claims
_ROW_KEY = "(%s::bigint %% 2147483647)::int"
_EACH_ROW = "(row_id %% 2147483647)::int) FROM unnest(%s::bigint[]) AS row_id"


class Claims:
    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn
        self.members: Counter[str] = Counter()  # held by this session, with depth
        self.rows: set[int] = set()
        # Members whose turns were running when the connection was lost: their claims
        # went with the session, so until each such turn has ended (and runs again
        # from the start), no turn commits (``PostgresStore._apply``).
        self.lost: set[str] = set()
        conn.on_lost.append(self.forget)

    def forget(self) -> None:
        """The session is gone, and the server let go of all it held."""
        self.lost.update(self.members)
        self.members.clear()
        self.rows.clear()

    def member(self, community: str, member: str) -> bool:
        key = f"{community}\x1f{member}"
        if self.members[key]:  # this process's own turn already holds them
            self.members[key] += 1
            return True
        row = self.conn.run(
            "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (key,)
        ).fetchone()
        if row and row[0]:
            self.members[key] += 1
            return True
        return False

    def release_member(self, community: str, member: str) -> None:
        key = f"{community}\x1f{member}"
        self.lost.discard(key)
        if not self.members[key]:
            return
        self.members[key] -= 1
        if not self.members[key]:
            del self.members[key]
            self.conn.run("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))

    def take_new(self, ids: list[int]) -> None:
        """New rows, not visible to anyone else yet: taken without contention."""
        if ids:
            self.conn.run(f"SELECT pg_advisory_lock({OUTBOX_CLASS}, {_EACH_ROW}", (ids,))
            self.rows.update(ids)

    def try_rows(self, ids: list[int]) -> list[int]:
        """Of these rows, those this process holds now (taken, or held before)."""
        held = []
        for row_id in ids:
            if row_id in self.rows:
                held.append(row_id)
                continue
            row = self.conn.run(
                f"SELECT pg_try_advisory_lock({OUTBOX_CLASS}, {_ROW_KEY})", (row_id,)
            ).fetchone()
            if row and row[0]:
                self.rows.add(row_id)
                held.append(row_id)
        return held

    def release_rows(self, ids: list[int]) -> None:
        held = [row_id for row_id in ids if row_id in self.rows]
        if held:
            self.conn.run(f"SELECT pg_advisory_unlock({OUTBOX_CLASS}, {_EACH_ROW}", (held,))
            self.rows.difference_update(held)
