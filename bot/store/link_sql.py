"""Linked accounts in SQL: the one module that knows how links and linking codes are
kept (reads, the turn's link writes, and their part of ``/forget``), in SQL that any
backend with ``ON CONFLICT`` understands."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot.core.errors import Conflict
from bot.store.links import Disclosure, LinkCode, LinkedAccount
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
    ShareLinks,
    UnshareLinks,
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

# Migration 9: linked accounts a member showed the moderators of one case.
DISCLOSURE_SCHEMA = (
    "CREATE TABLE link_disclosures (community TEXT NOT NULL, case_id BIGINT NOT NULL,"
    " member TEXT NOT NULL, account TEXT NOT NULL, at TEXT NOT NULL,"
    " PRIMARY KEY (community, case_id, member, account))",
    "CREATE INDEX link_disclosures_member ON link_disclosures (community, member)",
    "CREATE INDEX link_disclosures_account ON link_disclosures (community, account)",
)

# Disclosures whose two accounts are still linked with each other.
_DISCLOSED = (
    "SELECT d.case_id, d.member, d.account, d.at FROM link_disclosures d"
    " JOIN links a ON a.community = d.community AND a.member = d.member"
    " JOIN links b ON b.community = d.community AND b.member = d.account"
    " WHERE d.community = ? AND a.person = b.person"
)

# What was shared of accounts no longer linked: withdrawn with the link.
_DROP_UNLINKED = (
    "DELETE FROM link_disclosures WHERE community = ? AND (member NOT IN"
    " (SELECT member FROM links WHERE community = ?) OR account NOT IN"
    " (SELECT member FROM links WHERE community = ?))"
)

# An account left alone in its group is linked to nothing.
_DROP_LONELY = (
    "DELETE FROM links WHERE community = ? AND person IN (SELECT person FROM links"
    " WHERE community = ? GROUP BY person HAVING count(*) < 2)"
)


# The member's group of linked accounts (with them), parameters: community, community,
# member.
ACCOUNTS = (
    "SELECT member, person, share_cases, linked_at FROM links WHERE community = ?"
    " AND person = (SELECT person FROM links WHERE community = ? AND member = ?)"
    " ORDER BY linked_at, member"
)


def linked_accounts(rows: Iterable[Any]) -> list[LinkedAccount]:
    """The rows ``ACCOUNTS`` read, as accounts."""
    return [LinkedAccount(m, p, bool(s), parse_iso(at)) for m, p, s, at in rows]


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
        return linked_accounts(self._conn.execute(ACCOUNTS, (community, community, member)))

    def disclosures(self, community: str, case_id: int) -> list[Disclosure]:
        rows = self._conn.execute(
            f"{_DISCLOSED} AND d.case_id = ? ORDER BY d.member, d.account",
            (community, case_id),
        )
        return [Disclosure(int(c), m, a, parse_iso(at)) for c, m, a, at in rows]

    def disclosures_of(self, community: str, member: str) -> list[Disclosure]:
        rows = self._conn.execute(
            f"{_DISCLOSED} AND (d.member = ? OR d.account = ?)"
            " ORDER BY d.case_id, d.member, d.account",
            (community, member, member),
        )
        return [Disclosure(int(c), m, a, parse_iso(at)) for c, m, a, at in rows]


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
            conn.execute(_DROP_UNLINKED, (community, community, community))
        case ShareLinks() | UnshareLinks():
            _run_disclosure_write(conn, write)


def _run_disclosure_write(conn: Connection, write: ShareLinks | UnshareLinks) -> None:
    match write:
        case ShareLinks(community, case_id, member, accounts, at):
            conn.execute(
                "DELETE FROM link_disclosures WHERE community = ? AND case_id = ? AND member = ?",
                (community, case_id, member),
            )
            for account in accounts:
                conn.execute(
                    "INSERT INTO link_disclosures VALUES (?, ?, ?, ?, ?)",
                    (community, case_id, member, account, at),
                )
        case UnshareLinks(community, member, case_id):
            mine = (
                "DELETE FROM link_disclosures WHERE community = ? AND (member = ? OR account = ?)"
            )
            if case_id is None:
                conn.execute(mine, (community, member, member))
            else:
                conn.execute(f"{mine} AND case_id = ?", (community, member, member, case_id))


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
