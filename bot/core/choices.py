"""Matching what a member typed to the choices on offer: by number or by words."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

from bot.core.actions import Choice

_SPLIT = re.compile(r"[,;\s]+")
_NOT_WORD = re.compile(r"[^\w\s]")


def fold(text: str) -> str:
    """Case- and accent-insensitive form, so "espanol" finds "Español"."""
    if text.isascii():  # most answers ("1", "yes"): nothing to decompose
        kept = text.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", text.casefold())
        kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NOT_WORD.sub(" ", kept).split())


def match_choice(
    text: str,
    choices: list[Choice],
    extra_words: Callable[[], dict[str, list[str]]] | None = None,
) -> Choice | None:
    """The one choice the text names, or None when it names none or several.
    ``extra_words`` gives other words for choices by key: asked for only when the
    text is not a number (most answers are)."""
    typed = fold(text)
    if not typed:
        return None
    digits = unicodedata.normalize("NFKC", text).strip().rstrip(".)")
    if digits.isdecimal():
        index = int(digits) - 1
        return choices[index] if 0 <= index < len(choices) else None
    words = extra_words() if extra_words is not None else {}
    exact = [c for c in choices if typed in _names(c, words)]
    if len(exact) == 1:
        return exact[0]
    partial = [c for c in choices if any(_contains(name, typed) for name in _names(c, words))]
    return partial[0] if len(partial) == 1 else None


def match_many(text: str, choices: list[Choice]) -> list[Choice] | None:
    """Several choices ("1 3", "1, 3"), or one; None when any part names nothing."""
    parts = [p for p in _SPLIT.split(unicodedata.normalize("NFKC", text).strip()) if p]
    if parts and all(p.isdecimal() for p in parts):
        picked = []
        for part in parts:
            found = match_choice(part, choices)
            if found is None:
                return None
            if found not in picked:
                picked.append(found)
        return picked
    single = match_choice(text, choices)
    return [single] if single else None


def _names(choice: Choice, extra: dict[str, list[str]]) -> set[str]:
    return {fold(choice.label), fold(choice.key), *(fold(w) for w in extra.get(choice.key, []))}


def _contains(name: str, typed: str) -> bool:
    return len(typed) >= 2 and (name.startswith(typed) or f" {typed}" in f" {name}")


def mentions(text: str, phrases: Iterable[str], max_extra_words: int | None = None) -> bool:
    """Whether ``text`` says one of ``phrases`` (folded, as whole words; in a script
    written without spaces, as a part), with at most ``max_extra_words`` other words
    around it. What the member typed is folded once, whatever the number of phrases."""
    typed = tuple(fold(text).split())
    if not typed:
        return False
    return any(_says(typed, _phrase_words(phrase), max_extra_words) for phrase in phrases)


def _says(typed: tuple[str, ...], words: tuple[str, ...], max_extra_words: int | None) -> bool:
    if not words:
        return False
    if max_extra_words is not None and len(typed) - len(words) > max_extra_words:
        return False
    size = len(words)
    if any(typed[i : i + size] == words for i in range(len(typed) - size + 1)):
        return True
    joined = "".join(words)
    return size == 1 and len(typed) <= 2 and len(joined) >= 2 and joined in "".join(typed)


@lru_cache(maxsize=256)
def _phrase_words(phrase: str) -> tuple[str, ...]:
    """A phrase's folded words: phrases are the catalogs' few texts, asked for with
    every answer, so each is folded once (never what a member typed)."""
    return tuple(fold(phrase).split())
