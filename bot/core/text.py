"""Plain-text helpers shared by every adapter."""

from __future__ import annotations


def split_message(text: str, limit: int) -> list[str]:
    """Split a message into pieces of at most ``limit`` characters, at line breaks
    where possible, so a long code-of-conduct section is never cut mid-line or lost."""
    if limit < 1:
        raise ValueError("limit must be positive")
    if len(text) <= limit and not text.startswith("\n"):  # as the loop below would
        return [text] if text.strip() else [""]
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # a single line longer than the limit: cut at a space
            cut = line.rfind(" ", 0, limit + 1)
            cut = cut if cut > 0 else limit
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current or not pieces:
        pieces.append(current)
    return [piece for piece in pieces if piece.strip()] or [""]
