"""The tables of the in-memory store: immutable rows in dicts, copied per commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.core.events import MemberRef
from bot.store.links import LinkCode
from bot.store.types import HeldRecord, epoch, epoch_now, record_value
from bot.store.writes import CaseRow


@dataclass(frozen=True, slots=True)
class StoredCase:
    row: CaseRow
    updated_at: str


@dataclass(frozen=True, slots=True)
class CaseTextRow:
    case_id: int
    author: str
    kind: str
    text: str
    shared: bool
    at: str


@dataclass(frozen=True, slots=True)
class CaseAuditRow:
    case_id: int
    at: str
    actor: str
    action: str
    detail: str


@dataclass(frozen=True, slots=True)
class Invitation:
    community: str
    requester: str
    target: str
    case_id: int
    at: str
    outcome: str = "pending"


@dataclass(frozen=True, slots=True)
class Outgoing:
    community: str
    platform: str
    action: str  # JSON; '' once delivered or set aside
    created_at: str
    sent_at: str | None = None
    attempts: int = 0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class Timer:
    community: str
    member: str
    ref: MemberRef
    kind: str
    due_at: str
    payload: str


@dataclass(frozen=True, slots=True)
class Audit:
    community: str
    at: str
    actor: str
    action: str
    subject: str
    detail: str


@dataclass(frozen=True, slots=True)
class LinkRow:
    person: str
    share_cases: bool
    at: str


@dataclass
class Tables:
    inbox: dict[str, str] = field(default_factory=dict)
    conversations: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    profiles: dict[tuple[str, str], str] = field(default_factory=dict)
    outbox: dict[int, Outgoing] = field(default_factory=dict)
    timers: dict[int, Timer] = field(default_factory=dict)
    acknowledgements: dict[tuple[str, str, str], str] = field(default_factory=dict)
    mentorships: dict[tuple[str, str], str] = field(default_factory=dict)
    audit: list[Audit] = field(default_factory=list)
    cursors: dict[str, str] = field(default_factory=dict)
    member_records: dict[tuple[str, str, str], HeldRecord] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    last_id: int = 0  # outbox, timer and case row ids, never reused
    cases: dict[int, StoredCase] = field(default_factory=dict)
    case_texts: dict[int, CaseTextRow] = field(default_factory=dict)
    case_audit: dict[int, CaseAuditRow] = field(default_factory=dict)
    invitations: dict[int, Invitation] = field(default_factory=dict)
    blocks: dict[tuple[str, str, str], str] = field(default_factory=dict)
    # Daily health counts: (community, day, metric, platform, language) -> count.
    health: dict[tuple[str, str, str, str, str], int] = field(default_factory=dict)
    link_codes: dict[tuple[str, str], LinkCode] = field(default_factory=dict)
    links: dict[tuple[str, str], LinkRow] = field(default_factory=dict)
    # (community, case id, member, account) -> when it was shared.
    disclosures: dict[tuple[str, int, str, str], str] = field(default_factory=dict)

    def copy(self) -> Tables:
        return Tables(
            dict(self.inbox),
            dict(self.conversations),
            dict(self.profiles),
            dict(self.outbox),
            dict(self.timers),
            dict(self.acknowledgements),
            dict(self.mentorships),
            list(self.audit),
            dict(self.cursors),
            dict(self.member_records),
            dict(self.counters),
            self.last_id,
            dict(self.cases),
            dict(self.case_texts),
            dict(self.case_audit),
            dict(self.invitations),
            dict(self.blocks),
            dict(self.health),
            dict(self.link_codes),
            dict(self.links),
            dict(self.disclosures),
        )

    def member_record(self, key: tuple[str, str, str], now: datetime | None) -> str | None:
        """Its value, unless it has ended by ``now`` (by default, the present)."""
        return record_value(self.member_records.get(key), epoch_now(now))

    def set_member_record(
        self, key: tuple[str, str, str], value: str, keep_until: datetime | None
    ) -> None:
        self.member_records[key] = (value, epoch(keep_until))

    def drop_expired_records(self, now: datetime) -> int:
        records, at = self.member_records, epoch_now(now)
        ended = [key for key, held in records.items() if record_value(held, at) is None]
        for key in ended:
            del records[key]
        return len(ended)

    def new_id(self) -> int:
        self.last_id += 1
        return self.last_id
