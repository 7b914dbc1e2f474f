"""The one YAML file an admin writes, validated strictly.

Secrets never live in the file: where a platform needs a token, the file names the
environment variable that holds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.config import validate as v
from bot.config.mediation import Mediation, parse_mediation
from bot.config.reports import Privacy, Reports, parse_privacy, parse_reports
from bot.core import resources
from bot.core.yamlsource import YamlDocument, load_yaml_file, load_yaml_text

_TOP = (
    "community",
    "onboarding",
    "moderators",
    "database",
    "durability",
    "limits",
    "platforms",
    "mediation",
    "reports",
    "privacy",
)
_COMMUNITY = ("id", "name", "default_language", "languages", "code_of_conduct", "locales")
_ONBOARDING = (
    "enabled",
    "welcome",
    "welcome_channel",
    "acknowledgement_required",
    "role",
    "interests",
    "mentors",
    "offer_mentor",
    "checkin_after",
    "reminder_after",
)
_INTEREST = ("id", "label", "channels", "resources")
_MENTOR = ("member", "name", "languages", "interests", "capacity", "away")
_MODERATORS = ("channel", "members")
_LIMITS = ("messages_per_minute", "live_conversations")
PLATFORMS = ("discord", "irc", "matrix", "telegram")


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


@dataclass(frozen=True)
class Moderators:
    channel: str = "moderators"
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlatformSection:
    """One platform's settings, kept with their source so that the adapter, which
    alone knows its keys, can validate them and still name the file and line."""

    name: str
    data: dict[str, Any]
    doc: YamlDocument

    @property
    def path(self) -> tuple[str, str]:
        return ("platforms", self.name)


@dataclass(frozen=True)
class Config:
    source: str
    community_id: str
    community_name: str
    default_language: str
    languages: tuple[str, ...]
    code_of_conduct: Path
    locale_dirs: tuple[Path, ...]
    onboarding: Onboarding = field(default_factory=Onboarding)
    moderators: Moderators = field(default_factory=Moderators)
    database: Path | None = None
    durability: str = "normal"  # "strict": every step on disk before its replies go out
    messages_per_minute: int = 20
    live_conversations: int = 10_000  # kept in memory; the others are read from the store
    platforms: dict[str, PlatformSection] = field(default_factory=dict)
    mediation: Mediation = field(default_factory=Mediation)
    reports: Reports = field(default_factory=Reports)
    privacy: Privacy = field(default_factory=Privacy)


def load_config(path: Path | str | None) -> Config:
    """The config at ``path``, or the embedded example community when ``path`` is None."""
    if path is None:
        embedded = resources.community_dir() / "concord.yaml"
        doc = load_yaml_text(embedded.read_text(encoding="utf-8"), "(embedded default config)")
        return parse_config(doc, embedded.parent)
    doc = load_yaml_file(path)
    return parse_config(doc, Path(path).resolve().parent)


def parse_config(doc: YamlDocument, base: Path) -> Config:
    top = v.mapping(doc, (), doc.data, _TOP, required=("community",))
    community = v.mapping(doc, ("community",), top["community"], _COMMUNITY, ("id", "name"))
    default_language, languages = _languages(doc, community)
    coc_path = _code_of_conduct(doc, base, community)
    locale_dirs = _locale_dirs(doc, base, community, (default_language, *languages))
    limits = v.mapping(doc, ("limits",), top.get("limits") or {}, _LIMITS)
    database = top.get("database")
    return Config(
        source=doc.name,
        community_id=v.text(doc, ("community", "id"), community["id"]),
        community_name=v.text(doc, ("community", "name"), community["name"]),
        default_language=default_language,
        languages=languages,
        code_of_conduct=coc_path,
        locale_dirs=tuple(locale_dirs),
        onboarding=_onboarding(doc, top.get("onboarding") or {}),
        moderators=_moderators(doc, top.get("moderators") or {}),
        database=_path(base, v.text(doc, ("database",), database)) if database else None,
        durability=v.one_of(
            doc, ("durability",), top.get("durability", "normal"), ("normal", "strict")
        ),
        platforms=_platforms(doc, top.get("platforms") or {}),
        mediation=parse_mediation(doc, top.get("mediation")),
        reports=parse_reports(doc, top.get("reports")),
        privacy=parse_privacy(doc, top.get("privacy")),
        messages_per_minute=v.integer(
            doc, ("limits", "messages_per_minute"), limits.get("messages_per_minute", 20), 1, 10000
        ),
        live_conversations=v.integer(
            doc,
            ("limits", "live_conversations"),
            limits.get("live_conversations", 10_000),
            1,
            10_000_000,
        ),
    )


def _languages(doc: YamlDocument, community: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """The default language and the offered ones; the default must be offered."""
    default_language = v.language(
        doc, ("community", "default_language"), community.get("default_language", "en")
    )
    languages = tuple(
        v.language(doc, ("community", "languages", i), code)
        for i, code in enumerate(
            v.text_list(doc, ("community", "languages"), community.get("languages", []))
        )
    )
    if languages and default_language not in languages:
        raise doc.error(
            ("community", "default_language"), "the default language must be one of 'languages'"
        )
    return default_language, languages


def _code_of_conduct(doc: YamlDocument, base: Path, community: dict[str, Any]) -> Path:
    coc = community.get("code_of_conduct")
    coc_path = (
        _path(base, v.text(doc, ("community", "code_of_conduct"), coc))
        if coc is not None
        else resources.community_dir() / "code-of-conduct.yaml"
    )
    if not coc_path.is_file():
        raise doc.error(("community", "code_of_conduct"), f"no such file: {coc_path}")
    return coc_path


def _locale_dirs(
    doc: YamlDocument, base: Path, community: dict[str, Any], wanted: tuple[str, ...]
) -> list[Path]:
    """The shipped catalogs and the community's own; every wanted language (the default
    first, then the offered ones) must have a catalog in one of them."""
    locale_dirs = [resources.locales_dir()]
    if "locales" in community:
        extra = _path(base, v.text(doc, ("community", "locales"), community["locales"]))
        if not extra.is_dir():
            raise doc.error(("community", "locales"), f"no such directory: {extra}")
        locale_dirs.append(extra)
    available = resources.catalog_languages(locale_dirs)
    for i, code in enumerate(wanted[1:]):
        if code not in available:
            raise doc.error(("community", "languages", i), f"no catalog for '{code}'")
    if wanted[0] not in available:
        raise doc.error(("community", "default_language"), f"no catalog for '{wanted[0]}'")
    return locale_dirs


def _platforms(doc: YamlDocument, raw: Any) -> dict[str, PlatformSection]:
    sections = v.mapping(doc, ("platforms",), raw, PLATFORMS)
    result = {}
    for name, data in sections.items():
        result[name] = PlatformSection(
            name, v.mapping(doc, ("platforms", name), data, allowed=data or {}), doc
        )
    return result


def _path(base: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


def _onboarding(doc: YamlDocument, raw: Any) -> Onboarding:
    path: tuple[str | int, ...] = ("onboarding",)
    raw = v.mapping(doc, path, raw, _ONBOARDING)
    interests = _interests(doc, path, raw)
    mentors = _mentors(doc, path, raw, {i.id for i in interests})
    role = raw.get("role", "member")
    return Onboarding(
        enabled=v.boolean(doc, (*path, "enabled"), raw.get("enabled", True)),
        welcome=v.one_of(
            doc, (*path, "welcome"), raw.get("welcome", "direct"), ("direct", "channel")
        ),
        welcome_channel=v.text(
            doc, (*path, "welcome_channel"), raw.get("welcome_channel", "welcome")
        ),
        acknowledgement_required=v.boolean(
            doc, (*path, "acknowledgement_required"), raw.get("acknowledgement_required", True)
        ),
        role=v.text(doc, (*path, "role"), role) if role else None,
        interests=tuple(interests),
        mentors=tuple(mentors),
        offer_mentor=v.boolean(doc, (*path, "offer_mentor"), raw.get("offer_mentor", True)),
        checkin_after=_optional_duration(
            doc, (*path, "checkin_after"), raw.get("checkin_after", "7d")
        ),
        reminder_after=_optional_duration(
            doc, (*path, "reminder_after"), raw.get("reminder_after", "2d")
        ),
    )


def _interests(
    doc: YamlDocument, path: tuple[str | int, ...], raw: dict[str, Any]
) -> list[Interest]:
    interests = []
    for i, item in enumerate(v.items(doc, (*path, "interests"), raw.get("interests", []))):
        where = (*path, "interests", i)
        item = v.mapping(doc, where, item, _INTEREST, required=("id", "label"))
        interests.append(
            Interest(
                id=v.text(doc, (*where, "id"), item["id"]),
                label=v.text(doc, (*where, "label"), item["label"]),
                channels=tuple(v.text_list(doc, (*where, "channels"), item.get("channels", []))),
                resources=tuple(v.text_list(doc, (*where, "resources"), item.get("resources", []))),
            )
        )
    v.unique(doc, (*path, "interests"), [i.id for i in interests])
    return interests


def _mentors(
    doc: YamlDocument, path: tuple[str | int, ...], raw: dict[str, Any], known: set[str]
) -> list[Mentor]:
    mentors = []
    for i, item in enumerate(v.items(doc, (*path, "mentors"), raw.get("mentors", []))):
        where = (*path, "mentors", i)
        item = v.mapping(doc, where, item, _MENTOR, required=("member", "languages"))
        wanted = v.text_list(doc, (*where, "interests"), item.get("interests", []))
        for j, interest in enumerate(wanted):
            if interest not in known:
                raise doc.error((*where, "interests", j), f"unknown interest '{interest}'")
        member = v.member_key(doc, (*where, "member"), item["member"])
        mentors.append(
            Mentor(
                member=member,
                name=v.text(doc, (*where, "name"), item.get("name", member.split(":", 1)[1])),
                languages=tuple(
                    v.language(doc, (*where, "languages", j), code)
                    for j, code in enumerate(
                        v.text_list(doc, (*where, "languages"), item["languages"])
                    )
                ),
                interests=tuple(wanted),
                capacity=v.integer(doc, (*where, "capacity"), item.get("capacity", 3), 0, 1000),
                away=v.boolean(doc, (*where, "away"), item.get("away", False)),
            )
        )
    v.unique(doc, (*path, "mentors"), [m.member for m in mentors])
    return mentors


def _moderators(doc: YamlDocument, raw: Any) -> Moderators:
    raw = v.mapping(doc, ("moderators",), raw, _MODERATORS)
    return Moderators(
        channel=v.text(doc, ("moderators", "channel"), raw.get("channel", "moderators")),
        members=tuple(v.text_list(doc, ("moderators", "members"), raw.get("members", []))),
    )


def _optional_duration(
    doc: YamlDocument, path: tuple[str | int, ...], value: Any
) -> timedelta | None:
    if value is None or value is False or value == "off":
        return None
    return v.duration(doc, path, value)
