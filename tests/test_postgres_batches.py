"""What a PostgreSQL store sends together (``PgConnection.pipeline``), on a real
throwaway cluster: one wait for a batch, each statement's shape prepared once per
session, every value stored exactly as it was and sent apart from the statement's text
(so a failed statement's values never reach the server's log), and a batch that fails
leaving nothing half-done."""

from __future__ import annotations

import os
import resource
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from bot.store.postgres.connection import PgConnection, connect
from bot.store.postgres.store import PostgresStore
from tests.postgres_server import Cluster
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


def test_a_batch_goes_to_the_server_with_one_wait(conn: PgConnection) -> None:
    def batch(first: int) -> None:
        with conn.transaction():
            conn.execute("INSERT INTO notes VALUES (?, ?)", (first, "one"))
            conn.execute("INSERT INTO notes VALUES (?, ?)", (first + 1, "two"))
            count = conn.run("SELECT count(*) FROM notes")
        assert count.fetchone() == (first + 1,)

    # One Sync ends the batch: the only point where the client waits. The first time,
    # each shape's preparation (a named Parse) goes with it; BEGIN and COMMIT are
    # parsed unnamed each time.
    first = _messages_sent(conn, lambda: batch(1))
    assert first.count("Sync") == 1 and first[-1] == "Sync"
    assert first.count("Parse") == 4 and "Query" not in first and "Flush" not in first
    again = _messages_sent(conn, lambda: batch(3))
    assert again.count("Sync") == 1 and again[-1] == "Sync"
    assert again.count("Parse") == 2 and again.count("Execute") == 5
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
    # Each shape once, as its text: no value in it.
    assert _prepared(conn) == [
        "INSERT INTO notes VALUES ($1, $2)",
        "SELECT body FROM notes WHERE id = $1",
    ]


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


def test_a_failed_statement_leaves_its_values_out_of_the_server_log(
    postgres_cluster: Cluster, conn: PgConnection
) -> None:
    """The server logs a failed statement's text (``log_min_error_statement``, ERROR by
    default): the batch's values, what members wrote, are not in it."""
    private = f"private words {uuid.uuid4().hex}"
    conn.execute("INSERT INTO notes VALUES (?, ?)", (1, "kept"))
    with pytest.raises(psycopg.errors.UniqueViolation), conn.transaction():
        conn.execute("INSERT INTO notes VALUES (?, ?)", (2, private))
        conn.execute("INSERT INTO notes VALUES (?, ?)", (1, private))
    log = (postgres_cluster.folder / "log").read_text(errors="replace")
    assert "STATEMENT:  INSERT INTO notes VALUES ($1, $2)" in log
    assert private not in log


def test_a_batch_waiting_for_the_server_lets_the_other_threads_run(
    postgres_url: str, conn: PgConnection
) -> None:
    """The batch below waits for a lock that only this thread can release, after
    seeing it wait: if the waiting held the interpreter's lock, this thread could not
    run, and the batch would give up at its lock timeout."""
    holder = psycopg.connect(postgres_url, autocommit=True)
    conn.run("SET lock_timeout = '20s'")
    outcome: list[object] = []

    def batch() -> None:
        try:
            with conn.pipeline():
                taken = conn.run("SELECT pg_advisory_lock(42), 'taken'")
            outcome.append(taken.fetchone()[1])
        except psycopg.Error as exc:
            outcome.append(exc)

    try:
        holder.execute("SELECT pg_advisory_lock(42)")
        waiting = threading.Thread(target=batch)
        waiting.start()
        seen = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        while not holder.execute(seen).fetchone()[0] and waiting.is_alive():
            threading.Event().wait(0.01)
        holder.execute("SELECT pg_advisory_unlock(42)")
        waiting.join(30)
    finally:
        holder.close()
    assert outcome == ["taken"]


def test_a_batch_waits_on_a_socket_numbered_past_what_select_takes(postgres_url: str) -> None:
    """A process with many files open (a deployment's sockets, its log files) gets a
    connection whose socket number is 1024 or more: its batches are still sent and
    answered."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard == resource.RLIM_INFINITY or hard > 1100, "the test needs 1,100 files open"
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1100), hard))
    held: list[int] = []
    try:
        while not held or held[-1] < 1030:
            held.append(os.open(os.devnull, os.O_RDONLY))
        conn = PgConnection(postgres_url, connect(postgres_url))
        try:
            assert conn.raw.pgconn.socket > 1024
            with conn.pipeline():
                answer = conn.execute("SELECT ?::text || pg_sleep(0.1)", ("slow",))
            assert answer.fetchone() == ("slow",)
        finally:
            conn.close()
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


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
