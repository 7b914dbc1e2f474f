"""The onboarding section of a community: interests, mentors, the welcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.config import validate as v
from bot.config.keys import INTEREST, MENTOR, ONBOARDING
from bot.core.yamlsource import YamlDocument


@dataclass(frozen=True)
class Interest:
    id: str
    label: str
    channels: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mentor:
    member: str
    name: str
    languages: tuple[str, ...]
    interests: tuple[str, ...] = ()
    capacity: int = 3
    away: bool = False


@dataclass(frozen=True)
class Onboarding:
    enabled: bool = True
    welcome: str = "direct"
    welcome_channel: str = "welcome"
    acknowledgement_required: bool = True
    role: str | None = "member"
    interests: tuple[Interest, ...] = ()
    mentors: tuple[Mentor, ...] = ()
    offer_mentor: bool = True
    checkin_after: timedelta | None = timedelta(days=7)
    reminder_after: timedelta | None = timedelta(days=2)


def parse_onboarding(doc: YamlDocument, raw: Any) -> Onboarding:
    path: tuple[str | int, ...] = ("onboarding",)
    raw = ONBOARDING.check(doc, path, raw)
    interests = _interests(doc, path, raw)
    mentors = _mentors(doc, path, raw, {i.id for i in interests})
    role = raw.get("role", ONBOARDING.default("role"))

    def read(key: str) -> Any:
        return ONBOARDING.read(doc, path, raw, key)

    return Onboarding(
        enabled=read("enabled"),
        welcome=read("welcome"),
        welcome_channel=read("welcome_channel"),
        acknowledgement_required=read("acknowledgement_required"),
        role=v.text(doc, (*path, "role"), role) if role else None,
        interests=tuple(interests),
        mentors=tuple(mentors),
        offer_mentor=read("offer_mentor"),
        checkin_after=read("checkin_after"),
        reminder_after=read("reminder_after"),
    )


def _interests(
    doc: YamlDocument, path: tuple[str | int, ...], raw: dict[str, Any]
) -> list[Interest]:
    interests = []
    for i, item in enumerate(v.items(doc, (*path, "interests"), raw.get("interests", []))):
        where = (*path, "interests", i)
        item = INTEREST.check(doc, where, item)
        interests.append(
            Interest(
                id=INTEREST.read(doc, where, item, "id"),
                label=INTEREST.read(doc, where, item, "label"),
                channels=tuple(INTEREST.read(doc, where, item, "channels")),
                resources=tuple(INTEREST.read(doc, where, item, "resources")),
            )
        )
    v.unique(doc, (*path, "interests"), [i.id for i in interests])
    return interests


def _mentors(
    doc: YamlDocument,
    path: tuple[str | int, ...],
    raw: dict[str, Any],
    known: set[str],
) -> list[Mentor]:
    mentors = []
    for i, item in enumerate(v.items(doc, (*path, "mentors"), raw.get("mentors", []))):
        where = (*path, "mentors", i)
        item = MENTOR.check(doc, where, item)
        wanted = MENTOR.read(doc, where, item, "interests")
        for j, interest in enumerate(wanted):
            if interest not in known:
                raise doc.error((*where, "interests", j), f"unknown interest '{interest}'")
        member = MENTOR.read(doc, where, item, "member")
        mentors.append(
            Mentor(
                member=member,
                name=v.text(doc, (*where, "name"), item.get("name", member.split(":", 1)[1])),
                languages=v.language_list(doc, where, item["languages"]),
                interests=tuple(wanted),
                capacity=MENTOR.read(doc, where, item, "capacity"),
                away=MENTOR.read(doc, where, item, "away"),
            )
        )
    v.unique(doc, (*path, "mentors"), [m.member for m in mentors])
    return mentors
