"""Command mentions in outgoing text: ``/help`` becomes ``!concord help``.

The catalogs tell members to type ``/help``, ``/coc``, ``/idioma`` ..., but Matrix and
IRC clients keep ``/`` for themselves (Element opens its own help on ``/help``, an IRC
client says "unknown command"), so there the bot's commands are ``<prefix> <name>``.
Every mention of a known command (a canonical name or one of its localized names) is
rewritten: a ``/`` not preceded by a letter, digit, ``_`` or ``/``, then the name, not
followed by a letter or digit. In right-to-left texts the
catalogs wrap a command in FSI ... PDI (U+2068 ... U+2069); the isolates stay around the
rewritten command. Links are left alone (``https://example.org/#/help`` stays a link).

Member text the bot repeats goes through the same rewrite, so a member's "/help" is
shown as "!concord help" too: harmless, and it cannot create a ping or markup (the
prefix is one word that cannot start with "/", and the sender makes "@room" inert
after this rewrite).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.engine.host import AdapterHost

_LINK = r"https?://[^\s\u2068\u2069]+"


def command_names(host: AdapterHost) -> set[str]:
    """Every name a member can type: the canonical names of all commands (also those
    without a help line) and their localized names in the enabled languages."""
    names = host.typed_command_names()
    for info in host.commands():
        names.add(info.name)
        names.update(info.names.values())
    return {name for name in names if name}


class CommandMentions:
    """``rewrite(text)``: the text with each ``/name`` of a known command as
    ``<prefix> name``."""

    def __init__(self, names: Iterable[str], prefix: str) -> None:
        self.prefix = prefix
        # Longest first, so "/reports" is not taken for "/report" followed by "s".
        ordered = sorted({n for n in names if n}, key=lambda n: (-len(n), n))
        alternatives = "|".join(re.escape(name) for name in ordered)
        self.pattern = (
            re.compile(
                rf"(?P<link>{_LINK})|(?<![\w/])/(?P<name>{alternatives})(?!\w)", re.IGNORECASE
            )
            if ordered
            else None
        )

    def rewrite(self, text: str) -> str:
        if self.pattern is None or "/" not in text:
            return text
        return self.pattern.sub(self._replace, text)

    def _replace(self, match: re.Match[str]) -> str:
        if match.group("link") is not None:
            return match.group(0)
        return f"{self.prefix} {match.group('name')}"
