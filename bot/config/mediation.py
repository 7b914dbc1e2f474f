"""The ``mediation`` section of the config: the mediator roster and the limits that
keep invitations from becoming a harassment channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.config import validate as v
from bot.core.yamlsource import KeyPath, YamlDocument

_KEYS = (
    "enabled",
    "consent_timeout",
    "followup_after",
    "keep_statements",
    "admins",
    "invitations_per_requester",
    "invitations_per_target",
    "invitation_window",
    "mediators",
)
_MEDIATOR = (
    "member",
    "name",
    "languages",
    "capacity",
    "term_start",
    "term_end",
    "conflicts",
    "away",
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
    raw = v.mapping(doc, path, raw or {}, _KEYS)
    mediators = [
        _mediator(doc, (*path, "mediators", i), item)
        for i, item in enumerate(v.items(doc, (*path, "mediators"), raw.get("mediators")))
    ]
    v.unique(doc, (*path, "mediators"), [m.member for m in mediators])
    consent = v.duration(doc, (*path, "consent_timeout"), raw.get("consent_timeout", "3d"))
    if consent < timedelta(hours=24):
        # Members must have a fair chance to answer; short deadlines pressure them.
        raise doc.error((*path, "consent_timeout"), "must be at least 24h")
    followup = raw.get("followup_after", "14d")
    return Mediation(
        enabled=v.boolean(doc, (*path, "enabled"), raw.get("enabled", True)),
        consent_timeout=consent,
        followup_after=(
            None
            if followup in (None, False, "off")
            else v.duration(doc, (*path, "followup_after"), followup)
        ),
        keep_statements=v.boolean(
            doc, (*path, "keep_statements"), raw.get("keep_statements", False)
        ),
        admins=tuple(
            v.member_key(doc, (*path, "admins", i), item)
            for i, item in enumerate(v.items(doc, (*path, "admins"), raw.get("admins")))
        ),
        invitations_per_requester=v.integer(
            doc,
            (*path, "invitations_per_requester"),
            raw.get("invitations_per_requester", 3),
            1,
            100,
        ),
        invitations_per_target=v.integer(
            doc, (*path, "invitations_per_target"), raw.get("invitations_per_target", 3), 1, 100
        ),
        invitation_window=v.duration(
            doc, (*path, "invitation_window"), raw.get("invitation_window", "30d")
        ),
        mediators=tuple(mediators),
    )


def _mediator(doc: YamlDocument, path: KeyPath, raw: Any) -> MediatorEntry:
    raw = v.mapping(doc, path, raw, _MEDIATOR, required=("member", "languages"))
    member = v.member_key(doc, (*path, "member"), raw["member"])
    start = v.day(doc, (*path, "term_start"), raw["term_start"]) if "term_start" in raw else None
    end = v.day(doc, (*path, "term_end"), raw["term_end"]) if "term_end" in raw else None
    if start and end and end < start:
        raise doc.error((*path, "term_end"), "the term ends before it starts")
    return MediatorEntry(
        member=member,
        name=v.text(doc, (*path, "name"), raw.get("name", member.partition(":")[2])),
        languages=tuple(
            v.language(doc, (*path, "languages", i), code)
            for i, code in enumerate(v.text_list(doc, (*path, "languages"), raw["languages"]))
        ),
        capacity=v.integer(doc, (*path, "capacity"), raw.get("capacity", 2), 0, 100),
        term_start=start,
        term_end=end,
        conflicts=tuple(
            v.member_key(doc, (*path, "conflicts", i), item)
            for i, item in enumerate(v.items(doc, (*path, "conflicts"), raw.get("conflicts")))
        ),
        away=v.boolean(doc, (*path, "away"), raw.get("away", False)),
    )
