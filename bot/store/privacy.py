"""Erasure and retention on the database: what ``/forget`` and the retention policy
remove, as writes inside an event's transaction or as one housekeeping transaction."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from bot.store.link_sql import forget_links_sql
from bot.store.sql import Connection, like_escaped
from bot.store.types import iso
from bot.store.writes import ForgetMember

ERASED = "erased"
CLOSED_STATUSES = ("closed", "declined", "screened_out", "cancelled")
ERASE_MEMBER_RECORDS = "DELETE FROM member_records WHERE platform = ? AND member = ?"


def forget_member(community: str, key: str, keep_open_cases: bool) -> ForgetMember:
    """Everything stored about one member, gone: profile, conversation, agreements,
    mentorships, timers, invitations, their texts in cases (open cases keep theirs when
    policy says so), and their identity wherever a record names them."""
    return ForgetMember(community, key, keep_open_cases)


def forget_member_sql(conn: Connection, forget: ForgetMember) -> None:
    """``forget_member`` inside the turn's transaction."""
    community, key = forget.community, forget.key
    platform, _, member_id = key.partition(":")
    for table in ("profiles", "conversations", "acknowledgements"):
        conn.execute(f"DELETE FROM {table} WHERE community = ? AND member = ?", (community, key))
    conn.execute(
        "DELETE FROM mentorships WHERE community = ? AND (mentee = ? OR mentor = ?)",
        (community, key, key),
    )
    conn.execute("DELETE FROM timers WHERE community = ? AND member = ?", (community, key))
    conn.execute(
        "DELETE FROM invitations WHERE community = ? AND (requester = ? OR target = ?)",
        (community, key, key),
    )
    conn.execute(
        "DELETE FROM blocks WHERE community = ? AND (requester = ? OR target = ?)",
        (community, key, key),
    )
    _forget_in_cases(conn, forget, member_id)
    conn.execute(
        "UPDATE audit SET actor = ? WHERE actor = ? AND community = ?", (ERASED, key, community)
    )
    conn.execute(
        "UPDATE audit SET subject = ? WHERE subject = ? AND community = ?",
        (ERASED, key, community),
    )
    _erase_mentions(conn, "audit", "community = ?", community, member_id)
    conn.execute(
        "UPDATE profiles SET profile = replace(profile, ?, ?)"
        " WHERE community = ? AND profile LIKE ?",
        (f'"{key}"', f'"{ERASED}"', community, f'%"{key}"%'),
    )
    conn.execute("DELETE FROM outbox WHERE sent_at IS NOT NULL")
    conn.execute(ERASE_MEMBER_RECORDS, (platform, member_id))
    forget_links_sql(conn, community, key)


def _forget_in_cases(conn: Connection, forget: ForgetMember, member_id: str) -> None:
    """Their texts (written under their key, or under a report alias of theirs) and
    their identity in the case records of the community they erased their data in:
    other communities' cases keep theirs."""
    community, key = forget.community, forget.key
    marks = ",".join("?" * len(CLOSED_STATUSES))
    here = "case_id IN (SELECT id FROM cases WHERE community = ?)"
    open_cases = f"SELECT id FROM cases WHERE status NOT IN ({marks})"
    theirs = (
        f"{here} AND (author = ? OR case_id IN (SELECT case_id FROM case_members"
        " WHERE member = ? AND role = 'reporter'))"
    )
    if forget.keep_open_cases:
        conn.execute(
            f"DELETE FROM case_texts WHERE {theirs} AND case_id NOT IN ({open_cases})",
            (community, key, key, *CLOSED_STATUSES),
        )
    else:
        conn.execute(f"DELETE FROM case_texts WHERE {theirs}", (community, key, key))
    conn.execute(
        f"UPDATE case_texts SET author = ? WHERE author = ? AND {here}", (ERASED, key, community)
    )
    conn.execute(
        f"UPDATE case_members SET member = ?, member_ref = ? WHERE member = ? AND {here}",
        (
            f"{ERASED}:{uuid.uuid4().hex[:8]}",
            '{"platform": "", "id": "", "name": ""}',
            key,
            community,
        ),
    )
    for column in ("opened_by", "mediator"):
        conn.execute(
            f"UPDATE cases SET {column} = ? WHERE {column} = ? AND community = ?",
            (ERASED, key, community),
        )
    conn.execute(
        f"UPDATE case_audit SET actor = ? WHERE actor = ? AND {here}", (ERASED, key, community)
    )
    _erase_mentions(conn, "case_audit", here, community, member_id)


def mentions(text: str, member_id: str) -> bool:
    """Whether ``text`` names the member id as a whole word: ``12`` is not in ``5124``,
    and ``@ann_b:x.org`` is not ``@annxb:x.org`` (no pattern characters)."""
    edge = r"[\w@:+-]|\.\w"  # what would continue an id (a sentence's full stop does not)
    pattern = r"(?<![\w@+.-])" + re.escape(member_id) + rf"(?!{edge})"
    return re.search(pattern, text, re.IGNORECASE) is not None


def _erase_mentions(
    conn: Connection, table: str, within: str, community: str, member_id: str
) -> None:
    """Audit details that name the member (a list of parties, a reason naming them)
    are blanked, in the rows ``within`` picks for ``community``; details that only
    look alike stay."""
    rows = conn.execute(
        f"SELECT id, detail FROM {table} WHERE {within}"
        " AND lower(detail) LIKE '%' || lower(?) || '%' ESCAPE '\\'",
        (community, like_escaped(member_id)),
    ).fetchall()
    found = [(ERASED, row_id) for row_id, detail in rows if mentions(detail, member_id)]
    conn.executemany(f"UPDATE {table} SET detail = ? WHERE id = ?", found)


def purge_older_than(conn: Connection, community: str, before: datetime) -> int:
    """Texts of finished cases and idle conversations older than ``before`` go; the
    finished cases stay as counts (kind, status, dates) without identities."""
    marks = ",".join("?" * len(CLOSED_STATUSES))
    old_cases = (
        f"SELECT id FROM cases WHERE community = ? AND status IN ({marks}) AND updated_at < ?"
    )
    args = (community, *CLOSED_STATUSES, iso(before))
    removed = conn.execute(f"DELETE FROM case_texts WHERE case_id IN ({old_cases})", args).rowcount
    conn.execute(f"DELETE FROM case_members WHERE case_id IN ({old_cases})", args)
    conn.execute(
        f"UPDATE case_audit SET actor = '', detail = '' WHERE case_id IN ({old_cases})", args
    )
    conn.execute(
        f"UPDATE cases SET opened_by = '', mediator = NULL, space = NULL,"
        f" data = '{{}}' WHERE id IN ({old_cases})",
        args,
    )
    removed += conn.execute(
        "DELETE FROM conversations WHERE community = ? AND updated_at < ?", (community, iso(before))
    ).rowcount
    return removed
