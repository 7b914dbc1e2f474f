"""Opening a PostgreSQL connection, and the ``?`` placeholders the shared SQL uses.

A failure to connect becomes one ``StoreError`` line that names what to fix (the
server, the credentials, the database's name) and shows the URL without its password.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import lru_cache
from typing import Any

from bot.core.errors import StoreError, StoreUnavailable
from bot.store.postgres import redacted
from bot.store.sql import Rows

try:
    import psycopg
except ImportError as exc:  # psycopg installed, libpq not found: psycopg says which
    if exc.name == "psycopg":
        raise StoreError(
            "the PostgreSQL store needs its extra: pip install 'concord-bot[postgres]'"
        ) from exc
    raise StoreError(
        "psycopg cannot load libpq: install the binary build (pip install"
        " 'concord-bot[postgres]') or libpq (apt-get install libpq5)"
    ) from exc

_OPEN = (psycopg.pq.TransactionStatus.INTRANS, psycopg.pq.TransactionStatus.INERROR)
_CREDENTIALS = ("28P01", "28000")  # invalid password; invalid authorization
_NO_DATABASE = "3D000"


def _ended_by_server(error: BaseException | None) -> bool:
    """Whether the server ended the session (shutting down, restarting: SQLSTATE class
    57P; a connection exception: class 08), in ``error`` or the error it arose from."""
    while error is not None:
        state = getattr(error, "sqlstate", None) or ""
        if state.startswith(("57P", "08")):
            return True
        error = error.__cause__ or error.__context__
    return False


@lru_cache(maxsize=1024)
def placeholders(sql: str) -> str:
    """The shared statements' ``?`` as psycopg's ``%s`` (and a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgConnection:
    """A psycopg connection that takes the shared SQL as it is (``?`` placeholders).
    psycopg prepares a statement on the server once it has run a few times.

    A server lost while Concord runs (stopped, restarted, a broken network) makes the
    operation that meets it raise ``StoreUnavailable``, after the ``on_lost`` calls
    (what the session held on the server is gone with it); the next operation
    connects again, and raises ``StoreUnavailable`` while the server is still away."""

    def __init__(self, url: str, raw: psycopg.Connection[Any]) -> None:
        self.url = url
        self._raw = raw
        self.on_lost: list[Callable[[], None]] = []
        self._noticed = False  # the loss of this connection reported to on_lost
        self._pipeline: psycopg.Pipeline | None = None

    @property
    def raw(self) -> psycopg.Connection[Any]:
        if self._raw.closed or self._raw.broken:
            self._lost()
            try:
                self._raw = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
            except psycopg.OperationalError as exc:
                raise StoreUnavailable(connect_failure(self.url, exc)) from None
            self._noticed = False
        return self._raw

    def _lost(self) -> None:
        if not self._noticed:
            self._noticed = True
            for call in self.on_lost:
                call()

    @contextmanager
    def lost_server(self) -> Iterator[None]:
        """A server that went away raises StoreUnavailable; any other error as it is."""
        try:
            yield
        except psycopg.OperationalError as exc:
            if not (self._raw.closed or self._raw.broken):
                if not _ended_by_server(exc):
                    raise
                # Told the session is over before the socket closed (a pipeline that
                # met the shutdown while busy): closed here, so the next use connects.
                with suppress(psycopg.Error):
                    self._raw.close()
            self._lost()
            raise StoreUnavailable(f"{redacted(self.url)}: the connection was lost") from exc

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Rows:
        return self.run(placeholders(sql), parameters)

    def run(self, sql: str, parameters: Sequence[Any] = (), /) -> Rows:
        """A statement in psycopg's own placeholders (``%s``). Inside a pipeline its
        rows are fetched when read, and its ``rowcount`` waits for it (``Piped``)."""
        with self.lost_server():
            cursor = self.raw.execute(sql, parameters)
        if self._pipeline is not None:
            return Piped(cursor, self)
        return cursor

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> None:
        if self._pipeline is not None:  # queued with the rest, no wait of their own
            for row in parameters:
                self.execute(sql, row)
            return
        with self.lost_server(), self.raw.cursor() as cursor:
            cursor.executemany(placeholders(sql), parameters)

    @contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        """A transaction whose statements go to the server together (pipeline mode):
        the client waits where a result is read (a fetch, a ``rowcount``) and once at
        the end of the outermost ``pipeline``. BEGIN and COMMIT are sent as
        statements, so that nothing in between waits for them."""
        with self.pipeline():
            self.raw.execute("BEGIN")
            try:
                yield self
            except BaseException:
                self.raw.execute("ROLLBACK")
                raise
            self.raw.execute("COMMIT")

    @contextmanager
    def pipeline(self) -> Iterator[None]:
        """Statements sent together; each result is there once the outermost block
        ends, or earlier when it is read. Outside ``transaction`` the statements up to
        a wait run as one transaction: put statements that must commit before the next
        one runs in a ``transaction``."""
        if self._pipeline is not None:
            yield
            return
        with self.lost_server():
            try:
                with self.raw.pipeline() as pipeline:
                    self._pipeline = pipeline
                    try:
                        yield
                    finally:
                        self._pipeline = None
            except psycopg.Error:
                # A statement failed: what followed was skipped, COMMIT with it.
                if not self._raw.broken and self._raw.info.transaction_status in _OPEN:
                    self._raw.execute("ROLLBACK")
                raise

    def sync(self) -> None:
        """Inside ``pipeline``: wait for every result so far (each cursor's
        ``rowcount`` is known after it)."""
        if self._pipeline is not None:
            with self.lost_server():
                self._pipeline.sync()

    def close(self) -> None:
        self._raw.close()

    @property
    def closed(self) -> bool:
        return self._raw.closed


class Piped:
    """A cursor of a statement sent in a pipeline: its ``rowcount`` is known only once
    its result is back, so reading it waits for the results so far (fetching rows
    does so by itself)."""

    def __init__(self, cursor: psycopg.Cursor[Any], conn: PgConnection) -> None:
        self._cursor = cursor
        self._conn = conn

    @property
    def rowcount(self) -> int:
        if self._cursor.pgresult is None:
            self._conn.sync()
        return self._cursor.rowcount

    def fetchone(self) -> Any:
        with self._conn.lost_server():
            return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        with self._conn.lost_server():
            return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


def connect(url: str) -> psycopg.Connection[Any]:
    """An autocommit connection (transactions are explicit), or a StoreError naming
    what to fix."""
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise StoreError(connect_failure(url, exc)) from None
    except psycopg.ProgrammingError as exc:  # a URL libpq cannot read
        raise StoreError(f"{redacted(url)}: not a PostgreSQL URL libpq can read") from exc


def connect_failure(url: str, exc: psycopg.Error) -> str:
    """One line: what failed and what to fix, without the password."""
    shown = redacted(url)
    text = str(exc)
    state = exc.sqlstate or ""
    if state in _CREDENTIALS or "password" in text or "authentication failed" in text:
        return (
            f"{shown}: the server refused the user name or password: check the user and"
            " password (in the URL, PGPASSWORD or ~/.pgpass)"
        )
    if state == _NO_DATABASE or ("database" in text and "does not exist" in text):
        return f"{shown}: the server has no such database: create it or correct its name"
    return (
        f"{shown}: cannot reach the PostgreSQL server: check the host and port in the URL"
        " and that the server is running"
    )
