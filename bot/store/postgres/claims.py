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

Statements go to the server together where nothing needs an answer in between (one
message, ``PgConnection.pipeline``), and the server runs them in order: a member's
claim and the read of their conversation, profile and linked accounts in one round
trip (the read sees every commit made before it began, so the last holder's); a
turn's commit, then the release of its member's claim and of the
claims of the rows it marked sent (one statement), in another (a claim released
before the commit would let another process run a turn on the state before it, or
find a row pending and deliver it again). A commit that fails skips what follows it:
the claims stay, and the turn lets its member go as it ends. New outbox rows are
claimed by the statement that inserts them.

Members are keyed by a 64-bit hash of community and member (a collision only makes two
members wait for each other, never breaks anything); outbox rows by two 32-bit keys
(class, row id), a key space PostgreSQL keeps apart from the 64-bit one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from bot.store.postgres.connection import PgConnection
from bot.store.turn_writes import NewIds, OutboxRow

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
        self.session = 0  # counts the sessions lost, each with all it held
        conn.on_lost.append(self.forget)

    def forget(self) -> None:
        """The session is gone, and the server let go of all it held."""
        self.session += 1
        self.lost.update(self.members)
        self.members.clear()
        self.rows.clear()

    def member(self, community: str, member: str) -> Callable[[], bool]:
        """Try to claim the member; whether it was, once read (inside a pipeline, the
        statements queued after this one go with it, and run after it)."""
        key = f"{community}\x1f{member}"
        if self.members[key]:  # this process's own turn already holds them
            self.members[key] += 1
            return lambda: True
        cursor = self.conn.run("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (key,))

        def claimed() -> bool:
            row = cursor.fetchone()
            if row and row[0]:
                self.members[key] += 1
                return True
            return False

        return claimed

    def release_member(self, community: str, member: str) -> None:
        key = f"{community}\x1f{member}"
        self.lost.discard(key)
        if not self.members[key]:
            return
        self.members[key] -= 1
        if not self.members[key]:
            del self.members[key]
            self.conn.run("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))

    def release_with_commit(self, ids: list[int], turn: tuple[str, str] | None) -> bool:
        """Inside a pipeline, after a COMMIT: the claims of these rows (their marks
        rode with it) and of the turn's member (``turn``: community, member) go, in
        one statement the server runs after the commit, in the same wait; the member
        stays if this session holds them for an outer turn too. Whether the member's
        release was sent: if the pipeline fails, nothing after the failed statement
        ran (``keep_member``)."""
        key = f"{turn[0]}\x1f{turn[1]}" if turn is not None else ""
        member = bool(key) and self.members[key] == 1
        if not member:
            self.release_rows(ids)
            return False
        del self.members[key]
        held = [row_id for row_id in ids if row_id in self.rows]
        unlock = "SELECT pg_advisory_unlock(hashtextextended(%s, 0))"
        if not held:
            self.conn.run(unlock, (key,))
            return True
        rows = f"SELECT pg_advisory_unlock({OUTBOX_CLASS}, {_EACH_ROW}"
        self.conn.run(f"{unlock} UNION ALL {rows}", (key, held))
        self.rows.difference_update(held)
        return True

    def keep_member(self, community: str, member: str, *, lost: bool) -> None:
        """The pipeline that was to release the member failed before it did: still
        held (``release_member`` lets go), or, if the session was ``lost`` meanwhile,
        gone with it, as the claims of the turns still running (``forget``)."""
        key = f"{community}\x1f{member}"
        if lost:
            self.lost.add(key)
        else:
            self.members[key] = 1

    def insert_new(self, rows: list[OutboxRow]) -> NewIds:
        """Inside a transaction: insert outbox rows, each taken as it is made (not
        visible to anyone else yet: without contention). The ids, in order, once
        read after the commit. (A transaction rolled back keeps the claims of rows
        that never were: their ids are never given again, so nobody waits for them.)"""
        if not rows:
            return list
        values = ",".join(["(%s, %s, %s, %s)"] * len(rows))
        cursor = self.conn.run(
            f"INSERT INTO outbox (community, platform, action, created_at) VALUES {values}"
            f" RETURNING id, pg_try_advisory_lock({OUTBOX_CLASS}, (id %% 2147483647)::int)",
            [value for row in rows for value in row],
        )

        def ids() -> list[int]:
            # The identity numbers the rows in the order of the VALUES.
            made = sorted(int(row[0]) for row in cursor.fetchall())
            self.rows.update(made)
            return made

        return ids

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
