"""The community's code of conduct: load it strictly, show it in the member's language.

The document is written once, in one language, by the community's admins
(``community/code-of-conduct.yaml``). Every text in it gets a derived message id
(``coc.<section>.summary``...) that translators translate in the normal gettext
catalogs; whatever is not translated yet falls back to the inline text, so a
member always sees the rules, in their own language where possible.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypedDict

from bot.conduct.search import Bm25Index, fold, is_no_space_char, tokens, words, words_match
from bot.core.yamlsource import KeyPath, YamlDocument, load_yaml_file, load_yaml_text

Lookup = Callable[[str], str | None]
"""The member's translation of a message id, or None when there is none."""

Field = Literal["title", "summary", "details", "ok", "not_ok"]

TITLE_MSGID = "coc.title"
SECTION_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")

_TOP_KEYS = ("title", "version", "language", "sections")
_SECTION_KEYS = ("id", "title", "summary", "details", "ok", "not_ok", "keywords", "walkthrough")
_REQUIRED_SECTION_KEYS = ("id", "title", "summary", "ok", "not_ok")
_LIST_FIELDS: tuple[Literal["ok", "not_ok"], ...] = ("ok", "not_ok")


@dataclass(frozen=True)
class Section:
    """One numbered part of the code of conduct, as written (untranslated)."""

    number: int
    id: str
    title: str
    summary: str
    details: str
    ok: tuple[str, ...]
    not_ok: tuple[str, ...]
    keywords: tuple[str, ...]
    walkthrough: bool


@dataclass(frozen=True)
class CodeOfConduct:
    """The whole document; ``version`` changes mean members acknowledge it again."""

    title: str
    version: str
    language: str
    sections: tuple[Section, ...]
    source: str

    def walkthrough_sections(self) -> tuple[Section, ...]:
        """The few sections the onboarding walkthrough shows, in order."""
        return tuple(section for section in self.sections if section.walkthrough)


class SectionTexts(TypedDict):
    """A section's texts in the member's language, ready for the engine to render."""

    title: str
    summary: str
    details: str
    ok: list[str]
    not_ok: list[str]


# --- loading -------------------------------------------------------------------------


def load_coc(path: Path | str) -> CodeOfConduct:
    """Load and validate a code-of-conduct file; a mistake raises ConfigError."""
    return parse_coc(load_yaml_file(path))


def load_coc_text(text: str, name: str) -> CodeOfConduct:
    """Like ``load_coc`` for text already in memory (``name`` appears in errors)."""
    return parse_coc(load_yaml_text(text, name))


def parse_coc(doc: YamlDocument) -> CodeOfConduct:
    """Validate a loaded YAML document; it is the one place the format is checked."""
    data = doc.data
    if not isinstance(data, dict):
        raise doc.error((), "the code of conduct must be a mapping with title, version, sections")
    _check_keys(doc, (), data, _TOP_KEYS, _TOP_KEYS)
    title = _text(doc, ("title",), data["title"])
    version = data["version"]
    if not isinstance(version, str) or not version.strip():
        raise doc.error(("version",), 'must be quoted text, for example "2026-11"')
    language = data["language"]
    if not isinstance(language, str) or not LANGUAGE_TAG.fullmatch(language):
        raise doc.error(("language",), "must be a language code such as en or pt-BR")
    raw_sections = data["sections"]
    if not isinstance(raw_sections, list) or not raw_sections:
        raise doc.error(("sections",), "must be a list with at least one section")
    sections: list[Section] = []
    first_line: dict[str, int] = {}
    for index, raw in enumerate(raw_sections):
        section = _section(doc, index, raw)
        if section.id in first_line:
            raise doc.error(
                ("sections", index, "id"),
                f"duplicate id {section.id!r}, first used on line {first_line[section.id]}",
            )
        first_line[section.id] = doc.line(("sections", index, "id"))
        sections.append(section)
    if not any(section.walkthrough for section in sections):
        raise doc.error(("sections",), "mark at least one section with walkthrough: true")
    return CodeOfConduct(
        title=title,
        version=version.strip(),
        language=language,
        sections=tuple(sections),
        source=doc.name,
    )


