"""Sending a batch of statements to PostgreSQL together, with their values apart.

The batch goes in libpq's pipeline mode: each statement's Bind message carries its
values, and one Sync ends the batch, so the client sends once and waits once for all
of it. The values never become part of a statement's text: the server's log
(``log_min_error_statement``) and ``pg_stat_activity`` show a statement as its
placeholders (``$1``), never what a member wrote. Each statement's shape is prepared
once a session (``Prepared``); its preparation rides with the first batch that uses it.

A statement that fails makes the server skip the rest of the batch (each comes back
aborted); the first error is raised once every result has been read, so the
connection is ready for the next statement whatever happened.
"""

from __future__ import annotations

import re
import select
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any, Protocol

import psycopg
from psycopg.adapt import PyFormat, Transformer
from psycopg.errors import error_from_result
from psycopg.pq import ConnStatus, ExecStatus

from bot.core.errors import StoreError

_FAILED = (ExecStatus.FATAL_ERROR, ExecStatus.PIPELINE_ABORTED)
_PREPARABLE = {"SELECT", "INSERT", "UPDATE", "DELETE"}
_PLACEHOLDER = re.compile(r"%%|%s")


class _Syncs(Protocol):
    def sync(self) -> None: ...


class Queued:
    """The result of a statement queued in a pipeline: reading it sends the queue."""

    def __init__(self, conn: _Syncs) -> None:
        self._conn = conn
        self.rows: list[Any] | None = None
        self.count = -1

    def _result(self) -> list[Any]:
        if self.rows is None:
            self._conn.sync()
        if self.rows is None:  # its batch was sent, and failed before it
            raise StoreError("a statement of a failed batch has no result")
        return self.rows

    @property
    def rowcount(self) -> int:
        self._result()
        return self.count

    def fetchone(self) -> Any:
        rows = self._result()
        return rows[0] if rows else None

    def fetchall(self) -> list[Any]:
        return self._result()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._result())


Statement = tuple[str, Sequence[Any], Queued]  # SQL in psycopg's placeholders, values


