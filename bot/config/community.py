"""The one YAML file an admin writes, validated strictly.

Secrets never live in the file: where a platform needs a token, the file names the
environment variable that holds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.config import validate as v
from bot.config.folder import check_distinct, check_platform_roles, community_files
from bot.config.keys import (
    COMMUNITY,
    COMMUNITY_FILE,
    LIMITS,
    LOGGING,
    METRICS,
    PLATFORM_NAMES,
    PLATFORMS_SECTION,
    SPACES,
    TOP,
)
from bot.config.mediation import Mediation, parse_mediation
from bot.config.moderators import Moderators, check_place_id, parse_moderators
from bot.config.onboarding import Onboarding, parse_onboarding
from bot.config.reports import Privacy, Reports, parse_privacy, parse_reports
from bot.core import resources
from bot.core.errors import UsageError
from bot.core.yamlsource import YamlDocument, load_yaml_file, load_yaml_text
from bot.store.postgres import is_postgres_url

PLATFORMS = PLATFORM_NAMES


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
    database: Path | None = None  # the SQLite file
    database_url: str | None = None  # or a PostgreSQL database (postgresql://...)
    durability: str = "normal"  # "strict": every step on disk before its replies go out
    messages_per_minute: int = 20
    live_conversations: int = 10_000  # kept in memory; the others are read from the store
    platforms: dict[str, PlatformSection] = field(default_factory=dict)
    mediation: Mediation = field(default_factory=Mediation)
    reports: Reports = field(default_factory=Reports)
    privacy: Privacy = field(default_factory=Privacy)
    log_level: str | None = None  # None: the command's own default
    log_format: str = "text"
    metrics_port: int | None = None  # None: no metrics endpoint
    metrics_host: str = "127.0.0.1"
    # The platform spaces (guilds, rooms, groups, channels) that are this community's,
    # by platform: what a deployment of many communities routes by.
    spaces: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # A deployment of many (``communities: <folder>``): every community's config, this
    # one (the first, by file name) included. Empty for a config of one community.
    communities: tuple[Config, ...] = ()
    # One community of a deployment's folder (whose records share a store with others').
    of_deployment: bool = False

    def own_spaces(self, platform: str) -> tuple[str, ...]:
        """This community's spaces on a platform, with its moderators' room there."""
        spaces = self.spaces.get(platform, ())
        on, room = self.moderators.room_for(platform)
        return (*spaces, room) if on == platform and room not in spaces else spaces


def load_config(path: Path | str | None) -> Config:
    """The config at ``path``, or the embedded example community when ``path`` is None."""
    if path is None:
        embedded = resources.community_dir() / "concord.yaml"
        doc = load_yaml_text(embedded.read_text(encoding="utf-8"), "(embedded default config)")
        return parse_config(doc, embedded.parent)
    doc = load_yaml_file(path)
    return parse_config(doc, Path(path).resolve().parent)


def parse_config(doc: YamlDocument, base: Path) -> Config:
    top = TOP.check(doc, (), doc.data)
    deployment = _deployment(doc, base, top)
    if "communities" in top:
        folder = _path(base, v.text(doc, ("communities",), top["communities"]))
        if not folder.is_dir():
            raise doc.error(("communities",), f"no such directory: {folder}")
        return load_folder(doc, folder, deployment)
    v.mapping(doc, (), top, TOP.keys, required=("community",))
    return Config(source=doc.name, **community_fields(doc, base, top), **deployment)


def load_folder(doc: YamlDocument, folder: Path, deployment: dict[str, Any]) -> Config:
    """A deployment of many communities: the first community's config (by file name),
    with every community's in ``communities``."""
    check_platform_roles(doc, deployment["platforms"])
    entries = []
    for path in community_files(doc, folder):
        community_doc = load_yaml_file(path)
        top = COMMUNITY_FILE.check(community_doc, (), community_doc.data)
        fields = community_fields(community_doc, path.parent, top, community_file=True)
        entries.append((community_doc, fields))
    check_distinct(entries)
    communities = tuple(
        Config(source=community_doc.name, **fields, **deployment, of_deployment=True)
        for community_doc, fields in entries
    )
    return replace(communities[0], source=doc.name, communities=communities)


def community_configs(config: Config) -> tuple[Config, ...]:
    """Every community a config serves: its ``communities``, or itself alone."""
    return config.communities or (config,)


