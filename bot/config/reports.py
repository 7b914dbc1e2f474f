"""The ``reports`` and ``privacy`` sections of the config."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.config import validate as v
from bot.config.fields import Field, Section
from bot.core.errors import ConfigError
from bot.core.yamlsource import KeyPath, YamlDocument

REPORTS = Section(
    "Reports to the moderators.",
    (
        Field("enabled", "boolean", "Members may report.", default=True),
        Field(
            "per_day",
            "integer",
            "Reports per member per day (emergencies are never refused).",
            default=3,
            low=1,
            high=100,
        ),
        Field(
            "reveal_approvals",
            "integer",
            "Distinct moderators needed to name a pseudonymous reporter.",
            default=2,
            low=1,
            high=10,
        ),
        Field(
            "emergency_contacts",
            "member_items",
            "Told at once of an emergency, by direct message.",
        ),
        Field(
            "emergency_resources",
            "map",
            "Shown at once to a member who reports an emergency, by language (or default).",
            values=Field("text", "text", "The text in that language."),
            nullable=True,
        ),
        Field(
            "appeal_window",
            "duration",
            "How long after a recorded action a member may appeal it (at least 183d).",
            default="183d",
        ),
    ),
    nullable=True,
)
# A member may appeal a recorded action for at least six months (as the EU Digital
# Services Act asks of complaint systems).
MIN_APPEAL_WINDOW = timedelta(days=183)
PRIVACY = Section(
    "What Concord keeps, and how.",
    (
        Field(
            "retention_days",
            "integer",
            "Report texts, statements and conversations older than this are purged.",
            low=1,
            high=36500,
            nullable=True,
        ),
        Field(
            "encryption_key_env",
            "text",
            "The environment variable with the key that encrypts report texts and "
            "statements at rest (base64, 32 bytes).",
            nullable=True,
        ),
        Field(
            "keep_open_cases",
            "boolean",
            "Keep open cases past retention_days until they close.",
            default=True,
        ),
    ),
    nullable=True,
)


@dataclass(frozen=True)
class Reports:
    enabled: bool = True
    per_day: int = 3
    reveal_approvals: int = 2
    emergency_contacts: tuple[str, ...] = ()
    emergency_resources: dict[str, str] = field(default_factory=dict)
    appeal_window: timedelta = MIN_APPEAL_WINDOW


@dataclass(frozen=True)
class Privacy:
    retention_days: int | None = None
    encryption_key: bytes | None = None
    encryption_key_env: str | None = None
    keep_open_cases: bool = True


def parse_reports(doc: YamlDocument, raw: Any) -> Reports:
    path: KeyPath = ("reports",)
    raw = REPORTS.check(doc, path, raw or {})
    resources_raw = v.mapping(
        doc,
        (*path, "emergency_resources"),
        raw.get("emergency_resources") or {},
        allowed=raw.get("emergency_resources") or {},
    )
    resources = {}
    for code, text in resources_raw.items():
        where = (*path, "emergency_resources", code)
        language = "default" if code == "default" else v.language(doc, where, code)
        resources[language] = v.text(doc, where, text)
    return Reports(
        enabled=REPORTS.read(doc, path, raw, "enabled"),
        per_day=REPORTS.read(doc, path, raw, "per_day"),
        reveal_approvals=REPORTS.read(doc, path, raw, "reveal_approvals"),
        emergency_contacts=REPORTS.read(doc, path, raw, "emergency_contacts"),
        emergency_resources=resources,
        appeal_window=_appeal_window(doc, (*path, "appeal_window"), raw.get("appeal_window")),
    )


def _appeal_window(doc: YamlDocument, path: KeyPath, raw: Any) -> timedelta:
    if raw is None:
        return MIN_APPEAL_WINDOW
    window = v.duration(doc, path, raw)
    if window < MIN_APPEAL_WINDOW:
        raise doc.error(path, "appeals stay open at least six months: 183d or more")
    return window


def parse_privacy(doc: YamlDocument, raw: Any, *, read_key: bool = True) -> Privacy:
    """The encryption key is read from the environment variable the file names; a key
    that is named but missing or malformed stops Concord: never silent plaintext."""
    path: KeyPath = ("privacy",)
    raw = PRIVACY.check(doc, path, raw or {})
    retention = raw.get("retention_days")
    env = raw.get("encryption_key_env")
    key = None
    if env is not None:
        env = v.text(doc, (*path, "encryption_key_env"), env)
        if read_key:
            key = read_encryption_key(doc, (*path, "encryption_key_env"), env)
    return Privacy(
        retention_days=(
            PRIVACY.read(doc, path, raw, "retention_days") if retention is not None else None
        ),
        encryption_key=key,
        encryption_key_env=env,
        keep_open_cases=PRIVACY.read(doc, path, raw, "keep_open_cases"),
    )


def read_encryption_key(doc: YamlDocument, path: KeyPath, env: str) -> bytes:
    import base64
    import binascii

    value = os.environ.get(env, "").strip()
    if not value:
        raise doc.error(path, f"environment variable {env} is not set (the encryption key)")
    try:
        key = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise doc.error(path, f"{env} is not a base64 key") from exc
    if len(key) != 32:
        raise ConfigError(
            doc.name,
            doc.line(path),
            ".".join(map(str, path)),
            f"{env} must hold 32 bytes in base64 (e.g. from 'openssl rand -base64 32')",
        )
    return key


RETENTION_CHECK_EVERY = timedelta(days=1)
