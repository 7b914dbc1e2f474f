"""Case records: one kind of record for mediations (and later reports and appeals),
with members, texts and an audit log, independent of the platform they came from.

Reads go straight to the database; writes are records (``bot.store.writes``) the turn
carries to its commit, so a case never changes without the conversation that changed it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.core.events import MemberRef
from bot.core.sealing import Sealer
from bot.store.case_sql import taken_numbers
from bot.store.sql import Connection
from bot.store.types import iso, parse_iso
from bot.store.writes import (
    AddBlock,
    AddCaseAudit,
    AddCaseText,
    AddInvitation,
    CaseRow,
    DeleteCaseTexts,
    SaveCase,
    SetInvitation,
)

OPEN_STATUSES = ("screening", "consent", "waiting", "statements", "joint", "agreement")
_COLUMNS = "id, community, kind, status, opened_by, created_at, mediator, space, data, number"


@dataclass
class CaseMember:
    member: MemberRef
    role: str  # "requester" or "party"
    state: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.member.key


@dataclass
class Case:
    id: int
    community: str
    kind: str
    status: str
    opened_by: str
    created_at: datetime
    mediator: str | None = None
    space: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    members: list[CaseMember] = field(default_factory=list)
    # What members and moderators read: counted per kind (report 1, mediation case 1),
    # while ``id`` is the record's key across kinds. 0: the same as the id.
    number: int = 0

    @property
    def shown(self) -> int:
        """The number to show and to take from people."""
        return self.number or self.id

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def member(self, key: str) -> CaseMember | None:
        return next((m for m in self.members if m.key == key), None)

    def others(self, key: str) -> list[CaseMember]:
        return [m for m in self.members if m.key != key]


@dataclass(frozen=True)
class CaseText:
    id: int
    author: str
    kind: str
    text: str
    shared: bool
    at: datetime


class CaseRecords:
    """Reading case records, and sealing the texts written to them."""

    # The column that keeps case members in the order they were saved.
    MEMBER_ORDER = "rowid"

    def __init__(self, conn: Connection, sealer: Sealer | None = None) -> None:
        self.conn = conn
        self.sealer = sealer or Sealer(None)

    def add_text(
        self, case_id: int, author: str, kind: str, text: str, shared: bool, now: datetime
    ) -> AddCaseText:
        """A case text (statement, report, evidence), encrypted when a key is set (by
        the store, as it commits the turn)."""
        return AddCaseText(case_id, author, kind, text, shared, iso(now))

    def load(self, community: str, case_id: int) -> Case | None:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM cases WHERE community = ? AND id = ?",
            (community, case_id),
        ).fetchone()
        return self._case(row) if row else None

    def find(self, community: str, kind: str, number: int) -> Case | None:
        """A case by the number people read (``report 3``)."""
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM cases WHERE community = ? AND kind = ? AND number = ?",
            (community, kind, number),
        ).fetchone()
        return self._case(row) if row else None

    def by_space(self, community: str, space: str) -> Case | None:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM cases WHERE community = ? AND space = ?"
            " ORDER BY id DESC LIMIT 1",
            (community, space),
        ).fetchone()
        return self._case(row) if row else None

    def of_member(self, community: str, member: str) -> list[Case]:
        rows = self.conn.execute(
            "SELECT c.id, c.community, c.kind, c.status, c.opened_by, c.created_at,"
            " c.mediator, c.space, c.data, c.number"
            " FROM cases c JOIN case_members m ON m.case_id = c.id"
            " WHERE c.community = ? AND m.member = ? ORDER BY c.id",
            (community, member),
        )
        return [self._case(row) for row in rows.fetchall()]

    def listing(self, community: str, kind: str) -> list[Case]:
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM cases WHERE community = ? AND kind = ? ORDER BY id",
            (community, kind),
        )
        return [self._case(row) for row in rows.fetchall()]

    def mediator_load(self, community: str, mediator: str) -> int:
        marks = ",".join("?" * len(OPEN_STATUSES))
        row = self.conn.execute(
            f"SELECT count(*) FROM cases WHERE community = ? AND mediator = ?"
            f" AND status IN ({marks})",
            (community, mediator, *OPEN_STATUSES),
        ).fetchone()
        return int(row[0])

    def texts(self, case_id: int) -> list[CaseText]:
        rows = self.conn.execute(
            "SELECT id, author, kind, text, shared, created_at FROM case_texts"
            " WHERE case_id = ? ORDER BY id",
            (case_id,),
        )
        return [
            CaseText(i, a, k, self.sealer.open(t), bool(s), parse_iso(at))
            for i, a, k, t, s, at in rows
        ]

    def audit(self, case_id: int) -> list[tuple[datetime, str, str, str]]:
        rows = self.conn.execute(
            "SELECT at, actor, action, detail FROM case_audit WHERE case_id = ? ORDER BY id",
            (case_id,),
        )
        return [(parse_iso(at), actor, action, detail) for at, actor, action, detail in rows]

    def invitations_since(
        self,
        community: str,
        since: datetime,
        *,
        requester: str | None = None,
        target: str | None = None,
    ) -> int:
        column, value = ("requester", requester) if requester else ("target", target)
        row = self.conn.execute(
            f"SELECT count(*) FROM invitations WHERE community = ? AND {column} = ? AND at >= ?",
            (community, value, iso(since)),
        ).fetchone()
        return int(row[0])

    def refused(self, community: str, requester: str, target: str, since: datetime) -> bool:
        """The target blocked the requester, or declined (or let expire) a recent one."""
        blocked = self.conn.execute(
            "SELECT 1 FROM blocks WHERE community = ? AND target = ? AND requester = ?",
            (community, target, requester),
        ).fetchone()
        declined = self.conn.execute(
            "SELECT 1 FROM invitations WHERE community = ? AND requester = ? AND target = ?"
            " AND outcome IN ('declined', 'expired') AND at >= ?",
            (community, requester, target, iso(since)),
        ).fetchone()
        return blocked is not None or declined is not None

    def peek_numbers(self, community: str, kind: str) -> tuple[int, int]:
        """The id and number the next case of ``kind`` would take, as committed now.
        Nothing is written: the turn's commit claims them (``ClaimCaseNumbers``)."""
        case_id, number = taken_numbers(self.conn, community, kind)
        return case_id + 1, number + 1

    def _case(self, row: tuple[Any, ...]) -> Case:
        case_id, community, kind, status, opened_by, created, mediator, space, data, number = row
        members = [
            CaseMember(MemberRef(**json.loads(ref)), role, json.loads(state))
            for ref, role, state in self.conn.execute(
                "SELECT member_ref, role, state FROM case_members WHERE case_id = ?"
                f" ORDER BY {self.MEMBER_ORDER}",
                (case_id,),
            )
        ]
        return Case(
            case_id,
            community,
            kind,
            status,
            opened_by,
            parse_iso(created),
            mediator,
            space,
            json.loads(data),
            members,
            number or 0,
        )


