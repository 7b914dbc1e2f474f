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

from bot.store.postgres.batch import Prepared, Queued, Statement

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
    Outside ``pipeline``, psycopg prepares a statement on the server once it has run a
    few times; inside, each is prepared the first time.

    A server lost while Concord runs (stopped, restarted, a broken network) makes the
    operation that meets it raise ``StoreUnavailable``, after the ``on_lost`` calls
    (what the session held on the server is gone with it); the next operation
    connects again, and raises ``StoreUnavailable`` while the server is still away."""

    def __init__(self, url: str, raw: psycopg.Connection[Any]) -> None:
        self.url = url
        self._raw = raw
        self.on_lost: list[Callable[[], None]] = []
        self._noticed = False  # the loss of this connection reported to on_lost
        self._queued: list[Statement] | None = None  # see pipeline
        self._prepared = Prepared(raw)

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
                # Told the session is over before the socket closed (a shutdown met
                # while busy): closed here, so the next use connects.
                with suppress(psycopg.Error):
                    self._raw.close()
            self._lost()
            raise StoreUnavailable(f"{redacted(self.url)}: the connection was lost") from exc

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Rows:
        return self.run(placeholders(sql), parameters)

    def run(self, sql: str, parameters: Sequence[Any] = (), /) -> Rows:
        """A statement in psycopg's own placeholders (``%s``). Inside a pipeline it is
        queued: its result is there once read (which sends what is queued)."""
        if self._queued is not None:
            queued = Queued(self)
            self._queued.append((sql, parameters, queued))
            return queued
        with self.lost_server():
            return self.raw.execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> None:
        if self._queued is not None:  # queued with the rest, no wait of their own
            for row in parameters:
                self.execute(sql, row)
            return
        with self.lost_server(), self.raw.cursor() as cursor:
            cursor.executemany(placeholders(sql), parameters)

    @contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        """A transaction whose statements go to the server together (``pipeline``):
        the client waits where a result is read and once at the end of the outermost
        ``pipeline``. BEGIN and COMMIT are statements of the batch, so that nothing in
        between waits for them."""
        with self.pipeline():
            self.run("BEGIN")
            yield self
            self.run("COMMIT")

    @contextmanager
    def pipeline(self) -> Iterator[None]:
        """Statements queued and sent together (``bot.store.postgres.batch``): one
        message and one wait for all of them, each statement's values bound apart from
        its text. They go when a result is read, and at the end of the outermost
        block. A statement that fails stops the rest; an error in the block drops what
        is not sent yet, and a transaction it left open is rolled back."""
        if self._queued is not None:
            yield
            return
        self._queued = []
        try:
            yield
            self.sync()
        except BaseException:
            with self.lost_server():
                if not self._raw.broken and self._raw.info.transaction_status in _OPEN:
                    self._raw.execute("ROLLBACK")
            raise
        finally:
            self._queued = None

    def sync(self) -> None:
        """Inside ``pipeline``: send what is queued and read every result."""
        queued = self._queued
        if not queued:
            return
        self._queued = []
        with self.lost_server():
            self._session().run(queued)

    def _session(self) -> Prepared:
        """This session's prepared statements (a new one's, if the last was lost: they
        went with it)."""
        raw = self.raw  # (connected again if it was lost)
        if self._prepared.raw is not raw:
            self._prepared = Prepared(raw)
        return self._prepared

    def close(self) -> None:
        self._raw.close()

    @property
    def closed(self) -> bool:
        return self._raw.closed


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
