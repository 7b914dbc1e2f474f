"""The JSON Schema of concord.yaml, built from the field records the loader reads with
(``bot.config.fields``); editors use it to complete and check keys.

Platform sections are given by the caller (each platform's ``settings.SPEC``): the
core never imports a platform. The schema checks each key's shape (type, range,
allowed values, required keys); what needs the files or other keys (a catalog for
each language, the default language among the offered ones, a term that ends after it
starts, names that appear twice) only ``concord check`` can tell.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.config.fields import NO_DEFAULT, Field, Section
from bot.config.keys import COMMUNITY_FILE, TOP

# A duration such as 30m, 12h, 2d or 1w (bot/core/durations.py), never zero.
DURATION = r"^\s*(?!0+\s*[smhdw])\d{1,6}\s*[smhdw]\s*$"
LANGUAGE = r"^\s*[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*\s*$"
MEMBER = r"^[^:]+:.+"
DATE = r"^\d{4}-\d{2}-\d{2}$"
TEXT: dict[str, Any] = {"type": ["string", "number"], "pattern": r"\S"}


def config_schema(platforms: Mapping[str, Section] | None = None) -> dict[str, Any]:
    """The schema of the whole file; ``platforms`` names each platform's section.
    Draft 7, the one editors' YAML language servers know best."""
    schema = section_schema(TOP, platforms or {})
    # One community in the file (with what only one community's file requires), or a
    # folder of them.
    alone = {
        name: {
            "required": [f.name for f in section.fields if f.required_alone],
            # Written but empty is missing, to the loader as to the schema.
            "properties": {
                f.name: {"not": {"type": "null"}} for f in section.fields if f.required_alone
            },
        }
        for name, section in (platforms or {}).items()
        if any(f.required_alone for f in section.fields)
    }
    schema["anyOf"] = [{"required": ["community"]}, {"required": ["communities"]}]
    if alone:
        schema["if"] = {"not": {"required": ["communities"]}}
        schema["then"] = {"properties": {"platforms": {"properties": alone}}}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "concord.yaml",
        **schema,
    }


def community_file_schema() -> dict[str, Any]:
    """The schema of one community's file in a deployment's ``communities`` folder."""
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "a community of a Concord deployment",
        **section_schema(COMMUNITY_FILE, {}),
    }


def section_schema(section: Section, platforms: Mapping[str, Section]) -> dict[str, Any]:
    properties = {f.name: field_schema(f, platforms) for f in section.fields}
    if section is TOP["platforms"].section:
        for name, spec in platforms.items():
            properties[name] = {
                **section_schema(spec, platforms),
                "description": spec.description,
            }
    result: dict[str, Any] = {
        "type": ["object", "null"] if section.nullable else "object",
        "description": section.description,
        "properties": properties,
        "additionalProperties": False,
    }
    if section.required:
        result["required"] = list(section.required)
    if section.exclusive:
        result["not"] = {"required": list(section.exclusive)}
    return result


def field_schema(spec: Field, platforms: Mapping[str, Section]) -> dict[str, Any]:
    result = _shape(spec, platforms)
    if spec.nullable and "type" in result:
        kinds = result["type"] if isinstance(result["type"], list) else [result["type"]]
        result = {**result, "type": [*kinds, "null"]}
    elif spec.nullable:
        result = {"anyOf": [result, {"type": "null"}]}
    result = {**result, "description": spec.description}
    if spec.default is not NO_DEFAULT and spec.default is not None:
        result["default"] = spec.default
    return result


def _shape(spec: Field, platforms: Mapping[str, Section]) -> dict[str, Any]:
    kind = spec.kind
    if kind in ("integer", "number"):
        bounds = {"minimum": spec.low, "maximum": spec.high}
        return {"type": kind, **{k: b for k, b in bounds.items() if b is not None}}
    if kind == "choice":
        return {"enum": list(spec.choices)}
    if kind == "duration_or_off":
        return {"anyOf": [_SIMPLE["duration"], {"const": "off"}, {"const": False}]}
    if kind in ("section", "items"):
        assert spec.section is not None
        inner = section_schema(spec.section, platforms)
        return inner if kind == "section" else {"type": ["array", "null"], "items": inner}
    if kind == "map":
        assert spec.values is not None
        return {"type": "object", "additionalProperties": _shape(spec.values, platforms)}
    if kind == "custom":
        assert spec.schema is not None
        return dict(spec.schema)
    return dict(_SIMPLE[kind])


_SIMPLE: dict[str, dict[str, Any]] = {
    "text": TEXT,
    "boolean": {"type": "boolean"},
    "duration": {"type": "string", "pattern": DURATION},
    "language": {"type": "string", "pattern": LANGUAGE},
    "member": {"type": "string", "pattern": MEMBER},
    "date": {"type": "string", "pattern": DATE},
    "text_list": {"anyOf": [{"type": "string"}, {"type": "array", "items": TEXT}]},
    "language_list": {
        "anyOf": [
            {"type": "string", "pattern": LANGUAGE},
            {"type": "array", "items": {"type": "string", "pattern": LANGUAGE}},
        ]
    },
    "member_items": {"type": ["array", "null"], "items": {"type": "string", "pattern": MEMBER}},
    "any": {},
}
