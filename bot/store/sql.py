"""The SQL connection every backend's shared statements run on.

SQLite's ``sqlite3.Connection`` satisfies ``Connection`` as it is; the PostgreSQL
store hands a thin wrapper that speaks the same ``?`` placeholders. Statements kept in
the shared modules (``turn_writes``, ``case_sql``, ``privacy``, ``outbox``, ``cases``)
use only SQL both engines read alike: upserts with ``ON CONFLICT``, ``substr``,
``length``, ``lower``, ``replace``, ``LIKE ... ESCAPE``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol


class Rows(Protocol):
    """The cursor a statement returns."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Rows: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> object: ...


def like_escaped(text: str) -> str:
    """``text`` for a ``LIKE ... ESCAPE '\\'`` pattern: its own ``%`` and ``_`` match
    only themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
