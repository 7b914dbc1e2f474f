"""Numbered schema migrations. Append new ones; never edit one that has shipped."""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlite_utils

from bot.core.progress import Steps
from bot.store.id_blocks import COUNTER as ID_COUNTER
from bot.store.lease_sql import SCHEMA as LEASES_SCHEMA
from bot.store.link_sql import DISCLOSURE_SCHEMA
from bot.store.link_sql import SCHEMA as LINKS_SCHEMA
from bot.store.outbox import DELIVERED_ROWS, NO_PENDING_INDEX

log = logging.getLogger(__name__)

MEMBER_COMMUNITIES_INDEX = "CREATE INDEX profiles_member ON profiles (member)"


def _m1_core(db: sqlite_utils.Database) -> None:
    db.table("inbox").create({"event_key": str, "seen_at": str}, pk="event_key")
    db.table("conversations").create(
        {"community": str, "member": str, "state": str, "updated_at": str},
        pk=("community", "member"),
    )
    db.table("profiles").create(
        {"community": str, "member": str, "profile": str, "updated_at": str},
        pk=("community", "member"),
    )
    db.execute(
        "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, community TEXT NOT NULL,"
        " platform TEXT NOT NULL, action TEXT NOT NULL, created_at TEXT NOT NULL,"
        " sent_at TEXT, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT)"
    )
    db.execute("CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL")
    db.execute(
        "CREATE TABLE timers (id INTEGER PRIMARY KEY AUTOINCREMENT, community TEXT NOT NULL,"
        " member TEXT NOT NULL, member_ref TEXT NOT NULL, kind TEXT NOT NULL,"
        " due_at TEXT NOT NULL, payload TEXT NOT NULL DEFAULT '',"
        " UNIQUE (community, member, kind))"
    )
    db.execute("CREATE INDEX timers_due ON timers (due_at)")
    db.table("acknowledgements").create(
        {"community": str, "member": str, "version": str, "at": str},
        pk=("community", "member", "version"),
    )
    db.table("mentorships").create(
        {"community": str, "mentee": str, "mentor": str, "at": str},
        pk=("community", "mentee"),
    )
    db.execute("CREATE INDEX mentorships_mentor ON mentorships (community, mentor)")
    db.execute(
        "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, community TEXT NOT NULL,"
        " at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,"
        " subject TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '')"
    )
    db.table("cursors").create({"name": str, "position": str}, pk="name")


def _m2_cases(db: sqlite_utils.Database) -> None:
    """Cases (mediations now; reports and appeals later) as one kind of record."""
    db.execute(
        "CREATE TABLE cases (id INTEGER PRIMARY KEY, community TEXT NOT NULL,"
        " kind TEXT NOT NULL, status TEXT NOT NULL, opened_by TEXT NOT NULL,"
        " mediator TEXT, space TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
        " data TEXT NOT NULL DEFAULT '{}')"
    )
    db.execute("CREATE INDEX cases_space ON cases (community, space)")
    db.execute(
        "CREATE TABLE case_members (case_id INTEGER NOT NULL, member TEXT NOT NULL,"
        " member_ref TEXT NOT NULL, role TEXT NOT NULL, state TEXT NOT NULL DEFAULT '{}',"
        " PRIMARY KEY (case_id, member))"
    )
    db.execute("CREATE INDEX case_members_member ON case_members (member)")
    db.execute(
        "CREATE TABLE case_texts (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " case_id INTEGER NOT NULL, author TEXT NOT NULL, kind TEXT NOT NULL,"
        " text TEXT NOT NULL, shared INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX case_texts_case ON case_texts (case_id)")
    db.execute(
        "CREATE TABLE case_audit (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " case_id INTEGER NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL,"
        " action TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '')"
    )
    db.execute(
        "CREATE TABLE invitations (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " community TEXT NOT NULL, requester TEXT NOT NULL, target TEXT NOT NULL,"
        " case_id INTEGER NOT NULL, at TEXT NOT NULL, outcome TEXT NOT NULL DEFAULT 'pending')"
    )
    db.execute("CREATE INDEX invitations_pair ON invitations (community, requester, target)")
    db.execute(
        "CREATE TABLE blocks (community TEXT NOT NULL, target TEXT NOT NULL,"
        " requester TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (community, target, requester))"
    )
    db.execute("CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")


# Adapter records kept per member before migration 3, as cursors named
# ``<platform>:<name>:<member id>``.
_MEMBER_CURSORS = (
    ("telegram", "member"),
    ("telegram", "sent"),
    ("matrix", "dm"),
    ("matrix", "sent"),
    ("discord", "sent"),
)


