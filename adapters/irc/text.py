"""What may go on an IRC line: plain text without control codes, never starting with a
command character, split within the 512-byte line limit.

IRC formats text with control codes (``\\x02`` bold, ``\\x03`` colour, ``\\x0f`` reset,
``\\x16`` reverse, ``\\x1d`` italics, ``\\x1e`` strike, ``\\x1f`` underline, ``\\x11``
monospace) and ``\\x01`` starts a CTCP request; CR, LF and NUL would end the line and
let text become a command of its own. Every control character goes (the core strips
them from member text too; this is the last guard), a line break starts a new message.

Other bots in a channel obey lines that start with ``!``, ``.``, ``@`` and the like, so a
line the bot sends never starts with one: a list dash becomes a bullet, anything else
gets a ``»`` in front. A line longer than the server takes is split at spaces where
possible and never inside a UTF-8 sequence.
"""

from __future__ import annotations

import re

from bot.i18n.controls import strip_controls

# RFC 1459 / 2812: at most 512 bytes including the trailing CRLF.
LINE_LIMIT = 512
# Characters other bots take for a command prefix at the start of a line.
COMMAND_CHARACTERS = frozenset("!.,;:/\\@#$%&*+-=?^~`|<>'\"")
_BULLETS = ("- ", "* ", "+ ")
# A colour code takes its numbers with it (``\x0304,12``), a hex colour its hex digits.
_COLOURS = re.compile(r"\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?")
_MARK = "» "


def strip_formatting(text: str) -> str:
    """IRC text as plain text: colours with their numbers gone (the other formatting
    codes are control characters, which ``strip_controls`` removes)."""
    return _COLOURS.sub("", text) if ("\x03" in text or "\x04" in text) else text


def clean_lines(text: str) -> list[str]:
    """The lines of ``text`` without control codes (a Unicode line or paragraph
    separator breaks the line too), tabs as spaces, trimmed, none empty."""
    text = strip_formatting(text.replace("\r\n", "\n").replace("\r", "\n"))
    text = strip_controls(text)
    lines = (line.replace("\t", " ").strip() for line in text.split("\n"))
    return [line for line in lines if line]


def safe_start(line: str) -> str:
    """``line`` so that it does not start with a command character."""
    if not line or line[0] not in COMMAND_CHARACTERS:
        return line
    if line.startswith(_BULLETS):
        return "• " + line[2:]
    return _MARK + line


def payload_budget(prefix_bytes: int, command: str, target: str) -> int:
    """Bytes left for the text in ``:prefix COMMAND target :text\\r\\n``, where the
    server puts the bot's ``nick!user@host`` (``prefix_bytes`` long) in front when it
    relays the line."""
    overhead = 1 + prefix_bytes + 1 + len(command.encode()) + 1 + len(target.encode()) + 2
    return LINE_LIMIT - overhead - 2


def split_bytes(line: str, budget: int) -> list[str]:
    """``line`` in pieces of at most ``budget`` UTF-8 bytes: at the last space that fits,
    else at the last whole character that fits."""
    if budget < 8:
        raise ValueError("an IRC line needs room for some text")
    pieces: list[str] = []
    rest = line
    while len(rest.encode()) > budget:
        cut = _fitting_characters(rest, budget)
        space = rest.rfind(" ", 0, cut + 1)
        if space > cut // 2:
            cut = space
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _fitting_characters(text: str, budget: int) -> int:
    """How many leading characters of ``text`` fit in ``budget`` bytes."""
    used = 0
    for index, char in enumerate(text):
        used += len(char.encode())
        if used > budget:
            return index
    return len(text)


def irc_lines(text: str, budget: int) -> list[str]:
    """The lines a text becomes on IRC: cleaned, split to the budget (the marker of a
    line that needed one included), none empty, none starting with a command
    character."""
    lines: list[str] = []
    for line in clean_lines(text):
        for piece in split_bytes(line, budget - len(_MARK.encode())):
            lines.append(safe_start(piece))
    return lines
