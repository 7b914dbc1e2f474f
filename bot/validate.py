"""Small checks for YAML written by people; each failure names file, line and key."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import Any

from bot.durations import parse_duration
from bot.yamlsource import KeyPath, YamlDocument


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
