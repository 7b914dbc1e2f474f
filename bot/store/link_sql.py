"""Linked accounts in SQL: the one module that knows how links and linking codes are
kept (reads, the turn's link writes, and their part of ``/forget``), in SQL that any
backend with ``ON CONFLICT`` understands."""

from __future__ import annotations

from datetime import datetime

from bot.core.errors import Conflict
from bot.store.links import LinkCode, LinkedAccount
from bot.store.sql import Connection
from bot.store.types import iso, parse_iso
from bot.store.writes import (
    BurnLinkCodes,
    ClaimLinkCode,
    DropLinkCode,
    IssueLinkCode,
    LinkWrite,
    RemoveLink,
    SetLink,
)

# The tables as migration 6 made them: a change to them is a new migration.
SCHEMA = (
    "CREATE TABLE link_codes (community TEXT NOT NULL, code_hash TEXT NOT NULL,"
    " member TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL,"
    " claimed_by TEXT, burnt INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (community, code_hash))",
    "CREATE INDEX link_codes_member ON link_codes (community, member)",
    "CREATE TABLE links (community TEXT NOT NULL, member TEXT NOT NULL,"
    " person TEXT NOT NULL, share_cases INTEGER NOT NULL DEFAULT 0,"
    " linked_at TEXT NOT NULL, PRIMARY KEY (community, member))",
    "CREATE INDEX links_person ON links (community, person)",
)

# An account left alone in its group is linked to nothing.
_DROP_LONELY = (
    "DELETE FROM links WHERE community = ? AND person IN (SELECT person FROM links"
    " WHERE community = ? GROUP BY person HAVING count(*) < 2)"
)


class LinkRecords:
    """Reading linked accounts and linking codes."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def code(self, community: str, code_hash: str) -> LinkCode | None:
        row = self._conn.execute(
            "SELECT member, created_at, expires_at, claimed_by, burnt FROM link_codes"
            " WHERE community = ? AND code_hash = ?",
            (community, code_hash),
        ).fetchone()
        if row is None:
            return None
        member, created, expires, claimed_by, burnt = row
        return LinkCode(
            code_hash, member, parse_iso(created), parse_iso(expires), claimed_by, bool(burnt)
        )

    def codes_since(self, community: str, member: str, since: datetime) -> int:
        row = self._conn.execute(
            "SELECT count(*) FROM link_codes WHERE community = ? AND member = ?"
            " AND created_at >= ?",
            (community, member, iso(since)),
        ).fetchone()
        return int(row[0])

    def accounts(self, community: str, member: str) -> list[LinkedAccount]:
        rows = self._conn.execute(
            "SELECT member, person, share_cases, linked_at FROM links WHERE community = ?"
            " AND person = (SELECT person FROM links WHERE community = ? AND member = ?)"
            " ORDER BY linked_at, member",
            (community, community, member),
        )
        return [LinkedAccount(m, p, bool(s), parse_iso(at)) for m, p, s, at in rows]


def run_link_write(conn: Connection, write: LinkWrite) -> None:
    match write:
        case IssueLinkCode(community, code_hash, member, at, expires_at, forget_before):
            conn.execute(
                "DELETE FROM link_codes WHERE community = ? AND member = ? AND created_at < ?",
                (community, member, forget_before),
            )
            inserted = conn.execute(
                "INSERT INTO link_codes (community, code_hash, member, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (community, code_hash) DO NOTHING",
                (community, code_hash, member, at, expires_at),
            ).rowcount
            if not inserted:
                raise Conflict("a linking code drawn twice")
        case ClaimLinkCode(community, code_hash, claimer, at, until):
            claimed = conn.execute(
                "UPDATE link_codes SET claimed_by = ?, expires_at = ? WHERE community = ?"
                " AND code_hash = ? AND claimed_by IS NULL AND burnt = 0 AND expires_at > ?",
                (claimer, until, community, code_hash, at),
            ).rowcount
            if not claimed:
                raise Conflict("a linking code was taken first")
        case BurnLinkCodes(community, code_hash, member):
            conn.execute(
                "UPDATE link_codes SET burnt = 1 WHERE community = ?"
                " AND (code_hash = ? OR (member = ? AND claimed_by IS NULL))",
                (community, code_hash, member),
            )
        case DropLinkCode(community, code_hash):
            conn.execute(
                "DELETE FROM link_codes WHERE community = ? AND code_hash = ?",
                (community, code_hash),
            )
        case SetLink(community, member, person, share_cases, at):
            conn.execute(
                "INSERT INTO links VALUES (?, ?, ?, ?, ?) ON CONFLICT (community, member)"
                " DO UPDATE SET person = excluded.person, share_cases = excluded.share_cases,"
                " linked_at = excluded.linked_at",
                (community, member, person, int(share_cases), at),
            )
        case RemoveLink(community, member):
            conn.execute(
                "DELETE FROM links WHERE community = ? AND member = ?", (community, member)
            )
            conn.execute(_DROP_LONELY, (community, community))


def forget_links_sql(conn: Connection, community: str, key: str) -> None:
    """The member's links and linking codes (theirs, or claimed by them), gone."""
    conn.execute(
        "DELETE FROM link_codes WHERE community = ? AND (member = ? OR claimed_by = ?)",
        (community, key, key),
    )
    run_link_write(conn, RemoveLink(community, key))


def prune_link_codes(conn: Connection, before: datetime) -> None:
    """Codes long expired: they no longer count against any rate limit."""
    conn.execute("DELETE FROM link_codes WHERE expires_at < ?", (iso(before),))