def save_case(case: Case, now: datetime) -> SaveCase:
    """Insert or replace the case and its members as they are now."""
    members = tuple(
        (
            m.key,
            json.dumps({"platform": m.member.platform, "id": m.member.id, "name": m.member.name}),
            m.role,
            json.dumps(m.state),
        )
        for m in case.members
    )
    row = CaseRow(
        case.id,
        case.community,
        case.kind,
        case.status,
        case.opened_by,
        case.mediator,
        case.space,
        iso(case.created_at),
        json.dumps(case.data, ensure_ascii=False),
        case.shown,
        members,
    )
    return SaveCase(row, iso(now))


def delete_texts(case_id: int, kinds: tuple[str, ...]) -> DeleteCaseTexts:
    return DeleteCaseTexts(case_id, kinds)


def add_audit(case_id: int, actor: str, action: str, detail: str, now: datetime) -> AddCaseAudit:
    return AddCaseAudit(case_id, actor, action, detail, iso(now))


def add_invitation(
    community: str, requester: str, target: str, case_id: int, now: datetime
) -> AddInvitation:
    return AddInvitation(community, requester, target, case_id, iso(now))


def set_invitation(case_id: int, target: str, outcome: str) -> SetInvitation:
    return SetInvitation(case_id, target, outcome)


def add_block(community: str, target: str, requester: str, now: datetime) -> AddBlock:
    return AddBlock(community, target, requester, iso(now))
