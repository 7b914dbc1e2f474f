"""The keys of concord.yaml as data: each section lists its fields (name, kind, default,
allowed values, range, description, required). The loader checks a section's keys and
reads its values from these records, and ``bot.config.schema`` turns the same records
into the JSON Schema, so the two can never disagree about what a key is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.config import validate as v
from bot.core.yamlsource import KeyPath, YamlDocument

# Kinds the schema knows. Values as YAML gives them: "duration" is text such as 2d,
# "duration_or_off" also off/false/empty, "*_list" a list or a single value, "items" a
# list that may be empty (None), "section" a nested mapping, "map" free keys whose
# values follow ``values``, "custom" a platform's own shape given by ``schema``.
KINDS = (
    "text",
    "boolean",
    "integer",
    "number",
    "choice",
    "duration",
    "duration_or_off",
    "language",
    "member",
    "date",
    "text_list",
    "language_list",
    "member_items",
    "items",
    "section",
    "map",
    "custom",
    "any",
)
NO_DEFAULT = object()
# The shape of a key that names an environment variable (a token's, a key's).
ENV_VARIABLE: dict[str, Any] = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"}


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    description: str
    default: Any = NO_DEFAULT
    required: bool = False
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    section: Section | None = None  # the shape of a "section" or of each of "items"
    values: Field | None = None  # the shape of each value of a "map"
    schema: Mapping[str, Any] | None = None  # a "custom" kind's JSON Schema
    nullable: bool = False  # an empty value (``key:``) means "none" / the default
    # Required in a config of one community; a deployment of many names it per
    # community instead (a platform's server, say).
    required_alone: bool = False

    def __post_init__(self) -> None:
        assert self.kind in KINDS, self.kind


@dataclass(frozen=True)
class Section:
    description: str
    fields: tuple[Field, ...]
    nullable: bool = False
    exclusive: tuple[str, ...] = ()  # a pair of keys of which one at most is written

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    def __getitem__(self, name: str) -> Field:
        for item in self.fields:
            if item.name == name:
                return item
        raise KeyError(name)

    def check(self, doc: YamlDocument, path: KeyPath, raw: Any) -> dict[str, Any]:
        """``raw`` as a mapping with only known keys, every required one, and at most
        one of those that exclude each other."""
        checked = v.mapping(doc, path, raw, self.keys, required=self.required)
        written = [key for key in self.exclusive if key in checked]
        if len(written) > 1:
            raise doc.error((*path, written[-1]), f"write {' or '.join(self.exclusive)}, not both")
        return checked

    def default(self, name: str) -> Any:
        value = self[name].default
        return None if value is NO_DEFAULT else value

    def read(self, doc: YamlDocument, where: KeyPath, raw: dict[str, Any], name: str) -> Any:
        """The value of key ``name`` (or its default), checked as its kind says."""
        spec = self[name]
        value = raw[name] if spec.required else raw.get(name, self.default(name))
        return read_value(doc, (*where, name), value, spec)


def custom(name: str, description: str, schema: Mapping[str, Any], **more: Any) -> Field:
    """A key of a platform's own shape, which its parser checks and ``schema`` describes."""
    return Field(name, "custom", description, schema=schema, **more)


def read_value(doc: YamlDocument, path: KeyPath, value: Any, spec: Field) -> Any:
    """One value checked by the helpers in ``validate`` (their messages are the loader's)."""
    kind = spec.kind
    if kind == "text":
        return v.text(doc, path, value)
    if kind == "boolean":
        return v.boolean(doc, path, value)
    if kind == "integer":
        assert spec.low is not None and spec.high is not None
        return v.integer(doc, path, value, int(spec.low), int(spec.high))
    if kind == "number":
        assert spec.low is not None and spec.high is not None
        return v.number(doc, path, value, spec.low, spec.high)
    if kind == "choice":
        return v.one_of(doc, path, value, spec.choices)
    if kind == "duration":
        return v.duration(doc, path, value)
    if kind == "duration_or_off":
        return (
            None
            if value is None or value is False or value == "off"
            else v.duration(doc, path, value)
        )
    if kind == "language":
        return v.language(doc, path, value)
    if kind == "member":
        return v.member_key(doc, path, value)
    if kind == "date":
        return v.day(doc, path, value)
    if kind == "text_list":
        return v.text_list(doc, path, value)
    if kind == "member_items":
        return tuple(
            v.member_key(doc, (*path, i), item) for i, item in enumerate(v.items(doc, path, value))
        )
    raise NotImplementedError(f"{kind} values are read by their section's parser")
