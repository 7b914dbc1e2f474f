"""The ``reports`` and ``privacy`` sections of the config."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.config import validate as v
from bot.core.errors import ConfigError
from bot.core.yamlsource import KeyPath, YamlDocument

_REPORTS = (
    "enabled",
    "per_day",
    "reveal_approvals",
    "emergency_contacts",
    "emergency_resources",
    "appeal_window",
)
# A member may appeal a recorded action for at least six months (as the EU Digital
# Services Act asks of complaint systems).
MIN_APPEAL_WINDOW = timedelta(days=183)
_PRIVACY = ("retention_days", "encryption_key_env", "keep_open_cases")


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
    raw = v.mapping(doc, path, raw or {}, _REPORTS)
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
        enabled=v.boolean(doc, (*path, "enabled"), raw.get("enabled", True)),
        per_day=v.integer(doc, (*path, "per_day"), raw.get("per_day", 3), 1, 100),
        reveal_approvals=v.integer(
            doc, (*path, "reveal_approvals"), raw.get("reveal_approvals", 2), 1, 10
        ),
        emergency_contacts=tuple(
            v.member_key(doc, (*path, "emergency_contacts", i), item)
            for i, item in enumerate(
                v.items(doc, (*path, "emergency_contacts"), raw.get("emergency_contacts"))
            )
        ),
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
    raw = v.mapping(doc, path, raw or {}, _PRIVACY)
    retention = raw.get("retention_days")
    env = raw.get("encryption_key_env")
    key = None
    if env is not None:
        env = v.text(doc, (*path, "encryption_key_env"), env)
        if read_key:
            key = read_encryption_key(doc, (*path, "encryption_key_env"), env)
    return Privacy(
        retention_days=(
            v.integer(doc, (*path, "retention_days"), retention, 1, 36500)
            if retention is not None
            else None
        ),
        encryption_key=key,
        encryption_key_env=env,
        keep_open_cases=v.boolean(
            doc, (*path, "keep_open_cases"), raw.get("keep_open_cases", True)
        ),
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
