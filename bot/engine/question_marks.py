"""Marks that tie a button to the question it was pressed under: a press under an
older question is refused rather than taken as an answer to the new one."""

from __future__ import annotations

import zlib

from bot.core.state import Frame

MARK = "~"  # between a choice's key and its question's mark


def question_mark(frame: Frame) -> str:
    """A short mark for one question asked (flow, step, and which time it was asked):
    a button pressed under an older question carries another mark."""
    number = zlib.crc32(f"{frame.dialog}/{frame.step}/{frame.asked}".encode()) % 36**4
    digits = ""
    for _ in range(4):
        number, digit = divmod(number, 36)
        digits += "0123456789abcdefghijklmnopqrstuvwxyz"[digit]
    return digits


def pressed(frame: Frame, choice_key: str) -> str | None:
    """The key of a button pressed under the current question; None when the button
    belongs to an older one. A key without a mark counts for the current question."""
    key, separator, mark = choice_key.rpartition(MARK)
    if not separator:
        return choice_key
    return key if mark == question_mark(frame) else None
