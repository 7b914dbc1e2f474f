"""``concord check`` on a PostgreSQL URL: reachable, credentials accepted, owned by
Concord, migrated. Reads only: a database is never written by a check."""

from __future__ import annotations

from bot.core.errors import StoreError
from bot.store.postgres import redacted
from bot.store.postgres.connection import connect
from bot.store.postgres.schema import LATEST, inspect, refusal


def describe(url: str) -> str:
    """One line saying what the database is to Concord; a StoreError (one line naming
    what to fix) when Concord cannot use it: an unreachable server, refused
    credentials, another program's database, a schema newer than this Concord."""
    shown = redacted(url)
    with connect(url) as conn:
        found = inspect(conn)
    reason = refusal(found)
    if reason is not None:
        raise StoreError(f"{shown}: {reason}")
    if not found.marked:
        return f"{shown}: OK: empty; concord run creates Concord's tables (schema {LATEST})"
    if found.version < LATEST:
        return (
            f"{shown}: OK: Concord's database at schema version {found.version};"
            f" concord run migrates it to {LATEST}"
        )
    return f"{shown}: OK: Concord's database, schema version {found.version} (up to date)"