def _section(doc: YamlDocument, index: int, raw: Any) -> Section:
    path: KeyPath = ("sections", index)
    if not isinstance(raw, dict):
        raise doc.error(path, "each section must be a mapping with id, title, summary, ...")
    _check_keys(doc, path, raw, _SECTION_KEYS, _REQUIRED_SECTION_KEYS)
    section_id = raw["id"]
    if not isinstance(section_id, str) or not SECTION_ID.fullmatch(section_id):
        raise doc.error((*path, "id"), "must use only a-z, 0-9 and '-', like be-kind")
    if section_id.isdigit():
        raise doc.error((*path, "id"), "must not be only digits: it would look like a number")
    walkthrough = raw.get("walkthrough", False)
    if not isinstance(walkthrough, bool):
        raise doc.error((*path, "walkthrough"), "must be true or false")
    details = raw.get("details")
    return Section(
        number=index + 1,
        id=section_id,
        title=_text(doc, (*path, "title"), raw["title"]),
        summary=_text(doc, (*path, "summary"), raw["summary"]),
        details="" if details is None else _text(doc, (*path, "details"), details),
        ok=_text_list(doc, (*path, "ok"), raw["ok"], required=True),
        not_ok=_text_list(doc, (*path, "not_ok"), raw["not_ok"], required=True),
        keywords=_text_list(doc, (*path, "keywords"), raw.get("keywords", []), required=False),
        walkthrough=walkthrough,
    )


def _check_keys(
    doc: YamlDocument,
    path: KeyPath,
    data: dict[str, Any],
    allowed: tuple[str, ...],
    required: tuple[str, ...],
) -> None:
    for key in data:
        if key not in allowed:
            raise doc.error((*path, key), f"unknown key; allowed: {', '.join(allowed)}")
    for key in required:
        if key not in data:
            raise doc.error((*path, key), "missing")


def _text(doc: YamlDocument, path: KeyPath, value: Any) -> str:
    if not isinstance(value, str):
        raise doc.error(path, f"must be text, not {type(value).__name__}")
    text = value.strip()
    if not text:
        raise doc.error(path, "must not be empty")
    if "{" in text or "}" in text:
        raise doc.error(path, "must not contain { or }: they break message formatting")
    return text


def _text_list(doc: YamlDocument, path: KeyPath, value: Any, *, required: bool) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise doc.error(path, "must be a list of texts")
    if required and not value:
        raise doc.error(path, "needs at least one example")
    return tuple(_text(doc, (*path, index), item) for index, item in enumerate(value))


# --- message ids and translations -----------------------------------------------------


def section_msgid(section_id: str, field: Field, n: int | None = None) -> str:
    """Message id of one text: ``coc.be-kind.summary`` or ``coc.be-kind.ok.2``."""
    if field in _LIST_FIELDS:
        if n is None or n < 1:
            raise ValueError(f"{field} needs an example number n >= 1")
        return f"coc.{section_id}.{field}.{n}"
    return f"coc.{section_id}.{field}"


def catalog_entries(
    coc: CodeOfConduct, doc: YamlDocument | None = None
) -> list[tuple[int, str, str]]:
    """(line, msgid, inline text) of every translatable text, in document order.

    Lines come from ``doc`` (the YAML the document was parsed from); without it
    they are 0, which is enough for callers that only need the ids.
    """

    def line(path: KeyPath) -> int:
        return doc.line(path) if doc is not None else 0

    entries = [(line(("title",)), TITLE_MSGID, coc.title)]
    for index, section in enumerate(coc.sections):
        path: KeyPath = ("sections", index)
        entries.append((line((*path, "title")), section_msgid(section.id, "title"), section.title))
        entries.append(
            (line((*path, "summary")), section_msgid(section.id, "summary"), section.summary)
        )
        if section.details:
            entries.append(
                (line((*path, "details")), section_msgid(section.id, "details"), section.details)
            )
        for field in _LIST_FIELDS:
            for n, text in enumerate(getattr(section, field), start=1):
                entries.append(
                    (line((*path, field, n - 1)), section_msgid(section.id, field, n), text)
                )
    return entries


def no_translation(msgid: str) -> str | None:
    """A lookup for members who read the document's own language."""
    return None


def translate(msgid: str, inline: str, lookup: Lookup) -> str:
    """The member's translation, or the inline text when there is none yet.

    A gettext-style lookup returns the msgid itself when a message is missing;
    that is treated as missing too, so a member never sees ``coc.be-kind.title``.
    """
    text = lookup(msgid)
    if not text or not text.strip() or text == msgid:
        return inline
    return text


def coc_title(coc: CodeOfConduct, lookup: Lookup) -> str:
    """The document's title in the member's language."""
    return translate(TITLE_MSGID, coc.title, lookup)


