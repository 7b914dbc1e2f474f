"""Language-neutral text folding, tokens and a tiny BM25 index.

Members ask about the code of conduct in their own words and their own script,
so matching must ignore case and accents, cope with scripts written without
spaces (Chinese, Japanese, Thai...) and stay fast with no extra dependency.
Nothing here knows about the code of conduct itself; ``bot.conduct.document`` uses it.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

# Scripts written without spaces between words: indexed as overlapping
# character pairs (bigrams), the usual trick when no word list is available.
# Hangul is spaced, but particles glue onto nouns, so pairs help there too.
_NO_SPACE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x2FA1F),  # CJK extensions B and later
)

# Arabic short vowels and the tatweel carry no meaning for matching.
_ARABIC_MARKS = frozenset(chr(c) for c in (*range(0x064B, 0x0660), 0x0670, 0x0640))
_ARABIC_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي"})
_ARABIC_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")

# Only words so common that they would drown the real ones in English questions;
# BM25's idf already discounts common words in every other language.
_STOP_TEXT = (
    "a about all also am an and any are be been but by can could do does did for from "
    "get got had has have how i if in into is it its just like me my of on or our should "
    "so some that the their them then there they this to very was we were what when "
    "where which who why will with would you your"
)
STOP_WORDS = frozenset(_STOP_TEXT.split())

PREFIX_LENGTH = 4  # crude, language-agnostic stemming: "harassing" ~ "harassment"


def is_no_space_char(char: str) -> bool:
    """True for characters of scripts that do not separate words with spaces."""
    code = ord(char)
    return any(low <= code <= high for low, high in _NO_SPACE_RANGES)


def fold(text: str) -> str:
    """Lower-case text without accents, keeping the marks other scripts need.

    Accents are dropped only on Latin, Greek and Cyrillic letters ("café" ->
    "cafe"); Devanagari vowel signs or Japanese voicing marks change the word,
    so they stay. Arabic loses its optional short vowels and letter variants.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept: list[str] = []
    base = ""
    for char in decomposed:
        if unicodedata.combining(char):
            if base and ord(base) < 0x0530:
                continue
        else:
            base = char
        if char in _ARABIC_MARKS:
            continue
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept)).translate(_ARABIC_LETTERS)


def words(folded: str) -> list[str]:
    """Split folded text into runs of letters, digits and their combining marks."""
    result: list[str] = []
    current: list[str] = []
    for char in folded:
        if char.isalnum() or unicodedata.category(char).startswith("M"):
            current.append(char)
        elif current:
            result.append("".join(current))
            current = []
    if current:
        result.append("".join(current))
    return result


def words_match(wanted: list[str], title_words: list[str]) -> bool:
    """Every wanted word starts a title word, or sits inside an unspaced title."""
    title = "".join(title_words)
    return all(
        any(word.startswith(part) for word in title_words)
        or (any(map(is_no_space_char, part)) and part in title)
        for part in wanted
    )


def _script_runs(word: str) -> Iterable[tuple[bool, str]]:
    """Cut a word where it switches between spaced and unspaced scripts ("dm私")."""
    start = 0
    for index in range(1, len(word) + 1):
        if index == len(word) or is_no_space_char(word[index]) != is_no_space_char(word[start]):
            yield is_no_space_char(word[start]), word[start:index]
            start = index


def _arabic_stem(word: str) -> str:
    if "\u0600" <= word[0] <= "\u06ff":
        for prefix in _ARABIC_PREFIXES:
            if word.startswith(prefix) and len(word) - len(prefix) >= 3:
                return word[len(prefix) :]
    return word


def tokens(text: str) -> list[str]:
    """Search tokens of any text: words, their short prefixes, or character pairs."""
    result: list[str] = []
    for word in words(fold(text)):
        for unspaced, run in _script_runs(word):
            if unspaced:
                if len(run) == 1:
                    result.append(run)
                else:
                    result.extend(run[i : i + 2] for i in range(len(run) - 1))
                continue
            if run in STOP_WORDS:
                continue
            run = _arabic_stem(run)
            result.append(run)
            if len(run) > PREFIX_LENGTH:
                result.append(run[:PREFIX_LENGTH])
    return result


class Bm25Index:
    """Okapi BM25 over a handful of documents, built once and queried many times."""

    def __init__(
        self, documents: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75
    ) -> None:
        self._k1 = k1
        self._b = b
        self._counts = [Counter(doc) for doc in documents]
        self._lengths = [len(doc) for doc in documents]
        self._average = (sum(self._lengths) / len(documents)) if documents else 0.0
        frequency: Counter[str] = Counter()
        for counts in self._counts:
            frequency.update(counts.keys())
        total = len(documents)
        self._idf = {
            term: math.log(1.0 + (total - n + 0.5) / (n + 0.5)) for term, n in frequency.items()
        }

    def scores(self, query: Iterable[str]) -> list[float]:
        """One score per document; 0.0 means no query term occurs in it."""
        terms = [term for term in dict.fromkeys(query) if term in self._idf]
        result: list[float] = []
        for counts, length in zip(self._counts, self._lengths, strict=True):
            norm = self._k1 * (1.0 - self._b + self._b * length / (self._average or 1.0))
            score = 0.0
            for term in terms:
                tf = counts.get(term, 0)
                if tf:
                    score += self._idf[term] * tf * (self._k1 + 1.0) / (tf + norm)
            result.append(score)
        return result
