"""What a PostgreSQL store sends together (``PgConnection.pipeline``), on a real
throwaway cluster: one message and one wait for a batch, each statement's shape
prepared once per session, every value stored exactly as it was (bound by psycopg,
never pasted), and a batch that fails leaving nothing half-done."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from bot.store.postgres.connection import PgConnection, connect
from bot.store.postgres.store import PostgresStore
from tests.test_postgres import _rows
from tests.test_postgres_processes import NOW, a_turn


@pytest.fixture
def conn(postgres_url: str) -> Iterator[PgConnection]:
    connection = PgConnection(postgres_url, connect(postgres_url))
    connection.run("CREATE TABLE notes (id int PRIMARY KEY, body text)")
    try:
        yield connection
    finally:
        connection.close()


def _messages_sent(conn: PgConnection, work: Callable[[], None]) -> list[str]:
    """The kinds of the messages the client sent while ``work`` ran, from libpq's
    trace."""
    pgconn = conn.raw.pgconn
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            work()
        finally:
            pgconn.untrace()
        trace.seek(0)
        lines = trace.read().splitlines()
    return [line.split("\t")[2] for line in lines if line.startswith("F\t")]


def _prepared(conn: PgConnection) -> list[str]:
    rows = conn.run("SELECT statement FROM pg_prepared_statements").fetchall()
    return sorted(row[0] for row in rows)


def test_a_batch_goes_to_the_server_as_one_message(conn: PgConnection) -> None:
    def batch(first: int) -> None:
        with conn.transaction():
            conn.execute("INSERT INTO notes VALUES (?, ?)", (first, "one"))
            conn.execute("INSERT INTO notes VALUES (?, ?)", (first + 1, "two"))
            count = conn.run("SELECT count(*) FROM notes")
        assert count.fetchone() == (first + 1,)

    # The first time, its statements are prepared first, in a message of their own.
    assert _messages_sent(conn, lambda: batch(1)) == ["Query", "Query"]
    assert _messages_sent(conn, lambda: batch(3)) == ["Query"]
    assert conn.run("SELECT body FROM notes ORDER BY id").fetchall() == [("one",), ("two",)] * 2


def test_reading_a_result_sends_what_is_queued_before_it(conn: PgConnection) -> None:
    with conn.pipeline():
        conn.execute("INSERT INTO notes VALUES (?, ?)", (1, "one"))
        assert conn.run("SELECT body FROM notes").fetchall() == [("one",)]
        inserted = conn.execute("INSERT INTO notes VALUES (?, ?)", (2, "two"))
        assert inserted.rowcount == 1


def test_each_statement_is_prepared_once_a_session(conn: PgConnection) -> None:
    for n in range(3):
        with conn.pipeline():
            conn.execute("INSERT INTO notes VALUES (?, ?)", (n, f"note {n}"))
            read = conn.execute("SELECT body FROM notes WHERE id = ?", (n,))
        assert read.fetchone() == (f"note {n}",)
    # Prepared by a message of its own: the server keeps its text, with no value in it.
    assert (
        _prepared(conn)
        == [
            "PREPARE concord_1 AS INSERT INTO notes VALUES ($1, $2);\n"
            "PREPARE concord_2 AS SELECT body FROM notes WHERE id = $1"
        ]
        * 2
    )


TRICKY = [
    "'); DROP TABLE notes; --",
    "back\\slash \\' and E'\\x41'",
    "100% of %s and %(name)s and $1, $$dollar$$",
    "semi; colon\nnew line\ttab",
    "Ünïcödé — 名前 🙂",
    "",
]


def test_every_value_is_stored_exactly_as_it_was(conn: PgConnection) -> None:
    with conn.transaction():
        for n, text in enumerate(TRICKY):
            conn.execute("INSERT INTO notes VALUES (?, ?)", (n, text))
    with conn.pipeline():
        read = conn.execute("SELECT body FROM notes WHERE body = ANY(?) ORDER BY id", (TRICKY,))
        like = conn.execute("SELECT count(*) FROM notes WHERE body LIKE '100%'")
    assert [row[0] for row in read.fetchall()] == TRICKY
    assert like.fetchone() == (1,)  # a literal % in the statement is the operator's


def test_a_failed_batch_stops_where_it_failed_and_keeps_nothing(conn: PgConnection) -> None:
    conn.execute("INSERT INTO notes VALUES (?, ?)", (1, "kept"))
    with pytest.raises(psycopg.errors.UniqueViolation), conn.transaction():
        conn.execute("INSERT INTO notes VALUES (?, ?)", (2, "rolled back"))
        conn.execute("INSERT INTO notes VALUES (?, ?)", (1, "a duplicate"))
        conn.execute("UPDATE notes SET body = ? WHERE id = ?", ("never run", 1))
    assert conn.raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert conn.run("SELECT id, body FROM notes").fetchall() == [(1, "kept")]
    # The statement after the failure was never prepared: it is, when it next runs.
    with conn.pipeline():
        updated = conn.execute("UPDATE notes SET body = ? WHERE id = ?", ("changed", 1))
    assert updated.rowcount == 1
    assert conn.run("SELECT body FROM notes").fetchall() == [("changed",)]


def test_an_error_in_the_block_rolls_back_what_was_sent(conn: PgConnection) -> None:
    with pytest.raises(RuntimeError), conn.transaction():
        conn.execute("INSERT INTO notes VALUES (?, ?)", (1, "sent"))
        conn.sync()  # on the server, in the open transaction
        conn.execute("INSERT INTO notes VALUES (?, ?)", (2, "queued"))
        raise RuntimeError("the turn failed")
    assert conn.raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert conn.run("SELECT count(*) FROM notes").fetchone() == (0,)


def test_a_redelivered_event_writes_nothing_and_keeps_the_sent_marks(
    postgres_url: str, tmp_path: Path
) -> None:
    """The event's id goes in without a wait; a re-delivery the member's claim did not
    catch fails the commit: nothing of it is written, and the marks that rode with it
    go with the next commit (the delivered row is not sent again)."""
    store = PostgresStore(postgres_url, path=tmp_path / "x.db")
    try:
        [delivered] = store.apply(a_turn("e1", "hello")) or []
        store.mark_sent_later(delivered.id, NOW)
        assert store.apply(a_turn("e1", "hello again")) is None
        assert _rows(postgres_url, "SELECT id FROM outbox") == [(delivered.id,)]
        assert store.apply(a_turn("e2")) == []  # the mark goes with it
        assert _rows(postgres_url, "SELECT id FROM outbox") == []
        assert store.pending_outbox() == []
    finally:
        store.close()