def localized(section: Section, field: Field, lookup: Lookup, n: int | None = None) -> str:
    """One text of a section in the member's language; ``n`` (1-based) picks an example."""
    if field in _LIST_FIELDS:
        examples: tuple[str, ...] = getattr(section, field)
        if n is None or not 1 <= n <= len(examples):
            raise ValueError(f"{field} has examples 1..{len(examples)}, not {n}")
        return translate(section_msgid(section.id, field, n), examples[n - 1], lookup)
    inline: str = getattr(section, field)
    if not inline:
        return ""  # no details written: nothing to translate either
    return translate(section_msgid(section.id, field), inline, lookup)


def section_texts(section: Section, lookup: Lookup) -> SectionTexts:
    """Every text of a section in the member's language, for the engine to render."""
    return SectionTexts(
        title=localized(section, "title", lookup),
        summary=localized(section, "summary", lookup),
        details=localized(section, "details", lookup),
        ok=[localized(section, "ok", lookup, n) for n in range(1, len(section.ok) + 1)],
        not_ok=[localized(section, "not_ok", lookup, n) for n in range(1, len(section.not_ok) + 1)],
    )


# --- finding sections -------------------------------------------------------------------


def named_section(coc: CodeOfConduct, name: str) -> Section | None:
    """The section a word names exactly: its number ("3", "#3", "§3", also in
    non-Latin digits such as "٣") or its id ("be-kind"); never title words."""
    text = name.strip().lstrip("#§").strip()
    if text.isdecimal():
        number = int(text)
        return coc.sections[number - 1] if 1 <= number <= len(coc.sections) else None
    return next((s for s in coc.sections if s.id == text.casefold()), None)


def find_section(coc: CodeOfConduct, query: str, lookup: Lookup) -> Section | None:
    """The section a member names: "3", "#3", an id ("be-kind") or title words.

    Title words match in the member's language or the document's, ignoring case
    and accents; a word may be cut short ("harass" finds "No harassment").
    """
    text = query.strip().lstrip("#§").strip()
    if not text:
        return None
    exact = named_section(coc, text)
    if exact is not None or text.isdecimal():
        return exact
    wanted = words(fold(text))
    joined = "".join(wanted)
    if not wanted or (len(joined) < 3 and not any(map(is_no_space_char, joined))):
        return None  # one or two letters would match almost anything
    best: tuple[int, int, Section] | None = None
    for section in coc.sections:
        for title in (localized(section, "title", lookup), section.title):
            title_words = words(fold(title))
            if not words_match(wanted, title_words):
                continue
            rank = (0 if wanted == title_words else 1, len(title_words), section)
            if best is None or rank[:2] < best[:2]:
                best = rank
    return best[2] if best else None


_INDEXES: dict[tuple[CodeOfConduct, str], Bm25Index] = {}
_MAX_INDEXES = 64
RELATIVE_CUTOFF = 0.2  # drop results far weaker than the best: they read as noise


def search(
    coc: CodeOfConduct,
    question: str,
    lookup: Lookup,
    limit: int = 3,
    *,
    locale: str | None = None,
) -> list[Section]:
    """Sections that best answer a question in the member's own words, best first.

    ``locale`` names the language ``lookup`` translates to; with it, the index
    for that language is built once and reused. Without it nothing is cached.
    """
    query = tokens(question)
    if not query or limit < 1:
        return []
    index = _index(coc, lookup, locale)
    scores = index.scores(query)
    best = max(scores)
    if best <= 0.0:
        return []
    ranked = sorted(
        (
            (score, section)
            for score, section in zip(scores, coc.sections, strict=True)
            if score >= best * RELATIVE_CUTOFF
        ),
        key=lambda item: (-item[0], item[1].number),
    )
    return [section for _, section in ranked[:limit]]


def forget_search_indexes() -> None:
    """Drop cached indexes, e.g. after translations were reloaded."""
    _INDEXES.clear()


def _index(coc: CodeOfConduct, lookup: Lookup, locale: str | None) -> Bm25Index:
    if locale is not None and (cached := _INDEXES.get((coc, locale))) is not None:
        return cached
    index = Bm25Index([_section_tokens(section, lookup) for section in coc.sections])
    if locale is not None:
        if len(_INDEXES) >= _MAX_INDEXES:
            _INDEXES.pop(next(iter(_INDEXES)))
        _INDEXES[(coc, locale)] = index
    return index


def _section_tokens(section: Section, lookup: Lookup) -> list[str]:
    """Title and keywords count twice: they say what a section is about."""
    texts = section_texts(section, lookup)
    strong = [texts["title"], texts["title"], *section.keywords, *section.keywords]
    body = [texts["summary"], texts["details"], *texts["ok"], *texts["not_ok"]]
    return [token for text in (*strong, *body) for token in tokens(text)]
