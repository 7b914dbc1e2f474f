"""Locale tags: normalizing, negotiating, naming and text direction.

Platforms hand us tags in every spelling (``pt_br``, ``zh-hant-tw``, Discord's
``no``), community codes that are not CLDR codes (``als``, ``simple``) or no tag at
all. Everything here is total: garbage in gives ``None``, ``"ltr"`` or the
default, never an exception, because a member's odd client must not break a
conversation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from functools import lru_cache

from babel import Locale, UnknownLocaleError

from bot.i18n.controls import FSI as FSI
from bot.i18n.controls import PDI as PDI
from bot.i18n.controls import strip_controls

SOURCE_LOCALE = "en"
MAX_TAG_LENGTH = 35


# Whole-tag aliases: community codes that a plain parser would misread.
_TAG_ALIASES = {
    "simple": "en",  # Simple English Wikipedia
    "sr-ec": "sr-Cyrl",  # Wikimedia's Serbian Cyrillic
    "sr-el": "sr-Latn",  # Wikimedia's Serbian Latin
    "zh-yue": "yue",
    "zh-min-nan": "nan",
    "zh-classical": "lzh",
    "be-x-old": "be-tarask",
}

# Language-subtag aliases: deprecated ISO codes and codes Babel reads wrongly.
_LANGUAGE_ALIASES = {
    "no": "nb",  # Discord's Norwegian is Bokmål
    "iw": "he",
    "in": "id",
    "ji": "yi",
    "jw": "jv",
    "mo": "ro",
    "tl": "fil",
    "als": "gsw",  # Alemannic in Wikimedia; Babel would read Albanian
}

# Chinese regions stand for a script; the script is what a reader needs.
_CHINESE_REGION_SCRIPT = {"CN": "Hans", "SG": "Hans", "TW": "Hant", "HK": "Hant", "MO": "Hant"}

# When a bare language matches several regional catalogs, the one most readers expect.
_PREFERRED_CATALOG = {"pt": "pt-BR", "zh": "zh-Hans", "sr": "sr-Cyrl"}

# Own names where CLDR's autonym is not what members look for in a list.
_OWN_NAMES = {
    "id": "Bahasa Indonesia",  # CLDR: "Indonesia", which reads as the country
    "ms": "Bahasa Melayu",  # CLDR: "Melayu"
    "be-tarask": "Беларуская (тарашкевіца)",  # CLDR drops the variant
}

_RTL_SCRIPTS = {"Adlm", "Arab", "Aran", "Hebr", "Mand", "Nkoo", "Rohg", "Samr", "Syrc", "Thaa"}

# Languages whose dotless/dotted i makes plain str.upper wrong.
_DOTTED_I_LANGUAGES = {"tr", "az", "crh", "gag"}

_TAG_SHAPE = re.compile(r"[A-Za-z0-9]{1,8}(?:-[A-Za-z0-9]{1,8})*")


def normalize_tag(tag: str | None) -> str | None:
    """Canonical BCP-47 spelling with Concord's aliases, or None for garbage."""
    if not isinstance(tag, str):
        return None
    return _normalize(tag)


@lru_cache(maxsize=4096)  # asked on every event: tags repeat, so remember them
def _normalize(tag: str) -> str | None:
    lowered = tag.strip().replace("_", "-").lower()
    if lowered in _TAG_ALIASES:
        return _TAG_ALIASES[lowered]
    if len(lowered) > MAX_TAG_LENGTH or not _TAG_SHAPE.fullmatch(lowered):
        return None
    parts = lowered.split("-")
    language = _LANGUAGE_ALIASES.get(parts[0], parts[0])
    if not (2 <= len(language) <= 3 and language.isalpha()):
        return None
    rest = _canonical_subtags(parts[1:])
    if rest is None:
        return None
    script, region, tail = rest
    if language == "zh" and script is None:
        if region in _CHINESE_REGION_SCRIPT:
            script, region = _CHINESE_REGION_SCRIPT[region], None
        elif region is None:
            script = "Hans"
    return "-".join(p for p in (language, script, region, *tail) if p)


def _canonical_subtags(parts: list[str]) -> tuple[str | None, str | None, list[str]] | None:
    """Script, region and the remaining subtags in canonical case; None if out of order."""
    script: str | None = None
    region: str | None = None
    tail: list[str] = []
    stage = 0  # 0: script allowed, 1: region allowed, 2: variants, 3: extensions
    for part in parts:
        if stage == 3:
            tail.append(part)
        elif len(part) == 1:
            stage = 3
            tail.append(part)
        elif stage == 0 and len(part) == 4 and part.isalpha():
            script, stage = part.title(), 1
        elif stage <= 1 and len(part) == 2 and part.isalpha():
            region, stage = part.upper(), 2
        elif stage <= 1 and len(part) == 3 and part.isdigit():
            region, stage = part, 2
        elif len(part) >= 5 or (len(part) == 4 and part[0].isdigit()):
            tail.append(part)
            stage = 2
        else:
            return None
    if tail and len(tail[-1]) == 1:
        return None  # a singleton must introduce at least one subtag
    return script, region, tail


def fallback_chain(tag: str) -> list[str]:
    """From most to least specific: ``zh-Hant-TW`` -> zh-Hant-TW, zh-Hant, zh."""
    normal = normalize_tag(tag)
    if normal is None:
        return []
    parts = normal.split("-")
    chain: list[str] = []
    for end in range(len(parts), 0, -1):
        if len(parts[end - 1]) == 1:
            continue  # never stop on an extension singleton such as "-x"
        chain.append("-".join(parts[:end]))
    return chain


