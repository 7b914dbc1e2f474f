"""The ``mediation`` section of the config: the mediator roster and the limits that
keep invitations from becoming a harassment channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.config import validate as v
from bot.config.fields import Field, Section
from bot.core.yamlsource import KeyPath, YamlDocument

MEDIATOR = Section(
    "A mediator: never assigned to their own case or a conflict.",
    (
        Field("member", "member", "The mediator's platform:id.", required=True),
        Field("name", "text", "The name shown (default: the id after the colon)."),
        Field("languages", "language_list", "Languages the mediator works in.", required=True),
        Field("capacity", "integer", "Cases at a time.", default=2, low=0, high=100),
        Field("term_start", "date", "The first day of the term (2026-01-01)."),
        Field("term_end", "date", "The last day of the term (on or after term_start)."),
        Field("conflicts", "member_items", "Members this mediator must not mediate for."),
        Field("away", "boolean", "Away: not assigned for now.", default=False),
    ),
)
MEDIATION = Section(
    "Consent-based mediation between members.",
    (
        Field("enabled", "boolean", "Offer mediation.", default=True),
        Field(
            "consent_timeout",
            "duration",
            'No answer in this time counts as "no" (at least 24h).',
            default="3d",
        ),
        Field(
            "followup_after",
            "duration_or_off",
            "Ask the parties whether an agreement holds after this long (or off).",
            default="14d",
            nullable=True,
        ),
        Field(
            "keep_statements",
            "boolean",
            "Keep private statements after a case closes (else they are deleted).",
            default=False,
        ),
        Field("admins", "member_items", "Members who may see and manage every case."),
        Field(
            "invitations_per_requester",
            "integer",
            "Invitations one member may send within invitation_window.",
            default=3,
            low=1,
            high=100,
        ),
        Field(
            "invitations_per_target",
            "integer",
            "Invitations one member may receive within invitation_window.",
            default=3,
            low=1,
            high=100,
        ),
        Field(
            "invitation_window",
            "duration",
            "The window the invitation limits count in.",
            default="30d",
        ),
        Field("mediators", "items", "The roster.", section=MEDIATOR),
    ),
    nullable=True,
)


@dataclass(frozen=True)
class MediatorEntry:
    member: str
    name: str
    languages: tuple[str, ...]
    capacity: int = 2
    term_start: date | None = None
    term_end: date | None = None
    conflicts: tuple[str, ...] = ()
    away: bool = False

    def in_term(self, today: date) -> bool:
        started = self.term_start is None or self.term_start <= today
        return started and (self.term_end is None or today <= self.term_end)


@dataclass(frozen=True)
class Mediation:
    enabled: bool = True
    consent_timeout: timedelta = timedelta(days=3)
    followup_after: timedelta | None = timedelta(days=14)
    keep_statements: bool = False
    admins: tuple[str, ...] = ()
    invitations_per_requester: int = 3
    invitations_per_target: int = 3
    invitation_window: timedelta = timedelta(days=30)
    mediators: tuple[MediatorEntry, ...] = ()

    def mediator(self, member: str) -> MediatorEntry | None:
        return next((m for m in self.mediators if m.member == member), None)


def parse_mediation(doc: YamlDocument, raw: Any) -> Mediation:
    path: KeyPath = ("mediation",)
    raw = MEDIATION.check(doc, path, raw or {})
    mediators = [
        _mediator(doc, (*path, "mediators", i), item)
        for i, item in enumerate(v.items(doc, (*path, "mediators"), raw.get("mediators")))
    ]
    v.unique(doc, (*path, "mediators"), [m.member for m in mediators])

    def read(key: str) -> Any:
        return MEDIATION.read(doc, path, raw, key)

    consent = read("consent_timeout")
    if consent < timedelta(hours=24):
        # Members must have a fair chance to answer; short deadlines pressure them.
        raise doc.error((*path, "consent_timeout"), "must be at least 24h")
    return Mediation(
        enabled=read("enabled"),
        consent_timeout=consent,
        followup_after=read("followup_after"),
        keep_statements=read("keep_statements"),
        admins=read("admins"),
        invitations_per_requester=read("invitations_per_requester"),
        invitations_per_target=read("invitations_per_target"),
        invitation_window=read("invitation_window"),
        mediators=tuple(mediators),
    )


def _mediator(doc: YamlDocument, path: KeyPath, raw: Any) -> MediatorEntry:
    raw = MEDIATOR.check(doc, path, raw)
    member = MEDIATOR.read(doc, path, raw, "member")
    start = MEDIATOR.read(doc, path, raw, "term_start") if "term_start" in raw else None
    end = MEDIATOR.read(doc, path, raw, "term_end") if "term_end" in raw else None
    if start and end and end < start:
        raise doc.error((*path, "term_end"), "the term ends before it starts")
    return MediatorEntry(
        member=member,
        name=v.text(doc, (*path, "name"), raw.get("name", member.partition(":")[2])),
        languages=tuple(
            v.language(doc, (*path, "languages", i), code)
            for i, code in enumerate(v.text_list(doc, (*path, "languages"), raw["languages"]))
        ),
        capacity=MEDIATOR.read(doc, path, raw, "capacity"),
        term_start=start,
        term_end=end,
        conflicts=MEDIATOR.read(doc, path, raw, "conflicts"),
        away=MEDIATOR.read(doc, path, raw, "away"),
    )