class Prepared:
    """One session's statements prepared on the server, by their SQL (each runs by its
    name, planned once a session), and how its values are adapted."""

    LIMIT = 1000  # shapes kept; more run unnamed

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        self.names: dict[str, bytes] = {}
        self.transformer = Transformer(raw)
        self._made = 0

    def new_name(self, sql: str) -> bytes | None:
        """A name for a shape not prepared yet, if it is one to prepare (and the count
        is not up; a name is never given twice, even if its preparation failed)."""
        if sql.lstrip()[:6].upper() not in _PREPARABLE or len(self.names) >= self.LIMIT:
            return None
        self._made += 1
        return f"concord_{self._made}".encode()

    def run(self, batch: list[Statement]) -> None:
        """Send the statements together and read every result into its ``Queued``;
        raise the first statement's error, if one failed (those after it did not run).
        A value that cannot be adapted raises before anything is sent."""
        dump = self.transformer.dump_sequence
        values = [dump(params, [PyFormat.TEXT] * len(params)) for _, params, _ in batch]
        pgconn = self.raw.pgconn
        pgconn.enter_pipeline_mode()
        try:
            expected = self._send(batch, values)
            pgconn.pipeline_sync()
            self._flush()
            error = self._read(expected)
        finally:
            self._end_pipeline()
        if error is not None:
            raise error

    def _end_pipeline(self) -> None:
        pgconn = self.raw.pgconn
        if pgconn.status != ConnStatus.OK:
            return  # lost: the next use connects again
        try:
            pgconn.exit_pipeline_mode()
        except psycopg.Error:
            # Results left unread (an interrupt while waiting): the session cannot go
            # on, so it ends here, and the next use connects again.
            self.raw.close()

    def _send(self, batch: list[Statement], values: list[Sequence[Any]]) -> Expected:
        pgconn = self.raw.pgconn
        expected: Expected = []
        preparing: dict[str, bytes] = {}
        for (sql, _, result), bound in zip(batch, values, strict=True):
            name = self.names.get(sql) or preparing.get(sql)
            if name is None and (name := self.new_name(sql)) is not None:
                # No types given: the server infers each value's from the statement,
                # for this execution and every one after.
                pgconn.send_prepare(name, numbered(sql).encode())
                preparing[sql] = name
                expected.append((sql, name))
            if name is not None:
                pgconn.send_query_prepared(name, bound or None)
            else:
                pgconn.send_query_params(numbered(sql).encode(), bound or None)
            expected.append(result)
        return expected

    # The client waits on the socket, with the interpreter's lock free (libpq's own
    # waits would hold it, and stop every other thread of the process meanwhile).

    def _flush(self) -> None:
        pgconn = self.raw.pgconn
        while pgconn.flush():  # the socket's buffer is full: wait, reading what comes
            wait_for(pgconn.socket, writing=True)
            pgconn.consume_input()

    def _result(self) -> psycopg.pq.abc.PGresult | None:
        pgconn = self.raw.pgconn
        while pgconn.is_busy():
            wait_for(pgconn.socket)
            pgconn.consume_input()
        return pgconn.get_result()

    def _read(self, expected: Expected) -> psycopg.Error | None:
        """Every result, in order, then the batch's end; the first error."""
        pgconn, transformer = self.raw.pgconn, self.transformer
        error: psycopg.Error | None = None
        for what in expected:
            answer = self._result()
            if answer is None or pgconn.status != ConnStatus.OK:
                raise self._lost(answer)
            status = answer.status
            if status in _FAILED:
                if error is None and status == ExecStatus.FATAL_ERROR:
                    error = error_from_result(answer, self.raw.info.encoding)
            elif isinstance(what, tuple):
                self.names[what[0]] = what[1]
            else:
                transformer.set_pgresult(answer)
                rows = status == ExecStatus.TUPLES_OK
                what.rows = transformer.load_rows(0, answer.ntuples, tuple) if rows else []
                tuples = answer.command_tuples
                what.count = -1 if tuples is None else tuples
            self._result()  # (None: the end of this statement's results)
        end = self._result()
        if end is None or end.status != ExecStatus.PIPELINE_SYNC:
            raise self._lost(end)
        return error

    def _lost(self, answer: psycopg.pq.abc.PGresult | None) -> psycopg.OperationalError:
        """The connection failed while a batch was out: an OperationalError (what the
        server said, if it said anything, is its cause)."""
        cause = None
        if answer is not None and answer.status == ExecStatus.FATAL_ERROR:
            cause = error_from_result(answer, self.raw.info.encoding)
        message = self.raw.pgconn.error_message.decode("utf-8", "replace").strip()
        lost = psycopg.OperationalError(message or "the connection to PostgreSQL was lost")
        lost.__cause__ = cause
        return lost


# What each result the server sends back belongs to: a preparation (the SQL and the
# name it is being prepared as) or a statement.
Expected = list[tuple[str, bytes] | Queued]


def wait_for(socket: int, writing: bool = False) -> None:
    """Until the socket can be read (or, ``writing``, read or written). ``poll``, not
    ``select``: a process with many files open gives sockets numbers ``select`` cannot
    take (1024 and up); ``select`` only where there is no ``poll`` (Windows)."""
    if _POLL is None:
        select.select([socket], [socket] if writing else [], [])
        return
    poller = _POLL()
    poller.register(socket, select.POLLIN | (select.POLLOUT if writing else 0))
    poller.poll()


_POLL = getattr(select, "poll", None)


@lru_cache(maxsize=1024)
def numbered(sql: str) -> str:
    """A statement in psycopg's placeholders (``%s``, ``%%``) in PostgreSQL's own
    (``$1``, ``$2``... and ``%``)."""
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group() == "%%":
            return "%"
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(number, sql)
