"""Safe YAML loading that remembers where every key came from.

Config, dialogs and the code of conduct are written by people; a mistake must be
reported with the file, the line and the key. PyYAML's composed node tree knows
the lines, so we walk it ourselves instead of calling ``yaml.load``: no tags, no
aliases (they enable memory-exhaustion files), no duplicate keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.core.errors import ConfigError

MAX_YAML_BYTES = 2_000_000

KeyPath = tuple[str | int, ...]


def key_name(path: KeyPath) -> str:
    """``("onboarding", "mentors", 0, "name")`` -> ``onboarding.mentors[0].name``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "(top)"


@dataclass
class YamlDocument:
    """Plain Python data plus the line on which each key path starts (1-based)."""

    name: str
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line(self, path: KeyPath) -> int:
        """Line of ``path``, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def error(self, path: KeyPath, message: str) -> ConfigError:
        return ConfigError(self.name, self.line(path), key_name(path), message)


def load_yaml_file(path: Path | str) -> YamlDocument:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), 1, "(file)", f"cannot read: {exc.strerror}") from exc
    if len(raw) > MAX_YAML_BYTES:
        raise ConfigError(str(path), 1, "(file)", f"larger than {MAX_YAML_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), 1, "(file)", "not UTF-8 text") from exc
    return load_yaml_text(text, str(path))


def load_yaml_text(text: str, name: str) -> YamlDocument:
    try:
        root = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ConfigError(name, line, "(syntax)", str(exc.problem or exc)) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(name, 1, "(syntax)", str(exc)) from exc
    doc = YamlDocument(name=name, data=None)
    if root is None:
        doc.data = {}
        return doc
    doc.lines[()] = root.start_mark.line + 1
    doc.data = _convert(root, (), doc, set())
    return doc


def _compose(text: str) -> yaml.Node | None:
    """The node tree, by libyaml when installed (a deployment reads a file per
    community); a file it refuses is read again by PyYAML's own parser, whose messages
    name the problem as always."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return yaml.compose(text, Loader=fast)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


def _convert(node: yaml.Node, path: KeyPath, doc: YamlDocument, seen: set[int]) -> Any:
    if id(node) in seen:
        raise doc.error(path, "YAML aliases and anchors are not allowed")
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(
                    doc.name,
                    key_node.start_mark.line + 1,
                    key_name(path),
                    "keys must be plain text",
                )
            key = str(key_node.value)
            child = (*path, key)
            if key == "<<":
                raise ConfigError(
                    doc.name,
                    key_node.start_mark.line + 1,
                    key_name(child),
                    "YAML merge keys are not allowed",
                )
            if key in result:
                raise ConfigError(
                    doc.name, key_node.start_mark.line + 1, key_name(child), "duplicate key"
                )
            doc.lines[child] = key_node.start_mark.line + 1
            result[key] = _convert(value_node, child, doc, seen)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            child = (*path, index)
            doc.lines[child] = item.start_mark.line + 1
            items.append(_convert(item, child, doc, seen))
        return items
    assert isinstance(node, yaml.ScalarNode)
    if node.tag.startswith("!") or not node.tag.startswith("tag:yaml.org,2002:"):
        raise doc.error(path, f"custom YAML tags are not allowed ({node.tag})")
    constructor = yaml.SafeLoader("")
    try:
        return constructor.construct_object(node)
    except yaml.YAMLError as exc:
        raise doc.error(path, f"bad value: {exc}") from exc