def _m3_member_records(db: sqlite_utils.Database) -> None:
    """Adapter records about one member, keyed exactly by platform and member id, so
    that ``/forget`` erases theirs and nobody else's (no pattern over a name)."""
    db.execute(
        "CREATE TABLE member_records (platform TEXT NOT NULL, member TEXT NOT NULL,"
        " name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (platform, member, name))"
    )
    for platform, name in _MEMBER_CURSORS:
        prefix = f"{platform}:{name}:"
        match = "substr(name, 1, ?) = ? AND length(name) > ?"
        args = (len(prefix), prefix, len(prefix))
        db.execute(
            "INSERT OR REPLACE INTO member_records"
            f" SELECT ?, substr(name, ?), ?, position FROM cursors WHERE {match}",
            (platform, len(prefix) + 1, name, *args),
        )
        db.execute(f"DELETE FROM cursors WHERE {match}", args)


def _m4_no_delivered_text(db: sqlite_utils.Database) -> None:
    """Delivered (and set aside) actions keep no text: delivery needs none once sent."""
    db.execute("UPDATE outbox SET action = '' WHERE sent_at IS NOT NULL")


def _m5_case_numbers(db: sqlite_utils.Database) -> None:
    """Cases are numbered per kind (report 1, mediation case 1). Existing cases keep
    the number they were given (their id), and each kind counts on from its highest."""
    db.execute("ALTER TABLE cases ADD COLUMN number INTEGER")
    db.execute("UPDATE cases SET number = id")
    db.execute("CREATE UNIQUE INDEX cases_number ON cases (community, kind, number)")


def _m6_health_counts(db: sqlite_utils.Database) -> None:
    """Daily health counts: numbers per day, metric, platform and language, written
    with the turn that causes them; no column can name a member."""
    db.execute(
        "CREATE TABLE health_counts (community TEXT NOT NULL, day TEXT NOT NULL,"
        " metric TEXT NOT NULL, platform TEXT NOT NULL, language TEXT NOT NULL,"
        " count INTEGER NOT NULL,"
        " PRIMARY KEY (community, day, metric, platform, language))"
    )


def _m7_links(db: sqlite_utils.Database) -> None:
    """Linked accounts of one member across platforms, and one-time linking codes
    (kept as hashes)."""
    for statement in LINKS_SCHEMA:
        db.execute(statement)


def _m8_compact_inbox(db: sqlite_utils.Database) -> None:
    """The inbox keeps each event id once: in its key, without a rowid beside it (the
    ids were stored twice, in the table and in the index of its key)."""
    db.execute(
        "CREATE TABLE inbox_keys (event_key TEXT PRIMARY KEY, seen_at TEXT NOT NULL) WITHOUT ROWID"
    )
    db.execute("INSERT INTO inbox_keys SELECT event_key, seen_at FROM inbox")
    db.execute("DROP TABLE inbox")
    db.execute("ALTER TABLE inbox_keys RENAME TO inbox")


def _m9_link_disclosures(db: sqlite_utils.Database) -> None:
    """Linked accounts a member shows the moderators of one of their cases."""
    for statement in DISCLOSURE_SCHEMA:
        db.execute(statement)


def _m10_member_communities(db: sqlite_utils.Database) -> None:
    """The communities a member belongs to, found by the member (a deployment of many
    communities routes their direct messages by it)."""
    db.execute(MEMBER_COMMUNITIES_INDEX)


def _m11_leases(db: sqlite_utils.Database) -> None:
    """Leases: roles one process of a deployment holds at a time (a poller, a sender);
    on SQLite one process holds them all, and the table stays as good as empty."""
    for statement in LEASES_SCHEMA:
        db.execute(statement)


def _m12_no_delivered_rows(db: sqlite_utils.Database) -> None:
    """Delivered actions leave no row: those kept so far go (their ids are never given
    again: the table counts them with AUTOINCREMENT)."""
    db.execute(DELIVERED_ROWS)


def _m13_no_pending_index(db: sqlite_utils.Database) -> None:
    """The outbox's index of waiting rows goes: the table holds little else."""
    db.execute(NO_PENDING_INDEX)


