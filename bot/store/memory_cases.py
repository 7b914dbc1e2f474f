"""Case records in the in-memory store: the ``CaseStore`` reads, and the turn's case
writes, erasure and retention applied to the tables (as ``bot.store.case_sql`` and
``bot.store.privacy`` do in SQLite)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from bot.core.errors import Conflict
from bot.core.events import MemberRef
from bot.store.cases import OPEN_STATUSES, Case, CaseMember, CaseText
from bot.store.memory_tables import CaseAuditRow, CaseTextRow, Invitation, StoredCase, Tables
from bot.store.privacy import CLOSED_STATUSES, ERASED, mentions
from bot.store.types import iso, parse_iso
from bot.store.writes import (
    AddBlock,
    AddCaseAudit,
    AddCaseText,
    AddInvitation,
    ClaimCaseNumbers,
    DeleteCaseTexts,
    ForgetMember,
    SaveCase,
    SetInvitation,
    Write,
)


class MemoryCases:
    """Reading case records kept in memory."""

    def __init__(self, tables: Callable[[], Tables]) -> None:
        self._tables = tables

    def add_text(
        self, case_id: int, author: str, kind: str, text: str, shared: bool, now: datetime
    ) -> AddCaseText:
        return AddCaseText(case_id, author, kind, text, shared, iso(now))

    def _where(self, test: Callable[[StoredCase], bool]) -> list[Case]:
        found = sorted((i, c) for i, c in self._tables().cases.items() if test(c))
        return [_case(stored) for _, stored in found]

    def load(self, community: str, case_id: int) -> Case | None:
        stored = self._tables().cases.get(case_id)
        return _case(stored) if stored and stored.row.community == community else None

    def find(self, community: str, kind: str, number: int) -> Case | None:
        found = self._where(
            lambda c: (c.row.community, c.row.kind, c.row.number) == (community, kind, number)
        )
        return found[0] if found else None

    def by_space(self, community: str, space: str) -> Case | None:
        found = self._where(lambda c: (c.row.community, c.row.space) == (community, space))
        return found[-1] if found else None

    def of_member(self, community: str, member: str) -> list[Case]:
        return self._where(
            lambda c: c.row.community == community and any(m[0] == member for m in c.row.members)
        )

    def listing(self, community: str, kind: str) -> list[Case]:
        return self._where(lambda c: (c.row.community, c.row.kind) == (community, kind))

    def mediator_load(self, community: str, mediator: str) -> int:
        return sum(
            1
            for c in self._tables().cases.values()
            if (c.row.community, c.row.mediator) == (community, mediator)
            and c.row.status in OPEN_STATUSES
        )

    def texts(self, case_id: int) -> list[CaseText]:
        rows = sorted(self._tables().case_texts.items())
        return [
            CaseText(i, t.author, t.kind, t.text, t.shared, parse_iso(t.at))
            for i, t in rows
            if t.case_id == case_id
        ]

    def audit(self, case_id: int) -> list[tuple[datetime, str, str, str]]:
        rows = sorted(self._tables().case_audit.items())
        return [
            (parse_iso(a.at), a.actor, a.action, a.detail) for _, a in rows if a.case_id == case_id
        ]

    def invitations_since(
        self,
        community: str,
        since: datetime,
        *,
        requester: str | None = None,
        target: str | None = None,
    ) -> int:
        return sum(
            1
            for i in self._tables().invitations.values()
            if i.community == community
            and (i.requester == requester if requester else i.target == target)
            and i.at >= iso(since)
        )

    def refused(self, community: str, requester: str, target: str, since: datetime) -> bool:
        tables = self._tables()
        if (community, target, requester) in tables.blocks:
            return True
        return any(
            (i.community, i.requester, i.target) == (community, requester, target)
            and i.outcome in ("declined", "expired")
            and i.at >= iso(since)
            for i in tables.invitations.values()
        )

    def peek_numbers(self, community: str, kind: str) -> tuple[int, int]:
        case_id, number = taken_numbers(self._tables(), community, kind)
        return case_id + 1, number + 1


def _case(stored: StoredCase) -> Case:
    row = stored.row
    members = [
        CaseMember(MemberRef(**json.loads(ref)), role, json.loads(state))
        for _, ref, role, state in row.members
    ]
    return Case(
        row.id,
        row.community,
        row.kind,
        row.status,
        row.opened_by,
        parse_iso(row.created_at),
        row.mediator,
        row.space,
        json.loads(row.data),
        members,
        row.number,
    )


def taken_numbers(tables: Tables, community: str, kind: str) -> tuple[int, int]:
    """As ``bot.store.case_sql.taken_numbers``: the highest id and number taken."""
    case_id = max(tables.counters.get(f"{community}:case", 0), max(tables.cases, default=0))
    highest = max(
        (
            c.row.number
            for c in tables.cases.values()
            if (c.row.community, c.row.kind) == (community, kind)
        ),
        default=0,
    )
    return case_id, max(tables.counters.get(f"{community}:number:{kind}", 0), highest)


def apply_case_write(tables: Tables, write: Write) -> None:
    match write:
        case ClaimCaseNumbers(community, kind, case_id, number):
            if (case_id - 1, number - 1) != taken_numbers(tables, community, kind):
                raise Conflict(f"case {case_id} ({kind} {number}) was taken")
            tables.counters[f"{community}:case"] = case_id
            tables.counters[f"{community}:number:{kind}"] = number
        case SaveCase(row, at):
            old = tables.cases.get(row.id)
            if old is not None:  # as the SQL upsert: what a case is made with stays
                kept = old.row
                row = replace(
                    row,
                    community=kept.community,
                    kind=kept.kind,
                    opened_by=kept.opened_by,
                    created_at=kept.created_at,
                    number=kept.number,
                )
            tables.cases[row.id] = StoredCase(row, at)
        case AddCaseText(case_id, author, kind, text, shared, at):
            tables.case_texts[tables.new_id()] = CaseTextRow(
                case_id, author, kind, text, shared, at
            )
        case DeleteCaseTexts(case_id, kinds):
            tables.case_texts = {
                i: t
                for i, t in tables.case_texts.items()
                if not (t.case_id == case_id and t.kind in kinds)
            }
        case AddCaseAudit(case_id, actor, action, detail, at):
            tables.case_audit[tables.new_id()] = CaseAuditRow(case_id, at, actor, action, detail)
        case AddInvitation(community, requester, target, case_id, at):
            tables.invitations[tables.new_id()] = Invitation(
                community, requester, target, case_id, at
            )
        case SetInvitation(case_id, target, outcome):
            for i, invitation in list(tables.invitations.items()):
                if (invitation.case_id, invitation.target) == (case_id, target):
                    tables.invitations[i] = replace(invitation, outcome=outcome)
        case AddBlock(community, target, requester, at):
            tables.blocks.setdefault((community, target, requester), at)
        case ForgetMember():
            forget_in_cases(tables, write)


def forget_in_cases(tables: Tables, forget: ForgetMember) -> None:
    """The case side of ``forget_member``: invitations, blocks, their texts, and their
    identity in case records."""
    community, key = forget.community, forget.key
    member_id = key.partition(":")[2]
    tables.invitations = {
        i: v
        for i, v in tables.invitations.items()
        if not (v.community == community and key in (v.requester, v.target))
    }
    tables.blocks = {
        k: at for k, at in tables.blocks.items() if not (k[0] == community and key in k[1:])
    }
    # Only the cases of the community they erased their data in: others keep theirs.
    here = {i for i, c in tables.cases.items() if c.row.community == community}
    reported = {i for i in here if (key, "reporter") in _roles(tables.cases[i])}
    still_open = {i for i in here if tables.cases[i].row.status not in CLOSED_STATUSES}
    tables.case_texts = {
        i: replace(t, author=ERASED if t.author == key and t.case_id in here else t.author)
        for i, t in tables.case_texts.items()
        if not (
            t.case_id in here
            and (t.author == key or t.case_id in reported)
            and not (forget.keep_open_cases and t.case_id in still_open)
        )
    }
    alias = f"{ERASED}:{uuid.uuid4().hex[:8]}"
    nobody = '{"platform": "", "id": "", "name": ""}'
    for case_id in here:
        stored = tables.cases[case_id]
        row = stored.row
        members = tuple(
            (alias, nobody, role, state) if member == key else (member, ref, role, state)
            for member, ref, role, state in row.members
        )
        row = replace(
            row,
            members=members,
            opened_by=ERASED if row.opened_by == key else row.opened_by,
            mediator=ERASED if row.mediator == key else row.mediator,
        )
        tables.cases[case_id] = replace(stored, row=row)
    tables.case_audit = {
        i: replace(
            a,
            actor=ERASED if a.actor == key else a.actor,
            detail=ERASED if mentions(a.detail, member_id) else a.detail,
        )
        if a.case_id in here
        else a
        for i, a in tables.case_audit.items()
    }


def _roles(stored: StoredCase) -> set[tuple[str, str]]:
    return {(member, role) for member, _, role, _ in stored.row.members}


def purge_cases(tables: Tables, community: str, before: datetime) -> int:
    """Finished cases older than ``before`` keep counts only: no texts, no identities."""
    old = {
        i
        for i, c in tables.cases.items()
        if c.row.community == community
        and c.row.status in CLOSED_STATUSES
        and c.updated_at < iso(before)
    }
    texts = {i for i, t in tables.case_texts.items() if t.case_id in old}
    for i in texts:
        del tables.case_texts[i]
    for i, a in list(tables.case_audit.items()):
        if a.case_id in old:
            tables.case_audit[i] = replace(a, actor="", detail="")
    for i in old:
        stored = tables.cases[i]
        row = replace(stored.row, opened_by="", mediator=None, space=None, data="{}", members=())
        tables.cases[i] = replace(stored, row=row)
    return len(texts)
