"""Control characters in member text: what the bot never stores nor repeats.

Bidi controls could reorder the bot's own sentence around a member's words (U+202E
makes "gnp.exe" look like "exe.png"); invisible characters (U+200B, U+2060, U+FEFF)
hide text or make two words that look the same differ; other controls corrupt logs
and terminals.
"""

from __future__ import annotations

import re

FSI = "\u2068"  # FIRST STRONG ISOLATE
PDI = "\u2069"  # POP DIRECTIONAL ISOLATE

# Every format character (Unicode category Cf) except the two joiners, which Persian,
# the Indic scripts and emoji need, and the implicit direction marks (LRM, RLM, ALM),
# which act like an invisible letter, never on text around them, and which
# right-to-left writers need to place punctuation (tests/test_command_privacy.py
# checks this list against the Unicode database); C0 and C1 controls other than
# newline and tab. The line and paragraph separators become newlines.
_FORMAT = [
    0xAD,
    *range(0x600, 0x606),
    0x6DD,
    0x70F,
    0x890,
    0x891,
    0x8E2,
    0x180E,
    0x200B,
    *range(0x202A, 0x202F),
    *range(0x2060, 0x2065),
    *range(0x2066, 0x2070),
    0xFEFF,
    *range(0xFFF9, 0xFFFC),
    0x110BD,
    0x110CD,
    *range(0x13430, 0x13440),
    *range(0x1BCA0, 0x1BCA4),
    *range(0x1D173, 0x1D17B),
    0xE0001,
    *range(0xE0020, 0xE0080),
]
UNSAFE_CHARS: dict[int, str | None] = {
    **dict.fromkeys(c for c in range(0x20) if chr(c) not in "\n\t"),
    **dict.fromkeys(range(0x7F, 0xA0)),
    **dict.fromkeys(_FORMAT),
    0x2028: "\n",
    0x2029: "\n",
}
_JOINERS = "\u200c\u200d"
# A joiner belongs between two letters or symbols of a script that joins (Persian,
# Devanagari, emoji): one next to ASCII, a space, another joiner or an end is invisible
# noise.
_STRAY_JOINER = re.compile(
    rf"(?<![^\x00-\x7f\s{_JOINERS}])[{_JOINERS}]|[{_JOINERS}](?![^\x00-\x7f\s{_JOINERS}])"
)
# Two classes: sre checks a class of characters below U+10000 with one table look-up
# per character, and a class with any character above it member by member (60 times
# slower on a long reply); those few are searched for only in a text that has one.
_ANY_BMP = re.compile(
    "[" + "".join(re.escape(chr(c)) for c in sorted(UNSAFE_CHARS) if c <= 0xFFFF) + _JOINERS + "]"
)
_ANY_ASTRAL = re.compile(
    "[" + "".join(re.escape(chr(c)) for c in sorted(UNSAFE_CHARS) if c > 0xFFFF) + "]"
)
_ISOLATES = re.compile(f"([{FSI}{PDI}])")


def _unsafe(text: str) -> bool:
    """Whether ``text`` has any character ``strip_controls`` would take out."""
    if _ANY_BMP.search(text):
        return True
    return not text.isascii() and max(text) > "\uffff" and bool(_ANY_ASTRAL.search(text))


def strip_controls(text: str) -> str:
    """``text`` without control, bidi or invisible characters."""
    if not _unsafe(text):
        return text
    return _STRAY_JOINER.sub("", text.translate(UNSAFE_CHARS))


def echo_safe(text: str) -> str:
    """A value about to be repeated inside one of the bot's texts: stripped like
    ``strip_controls``, except the isolates the bot itself puts around a value or a
    command (``FSI ... PDI``, balanced), which cannot reach outside themselves."""
    if not _unsafe(text):
        return text
    out: list[str] = []
    opened: list[int] = []
    for part in _ISOLATES.split(text):
        if part == FSI:
            opened.append(len(out))
            out.append(part)
        elif part == PDI:
            if opened:
                opened.pop()
                out.append(part)
        else:
            out.append(strip_controls(part))
    for index in opened:
        out[index] = ""  # never closed
    return "".join(out)