def _script_of(tag: str) -> str | None:
    parts = tag.split("-")
    if len(parts) > 1 and len(parts[1]) == 4 and parts[1].isalpha():
        return parts[1]
    return None


def _language_match(tag: str, catalogs: Collection[str]) -> str | None:
    """A catalog of the same language when the choice is unambiguous.

    A different region is fine to read (pt-PT reader, pt-BR catalog); a different
    explicit script is not (a zh-Hant reader gets no zh-Hans catalog).
    """
    language = tag.split("-")[0]
    script = _script_of(tag)
    options = []
    for code in catalogs:
        other = _script_of(code)
        if code.split("-")[0] == language and (script is None or other in (None, script)):
            options.append(code)
    if len(options) == 1:
        return options[0]
    preferred = _PREFERRED_CATALOG.get(language)
    return preferred if preferred in options else None


def negotiate(candidates: Sequence[str | None], available: Collection[str], default: str) -> str:
    """The first candidate (explicit choice, platform locale, ...) we have a catalog for."""
    if isinstance(available, tuple):
        # A pure function of hashable arguments, asked on every event: remembered.
        return _negotiate_remembered(tuple(candidates), available, default)
    return _negotiate(candidates, available, default)


@lru_cache(maxsize=4096)
def _negotiate_remembered(
    candidates: tuple[str | None, ...], available: tuple[str, ...], default: str
) -> str:
    return _negotiate(candidates, available, default)


def _negotiate(candidates: Sequence[str | None], available: Collection[str], default: str) -> str:
    normalized: dict[str, str] = {}
    for code in available:
        key = normalize_tag(code)
        if key is not None:
            normalized.setdefault(key, code)
    for candidate in candidates:
        tag = normalize_tag(candidate)
        if tag is None:
            continue
        for code in fallback_chain(tag):
            if code in normalized:
                return normalized[code]
        match = _language_match(tag, normalized)
        if match is not None:
            return normalized[match]
    return default


@lru_cache(maxsize=512)
def babel_locale(code: str) -> Locale | None:
    """Babel's locale for exactly this tag, or None; Babel needs ``sep="-"``."""
    try:
        return Locale.parse(code, sep="-")
    except (UnknownLocaleError, ValueError, TypeError):
        return None


def _own_name(code: str) -> tuple[str, Locale | None]:
    """The language's own name as CLDR writes it inside a sentence (or our override),
    with the locale it came from; the code itself when nothing is known."""
    tag = normalize_tag(code)
    if tag is None:
        return code, None
    if tag in _OWN_NAMES:
        return _OWN_NAMES[tag], None
    locale = babel_locale(tag)
    name = locale.get_display_name(locale) if locale is not None else None
    return (name, locale) if name else (code, None)


@lru_cache(maxsize=1024)
def display_name(code: str) -> str:
    """The language's own name, capitalized as a list entry: "Español", "العربية"."""
    name, locale = _own_name(code)
    if locale is None:
        return name
    first = name[0]
    if first == "i" and locale.language in _DOTTED_I_LANGUAGES:
        return "İ" + name[1:]
    # title() rather than upper(): Georgian and other caseless-in-practice
    # scripts keep their letter, digraphs such as "ǆ" become "ǅ".
    return first.title() + name[1:]


@lru_cache(maxsize=1024)
def sentence_name(code: str) -> str:
    """The language's own name as it is written inside a sentence: CLDR's names are
    that form ("mis textos en español", "meus textos em português", but "Deutsch"),
    while ``display_name`` capitalizes for lists and menus. Every turn fills it in."""
    return _own_name(code)[0]


@lru_cache(maxsize=1024)
def text_direction(code: str) -> str:
    """``"rtl"`` or ``"ltr"``; an explicit script decides, because Babel drops
    scripts it has no data for (``ku-Arab`` parses as ``ku``)."""
    tag = normalize_tag(code)
    if tag is None:
        return "ltr"
    script = _script_of(tag)
    if script is not None:
        return "rtl" if script in _RTL_SCRIPTS else "ltr"
    for candidate in fallback_chain(tag):
        locale = babel_locale(candidate)
        if locale is not None:
            return "rtl" if locale.text_direction == "rtl" else "ltr"
    return "ltr"


def is_rtl(code: str) -> bool:
    return text_direction(code) == "rtl"


def isolate(text: str, code: str) -> str:
    """Keep a name, number or command readable inside right-to-left text."""
    if is_rtl(code):
        return f"{FSI}{text}{PDI}"
    return text


def clean_user_text(text: str, limit: int = 2000) -> str:
    """Member text made safe to store and repeat: no control, bidi or invisible
    characters (see ``bot.i18n.controls``), and at most ``limit`` characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", strip_controls(text)).strip()
    if limit <= 0:
        return ""
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def as_clause(text: str) -> str:
    """Member text set inside a sentence that ends it itself: one final full stop
    dropped, so "The reason: Spam.." never happens (an ellipsis stays)."""
    if text.endswith((".", "。", "．")) and not text.endswith(".."):
        return text[:-1].rstrip()
    return text


def language_name(code: str, in_language: str) -> str:
    """The name of language ``code`` as a reader of ``in_language`` says it ("inglés")."""
    locale, reader = babel_locale(code), babel_locale(in_language)
    if locale is None or reader is None:
        return display_name(code)
    return locale.get_display_name(reader) or display_name(code)