def _m14_member_records_keyed_once(db: sqlite_utils.Database) -> None:
    """Adapters' member records may end (``expires_at``), and keep their key once,
    without a rowid beside it (it was stored twice, in the table and in its index)."""
    db.execute(
        "CREATE TABLE member_records_keyed (platform TEXT NOT NULL, member TEXT NOT NULL,"
        " name TEXT NOT NULL, value TEXT NOT NULL, expires_at INTEGER,"
        " PRIMARY KEY (platform, member, name)) WITHOUT ROWID"
    )
    db.execute(
        "INSERT INTO member_records_keyed (platform, member, name, value)"
        " SELECT platform, member, name, value FROM member_records"
    )
    db.execute("DROP TABLE member_records")
    db.execute("ALTER TABLE member_records_keyed RENAME TO member_records")


# The tables that numbered their rows with AUTOINCREMENT, as migration 15 leaves them.
_NUMBERED_PLAINLY = {
    "outbox": (
        "(id INTEGER PRIMARY KEY, community TEXT NOT NULL, platform TEXT NOT NULL,"
        " action TEXT NOT NULL, created_at TEXT NOT NULL, sent_at TEXT,"
        " attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT)",
        (),
    ),
    "timers": (
        "(id INTEGER PRIMARY KEY, community TEXT NOT NULL, member TEXT NOT NULL,"
        " member_ref TEXT NOT NULL, kind TEXT NOT NULL, due_at TEXT NOT NULL,"
        " payload TEXT NOT NULL DEFAULT '', UNIQUE (community, member, kind))",
        ("CREATE INDEX timers_due ON timers (due_at)",),
    ),
    "audit": (
        "(id INTEGER PRIMARY KEY, community TEXT NOT NULL, at TEXT NOT NULL,"
        " actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL DEFAULT '',"
        " detail TEXT NOT NULL DEFAULT '')",
        (),
    ),
}


def _m15_ids_in_blocks(db: sqlite_utils.Database) -> None:
    """Outbox rows and timers take ids from blocks the store reserves, and the audit
    log numbers its rows plainly: AUTOINCREMENT wrote its counter with every event."""
    # The first id of the blocks: after every id ever given (rows gone included).
    first = 1 + max(
        int(db.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])
        for table in ("outbox", "timers")
    )
    for (given,) in db.execute(
        "SELECT seq FROM sqlite_sequence WHERE name IN ('outbox', 'timers')"
    ).fetchall():
        first = max(first, int(given) + 1)
    for table, (columns, indexes) in _NUMBERED_PLAINLY.items():
        db.execute(f"CREATE TABLE {table}_plain {columns}")
        names = ", ".join(column.name for column in db.table(f"{table}_plain").columns)
        db.execute(f"INSERT INTO {table}_plain ({names}) SELECT {names} FROM {table}")
        db.execute(f"DROP TABLE {table}")  # (its counter in sqlite_sequence goes with it)
        db.execute(f"ALTER TABLE {table}_plain RENAME TO {table}")
        for statement in indexes:
            db.execute(statement)
    db.execute(
        "INSERT INTO counters VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)",
        (ID_COUNTER, first),
    )


MIGRATIONS: list[tuple[int, Callable[[sqlite_utils.Database], None]]] = [
    (1, _m1_core),
    (2, _m2_cases),
    (3, _m3_member_records),
    (4, _m4_no_delivered_text),
    (5, _m5_case_numbers),
    (6, _m6_health_counts),
    (7, _m7_links),
    (8, _m8_compact_inbox),
    (9, _m9_link_disclosures),
    (10, _m10_member_communities),
    (11, _m11_leases),
    (12, _m12_no_delivered_rows),
    (13, _m13_no_pending_index),
    (14, _m14_member_records_keyed_once),
    (15, _m15_ids_in_blocks),
]


def migrate(db: sqlite_utils.Database) -> int:
    """Bring the schema up to date, one transaction per migration; returns the version.
    Each migration of an existing database is logged as it starts ("2 of 3") and when
    all are done, so whoever waits on a large database sees it move."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    pending = [(number, step) for number, step in MIGRATIONS if number > version]
    # A new database is created, not migrated: nothing to wait for.
    steps = Steps(log, "migrating the database", len(pending), shown=version != 0)
    for number, step in pending:
        steps.step(what_it_does(number))
        with db.conn:
            step(db)
            db.execute(f"PRAGMA user_version = {number}")
        version = number
    if pending:
        steps.done("database migrated")
    return version


def what_it_does(number: int) -> str:
    """Migration ``number`` in a few words, as its progress line says it; PostgreSQL's
    migration of the same number means the same."""
    step = dict(MIGRATIONS)[number]
    return (step.__doc__ or step.__name__).strip().splitlines()[0]
