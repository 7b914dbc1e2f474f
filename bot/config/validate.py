"""Small checks for YAML written by people; each failure names file, line and key."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import Any

from bot.core.durations import parse_duration
from bot.core.yamlsource import KeyPath, YamlDocument
from bot.i18n.locales import normalize_tag


def mapping(
    doc: YamlDocument,
    path: KeyPath,
    value: Any,
    allowed: Collection[str],
    required: Collection[str] = (),
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise doc.error(path, "expected a mapping of keys to values")
    for key in value:
        if key not in allowed:
            hint = ", ".join(sorted(allowed))
            raise doc.error((*path, key), f"unknown key (expected one of: {hint})")
    for key in required:
        if key not in value:
            raise doc.error(path, f"missing required key '{key}'")
    return value


def text(doc: YamlDocument, path: KeyPath, value: Any, *, empty: bool = False) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise doc.error(path, "expected text")
    result = str(value)
    if not empty and not result.strip():
        raise doc.error(path, "must not be empty")
    return result


def boolean(doc: YamlDocument, path: KeyPath, value: Any) -> bool:
    if not isinstance(value, bool):
        raise doc.error(path, "expected true or false")
    return value


def integer(doc: YamlDocument, path: KeyPath, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise doc.error(path, "expected a whole number")
    if not low <= value <= high:
        raise doc.error(path, f"must be between {low} and {high}")
    return value


def number(doc: YamlDocument, path: KeyPath, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise doc.error(path, "expected a number")
    if not low <= value <= high:
        raise doc.error(path, f"must be between {low:g} and {high:g}")
    return float(value)


def text_list(doc: YamlDocument, path: KeyPath, value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise doc.error(path, "expected a list")
    return [text(doc, (*path, i), item) for i, item in enumerate(value)]


def one_of(doc: YamlDocument, path: KeyPath, value: Any, options: Collection[str]) -> str:
    result = text(doc, path, value)
    if result not in options:
        raise doc.error(path, f"must be one of: {', '.join(options)}")
    return result


def duration(doc: YamlDocument, path: KeyPath, value: Any) -> timedelta:
    result = parse_duration(value)
    if result is None:
        raise doc.error(path, "expected a duration such as 30m, 12h, 2d or 1w")
    return result


def language(doc: YamlDocument, path: KeyPath, value: Any) -> str:
    code = normalize_tag(text(doc, path, value))
    if code is None:
        raise doc.error(path, f"'{value}' is not a language code")
    return code


def member_key(doc: YamlDocument, path: KeyPath, value: Any) -> str:
    """A member's platform identity as written in the config: ``platform:id``."""
    key = text(doc, path, value)
    platform, _, member_id = key.partition(":")
    if not platform or not member_id:
        raise doc.error(path, "expected platform:id, e.g. console:maria")
    return key


def items(doc: YamlDocument, path: KeyPath, value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise doc.error(path, "expected a list")
    return value


def day(doc: YamlDocument, path: KeyPath, value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(text(doc, path, value))
    except ValueError as exc:
        raise doc.error(path, "expected a date such as 2026-12-31") from exc


def unique(doc: YamlDocument, path: KeyPath, values: list[str]) -> None:
    for i, value in enumerate(values):
        if value in values[:i]:
            raise doc.error((*path, i), f"'{value}' appears twice")


def language_list(doc: YamlDocument, where: KeyPath, value: Any) -> tuple[str, ...]:
    """The ``languages`` key under ``where``: language tags, each checked."""
    return tuple(
        language(doc, (*where, "languages", j), code)
        for j, code in enumerate(text_list(doc, (*where, "languages"), value))
    )
