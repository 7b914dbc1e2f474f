"""Filling a catalog text: placeholders, and commands kept readable in right-to-left."""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.i18n.controls import FSI, PDI, echo_safe

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Commands (/help, !concord), links and examples of several numbers ("1 3") inside a
# translated text: in right-to-left text they are isolated so their Latin letters,
# slashes and spaces do not reorder the line ("1 3" would read "3 1").
_COMMAND_OR_LINK = re.compile(
    r"(?<![\w/])(?:[/!][a-z][a-z_]*|https?://[^\s\u2068\u2069]+|[0-9]+(?: [0-9]+)+(?![\w]))"
)


def placeholders(text: str) -> set[str]:
    """Names of the ``{name}`` placeholders in ``text``; ``{{`` is a literal brace."""
    return {m.group(1) for m in _PLACEHOLDER.finditer(text) if m.group(1)}


def substitute(text: str, values: Mapping[str, object]) -> str:
    """Fill ``{name}`` placeholders without ever raising.

    Unlike ``str.format``, a missing value leaves the placeholder visible
    instead of failing mid-conversation, and braces inside a value (a member's
    name such as ``{admin}``) are inserted as they are, never re-read. No value
    brings a control, bidi or invisible character with it (``echo_safe``).
    """

    if "{" not in text and "}" not in text:
        return text  # most texts have no placeholder and no brace: nothing to fill

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)[0]
        if name not in values:
            return match.group(0)
        try:
            return echo_safe(str(values[name]))
        except Exception:  # a value's __str__ must not break the reply
            return match.group(0)

    return _PLACEHOLDER.sub(replace, text)


def isolate_commands(text: str) -> str:
    """Wrap each command, link and run of numbers of a right-to-left text in FSI ... PDI."""
    return _COMMAND_OR_LINK.sub(lambda m: f"{FSI}{m.group(0)}{PDI}", text)