def one_community(config: Config, ident: str | None) -> Config:
    """The community ``--community ident`` names (needed when the config serves
    several), alone: one line (a ``UsageError``) when it is missing or unknown."""
    communities = community_configs(config)
    ids = ", ".join(c.community_id for c in communities)
    if ident is None:
        if len(communities) > 1:
            raise UsageError(
                f"{config.source} serves {len(communities)} communities ({ids}):"
                " name one with --community"
            )
        return config
    for community in communities:
        if community.community_id == ident:
            return replace(community, communities=())
    raise UsageError(f"--community {ident!r}: no such community in {config.source} ({ids})")


def community_fields(
    doc: YamlDocument, base: Path, top: dict[str, Any], *, community_file: bool = False
) -> dict[str, Any]:
    """What one community decides: who it is, its languages, code of conduct, onboarding,
    moderators, mediation, reports and platform spaces (``community_file``: in a file
    of a deployment's folder)."""
    community = COMMUNITY.check(doc, ("community",), top["community"])
    default_language, languages = _languages(doc, community)
    return {
        "community_id": COMMUNITY.read(doc, ("community",), community, "id"),
        "community_name": COMMUNITY.read(doc, ("community",), community, "name"),
        "default_language": default_language,
        "languages": languages,
        "code_of_conduct": _code_of_conduct(doc, base, community),
        "locale_dirs": tuple(_locale_dirs(doc, base, community, (default_language, *languages))),
        "onboarding": parse_onboarding(doc, top.get("onboarding") or {}),
        "moderators": parse_moderators(
            doc, top.get("moderators") or {}, community_file=community_file
        ),
        "mediation": parse_mediation(doc, top.get("mediation")),
        "reports": parse_reports(doc, top.get("reports")),
        "spaces": _spaces(doc, top.get("spaces") or {}),
    }


def _deployment(doc: YamlDocument, base: Path, top: dict[str, Any]) -> dict[str, Any]:
    """What the deployment decides for every community it serves."""
    limits = LIMITS.check(doc, ("limits",), top.get("limits") or {})
    logging = LOGGING.check(doc, ("logging",), top.get("logging") or {})
    metrics = METRICS.check(doc, ("metrics",), top.get("metrics") or {})
    database = v.text(doc, ("database",), top["database"]) if top.get("database") else None
    url = database if is_postgres_url(database) else None
    return {
        "database": _path(base, database) if database and not url else None,
        "database_url": url,
        "durability": TOP.read(doc, (), top, "durability"),
        "platforms": _platforms(doc, top.get("platforms") or {}),
        "privacy": parse_privacy(doc, top.get("privacy")),
        "messages_per_minute": LIMITS.read(doc, ("limits",), limits, "messages_per_minute"),
        "live_conversations": LIMITS.read(doc, ("limits",), limits, "live_conversations"),
        "log_level": (
            LOGGING.read(doc, ("logging",), logging, "level") if "level" in logging else None
        ),
        "log_format": LOGGING.read(doc, ("logging",), logging, "format"),
        "metrics_port": (
            METRICS.read(doc, ("metrics",), metrics, "port") if "port" in metrics else None
        ),
        "metrics_host": METRICS.read(doc, ("metrics",), metrics, "host"),
    }


def _spaces(doc: YamlDocument, raw: Any) -> dict[str, tuple[str, ...]]:
    raw = SPACES.check(doc, ("spaces",), raw)
    spaces = {
        name: tuple(str(s).strip() for s in SPACES.read(doc, ("spaces",), raw, name))
        for name in raw
    }
    for platform, places in spaces.items():
        for i, place in enumerate(places):
            check_place_id(doc, ("spaces", platform, i), platform, place, discord="server")
    return spaces


def _languages(doc: YamlDocument, community: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """The default language and the offered ones; the default must be offered."""
    default_language = COMMUNITY.read(doc, ("community",), community, "default_language")
    languages = v.language_list(doc, ("community",), community.get("languages", []))
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
    sections = PLATFORMS_SECTION.check(doc, ("platforms",), raw)
    result = {}
    for name, data in sections.items():
        result[name] = PlatformSection(
            name, v.mapping(doc, ("platforms", name), data, allowed=data or {}), doc
        )
    return result


def _path(base: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path
