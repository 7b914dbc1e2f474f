"""Babel extractor for Concord's YAML: dialogs and the code of conduct.

Translators work from one ``messages.pot``; without this, the texts that live in
YAML (dialog prompts, the rules themselves) would never reach them. Registered as
the ``concord_yaml`` extraction method (see ``babel.cfg`` and ``pyproject.toml``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from bot.conduct.document import catalog_entries, parse_coc
from bot.core.errors import ConfigError
from bot.core.yamlsource import MAX_YAML_BYTES, KeyPath, YamlDocument, load_yaml_text

# Keys whose string values in a dialog are message ids shown to members (or, for
# "words", read from what they type).
MESSAGE_KEYS = frozenset({"say", "message", "label", "invalid", "prompt", "help", "words"})

Extracted = tuple[int, str | None, str, list[str]]


def extract_yaml(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[Extracted]:
    """Yield (line, None, msgid, comments) for each message in a YAML file.

    A code of conduct yields its derived ids with the inline text as a comment,
    so translators see what they translate; a dialog yields the ids it names.
    A broken file raises ConfigError: a silently partial catalog is worse.
    """
    name = str(getattr(fileobj, "name", "(yaml)"))
    raw = fileobj.read(MAX_YAML_BYTES + 1)
    if len(raw) > MAX_YAML_BYTES:
        raise ConfigError(name, 1, "(file)", f"larger than {MAX_YAML_BYTES} bytes")
    encoding = str(options.get("encoding", "utf-8"))
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ConfigError(name, 1, "(file)", f"not {encoding} text") from exc
    doc = load_yaml_text(text, name)
    if is_coc_document(doc.data):
        for line, msgid, inline in catalog_entries(parse_coc(doc), doc):
            yield line, None, msgid, [inline]
    elif is_config_document(doc.data):
        yield from config_messages(doc)
    else:
        for line, msgid in dialog_messages(doc):
            yield line, None, msgid, []


def is_coc_document(data: Any) -> bool:
    """A code of conduct is told apart from a dialog by its top-level keys."""
    return isinstance(data, dict) and "sections" in data and "version" in data


def is_config_document(data: Any) -> bool:
    return isinstance(data, dict) and "community" in data


def config_messages(doc: YamlDocument) -> Iterator[Extracted]:
    """A config's interests are shown to members: ``interest.<id>``, label as comment."""
    onboarding = doc.data.get("onboarding") or {}
    interests = onboarding.get("interests") if isinstance(onboarding, dict) else None
    for index, item in enumerate(interests if isinstance(interests, list) else []):
        if isinstance(item, dict) and "id" in item:
            line = doc.line(("onboarding", "interests", index, "id"))
            yield line, None, f"interest.{item['id']}", [str(item.get("label", ""))]


def dialog_messages(doc: YamlDocument) -> list[tuple[int, str]]:
    """(line, msgid) of every string under a message key, at any depth, in order."""
    found: list[tuple[int, str]] = []
    _walk(doc, (), doc.data, found)
    return found


def _walk(doc: YamlDocument, path: KeyPath, value: Any, found: list[tuple[int, str]]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            child_path = (*path, key)
            if key in MESSAGE_KEYS and isinstance(child, str):
                _keep(doc, child_path, child, found)
            elif key == "say" and isinstance(child, list):
                for index, item in enumerate(child):
                    if isinstance(item, str):
                        _keep(doc, (*child_path, index), item, found)
                    else:
                        _walk(doc, (*child_path, index), item, found)
            else:
                _walk(doc, child_path, child, found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(doc, (*path, index), item, found)


def _keep(doc: YamlDocument, path: KeyPath, msgid: str, found: list[tuple[int, str]]) -> None:
    if msgid.strip():  # an empty msgid is gettext's header entry, never a message
        found.append((doc.line(path), msgid))
