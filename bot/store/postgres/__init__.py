"""The PostgreSQL store: the shared store of any number of Concord processes.

Chosen by a ``postgresql://`` (or ``postgres://``) URL as ``database`` in concord.yaml
or ``concord run --db``. The driver is psycopg 3 through its synchronous API: the store
Protocols (``bot.store.protocol``) are synchronous, as the SQLite store is, so the
engine calls both the same way. Nothing here imports psycopg: ``bot.store.postgres.store``
does, and only a PostgreSQL URL loads it, so SQLite users need neither psycopg nor libpq.

The modules: ``connection`` (opening, with one line per failure and never the
password), ``schema`` (numbered migrations under an advisory lock, and the mark that
the database is Concord's), ``store`` (the Store, sharing its SQL with SQLite through
``bot.store.sql_store``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

SCHEMES = ("postgresql", "postgres")


def is_postgres_url(database: object) -> bool:
    """Whether ``database`` (a config value or ``--db``) names a PostgreSQL database."""
    return isinstance(database, str) and urlsplit(database).scheme in SCHEMES


def redacted(url: str) -> str:
    """The URL to show: user, host, port and database; never a password (not in the
    user part, not in the query)."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"
