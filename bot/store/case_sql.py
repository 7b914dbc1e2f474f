"""The case-record writes of a turn (``bot.store.writes``) as SQL, inside the
store's transaction."""

from __future__ import annotations

from bot.core.errors import Conflict
from bot.core.sealing import Sealer
from bot.store.link_sql import run_link_write
from bot.store.privacy import forget_member_sql
from bot.store.sql import Connection
from bot.store.writes import (
    AddBlock,
    AddCaseAudit,
    AddCaseText,
    AddCount,
    AddInvitation,
    ClaimCaseNumbers,
    DeleteCaseTexts,
    ForgetMember,
    SaveCase,
    SetInvitation,
    Write,
)


def run_write(conn: Connection, write: Write, sealer: Sealer) -> None:
    match write:
        case ClaimCaseNumbers():
            _claim(conn, write)
        case SaveCase():
            _save_case(conn, write)
        case AddCaseText(case_id, author, kind, text, shared, at):
            conn.execute(
                "INSERT INTO case_texts (case_id, author, kind, text, shared, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (case_id, author, kind, sealer.seal(text), int(shared), at),
            )
        case DeleteCaseTexts(case_id, kinds):
            marks = ",".join("?" * len(kinds))
            conn.execute(
                f"DELETE FROM case_texts WHERE case_id = ? AND kind IN ({marks})",
                (case_id, *kinds),
            )
        case AddCaseAudit(case_id, actor, action, detail, at):
            conn.execute(
                "INSERT INTO case_audit (case_id, at, actor, action, detail)"
                " VALUES (?, ?, ?, ?, ?)",
                (case_id, at, actor, action, detail),
            )
        case AddInvitation(community, requester, target, case_id, at):
            conn.execute(
                "INSERT INTO invitations (community, requester, target, case_id, at)"
                " VALUES (?, ?, ?, ?, ?)",
                (community, requester, target, case_id, at),
            )
        case SetInvitation(case_id, target, outcome):
            conn.execute(
                "UPDATE invitations SET outcome = ? WHERE case_id = ? AND target = ?",
                (outcome, case_id, target),
            )
        case AddBlock(community, target, requester, at):
            conn.execute(
                "INSERT INTO blocks VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (community, target, requester, at),
            )
        case ForgetMember():
            forget_member_sql(conn, write)
        case AddCount(community, day, metric, platform, language, n):
            conn.execute(
                "INSERT INTO health_counts VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (community, day, metric, platform, language)"
                " DO UPDATE SET count = health_counts.count + excluded.count",
                (community, day, metric, platform, language, n),
            )
        case _:
            run_link_write(conn, write)


def taken_numbers(conn: Connection, community: str, kind: str) -> tuple[int, int]:
    """The highest case id in the store and the highest number of ``kind`` in the
    community, as committed (a kind that numbered by id before goes on above it)."""
    row = conn.execute(
        "SELECT (SELECT value FROM counters WHERE name = ?), (SELECT max(id) FROM cases),"
        " (SELECT value FROM counters WHERE name = ?),"
        " (SELECT max(number) FROM cases WHERE community = ? AND kind = ?)",
        (f"{community}:case", f"{community}:number:{kind}", community, kind),
    ).fetchone()
    return max(row[0] or 0, row[1] or 0), max(row[2] or 0, row[3] or 0)


def _claim(conn: Connection, claim: ClaimCaseNumbers) -> None:
    case_id, number = taken_numbers(conn, claim.community, claim.kind)
    if (claim.case_id, claim.number) != (case_id + 1, number + 1):
        raise Conflict(f"case {claim.case_id} ({claim.kind} {claim.number}) was taken")
    conn.executemany(
        "INSERT INTO counters VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        [
            (f"{claim.community}:case", claim.case_id),
            (f"{claim.community}:number:{claim.kind}", claim.number),
        ],
    )


def _save_case(conn: Connection, write: SaveCase) -> None:
    case = write.case
    conn.execute(
        "INSERT INTO cases (id, community, kind, status, opened_by, mediator, space,"
        " created_at, updated_at, data, number) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET status = excluded.status,"
        " mediator = excluded.mediator, space = excluded.space,"
        " updated_at = excluded.updated_at, data = excluded.data",
        (
            case.id,
            case.community,
            case.kind,
            case.status,
            case.opened_by,
            case.mediator,
            case.space,
            case.created_at,
            write.at,
            case.data,
            case.number,
        ),
    )
    conn.execute("DELETE FROM case_members WHERE case_id = ?", (case.id,))
    conn.executemany(
        "INSERT INTO case_members VALUES (?, ?, ?, ?, ?)",
        [(case.id, *member) for member in case.members],
    )
