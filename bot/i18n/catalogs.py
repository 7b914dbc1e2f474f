"""gettext catalogs with symbolic message ids, read straight from .po files.

``msgid "onboarding.welcome"`` names a text; the English catalog holds the source
wording, so copy edits never invalidate translations. Catalogs are read with
Babel's .po parser (no compile step, so nothing is silently dropped the way
``pybabel compile`` drops fuzzy entries), one language at a time when first
needed. ``Catalogs.validate`` reads everything at start-up and names the file,
line and message of the first mistake.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property
from pathlib import Path

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import PoFileError, PoFileParser
from babel.numbers import format_decimal

from bot.core.errors import ConfigError
from bot.i18n.filling import isolate_commands, substitute
from bot.i18n.locales import (
    SOURCE_LOCALE,
    babel_locale,
    fallback_chain,
    negotiate,
    normalize_tag,
    text_direction,
)
from bot.i18n.po_lines import check_syntax, msgid_at, read_lines
from bot.i18n.po_reader import read_po
from bot.i18n.relative_time import relative_time

PO_FILE = "messages.po"
_MAX_REMEMBERED_CODES = 1024
# Filled texts a translator keeps (``Translator.whole``): more than the catalogs hold.
WHOLE_TEXTS_KEPT = 4096
REVIEW_STATUSES = ("draft", "reviewed")
MAX_PLURALS = 6

Text = str | tuple[str, ...]
PluralRule = Callable[[int], int]

_PLURAL_FORMS = re.compile(r"\s*nplurals\s*=\s*(\d+)\s*;\s*plural\s*=\s*([^;]+?)\s*;?\s*")


@dataclass(frozen=True)
class _Layer:
    """One .po file, or all files of a language merged (later files win).

    ``texts`` holds translated entries only; ``path`` and ``header_line`` name
    the (last) file for error reports.
    """

    path: Path
    header_line: int
    review_status: str
    plural_forms: str
    rule: PluralRule
    texts: dict[str, Text]


class _RecordingCatalog(Catalog):
    """Keeps what Babel's Catalog throws away: the raw header (its X- fields,
    such as X-Review-Status) and repeated message ids, which it merges silently."""

    def __init__(self) -> None:
        super().__init__()
        self.raw_header: str | None = None
        self.header_line = 1
        self.duplicates: list[tuple[str, int]] = []

    def __setitem__(self, id: str | tuple[str, ...] | list[str], message: Message) -> None:
        if id == "":
            self.raw_header = message.string if isinstance(message.string, str) else ""
            self.header_line = message.lineno or 1
        elif self.get(id, message.context) is not None:
            key = id if isinstance(id, str) else id[0]
            self.duplicates.append((key, message.lineno or 1))
        super().__setitem__(id, message)


def _header_fields(raw: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in raw.split("\n"):
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    return fields


def _plural_rule(value: str | None, name: str, line: int) -> tuple[str, PluralRule]:
    if not value:
        raise ConfigError(name, line, "(header)", "missing Plural-Forms header")
    match = _PLURAL_FORMS.fullmatch(value)
    if not match:
        raise ConfigError(name, line, "(header)", f"invalid Plural-Forms: {value!r}")
    count, expression = int(match.group(1)), match.group(2)
    try:
        rule = gettext.c2py(expression)
        ok = 1 <= count <= MAX_PLURALS and all(0 <= rule(n) < count for n in range(1000))
    except (ValueError, ArithmeticError, RecursionError):
        ok = False
    if not ok:
        raise ConfigError(name, line, "(header)", f"invalid Plural-Forms: {value!r}")
    return f"nplurals={count}; plural={expression};", rule


def _check_header(raw: str | None, name: str, line: int, code: str) -> tuple[str, str, PluralRule]:
    """Review status, Plural-Forms and rule from the raw header, or a ConfigError."""
    if raw is None:
        raise ConfigError(name, 1, "(header)", 'no header entry (msgid "")')
    fields = _header_fields(raw)
    language = normalize_tag(fields.get("language"))
    if language is None:
        raise ConfigError(name, line, "(header)", "missing or invalid Language header")
    if language != code:
        message = f"Language header says {language!r} but the directory is for {code!r}"
        raise ConfigError(name, line, "(header)", message)
    plural_forms, rule = _plural_rule(fields.get("plural-forms"), name, line)
    status = fields.get("x-review-status", "draft").strip().lower()
    if status not in REVIEW_STATUSES:
        message = f"X-Review-Status must be draft or reviewed, not {status!r}"
        raise ConfigError(name, line, "(header)", message)
    return status, plural_forms, rule


def _parse_po(path: Path, code: str) -> _Layer:
    """Read one catalog of language ``code``; any mistake is a ConfigError."""
    name = str(path)
    lines = read_lines(path)
    check_syntax(lines, name)
    quick = read_po(lines)
    if quick is not None:
        raw_header, line, texts = quick
        status, plural_forms, rule = _check_header(raw_header, name, line, code)
        return _Layer(path, line, status, plural_forms, rule, texts)
    catalog = _RecordingCatalog()
    try:
        PoFileParser(catalog, ignore_obsolete=True, abort_invalid=True).parse(lines)
    except PoFileError as exc:
        # Babel counts lines from 0 and repeats that count in its message.
        message = str(exc).rsplit(" on ", 1)[0]
        raise ConfigError(name, exc.lineno + 1, msgid_at(lines, exc.lineno), message) from exc
    except ValueError as exc:
        # Babel raises a bare ValueError for a bad Language or Plural-Forms value;
        # our own checks say which header is wrong.
        _check_header(catalog.raw_header, name, catalog.header_line, code)
        raise ConfigError(name, catalog.header_line, "(header)", f"invalid header: {exc}") from exc
    if catalog.duplicates:
        msgid, line = catalog.duplicates[0]
        raise ConfigError(name, line, msgid, "message id appears more than once")
    line = catalog.header_line
    status, plural_forms, rule = _check_header(catalog.raw_header, name, line, code)
    return _Layer(path, line, status, plural_forms, rule, _translated(catalog))


def _translated(catalog: Catalog) -> dict[str, Text]:
    """Entries with a complete translation; fuzzy ones count as untranslated."""
    texts: dict[str, Text] = {}
    for message in catalog:
        if not message.id or message.context is not None or message.fuzzy:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        value = message.string
        if isinstance(value, str):
            if value:
                texts[key] = value
        elif value and all(value):
            texts[key] = tuple(value)
    return texts


def _merge(files: Sequence[_Layer]) -> _Layer:
    texts: dict[str, Text] = {}
    for po in files:
        if po.plural_forms != files[0].plural_forms:
            message = f"Plural-Forms differs from {files[0].path}"
            raise ConfigError(str(po.path), po.header_line, "(header)", message)
        texts.update(po.texts)
    status = "reviewed" if all(po.review_status == "reviewed" for po in files) else "draft"
    last = files[-1]
    return _Layer(last.path, last.header_line, status, last.plural_forms, last.rule, texts)


class Translator:
    """Texts and formats for one locale; the locale is always explicit."""

    def __init__(self, locale: str, layers: Sequence[_Layer], source: _Layer | None) -> None:
        self.locale = locale
        self.review_status = layers[0].review_status if layers else "draft"
        self._layers = tuple(layers)
        self._with_source = (*self._layers, source) if source is not None else self._layers
        self._babel_locale: Locale | None = None
        # Texts that name no value, as filled: the same for every member (see ``whole``).
        self._whole: dict[str, str | None] = {}

    @property
    def _babel(self) -> Locale:
        """Babel's locale data, loaded on first use: most translators only look texts up."""
        if self._babel_locale is None:
            self._babel_locale = next(
                loc
                for loc in map(babel_locale, [*fallback_chain(self.locale), SOURCE_LOCALE])
                if loc is not None
            )
        return self._babel_locale

    @property
    def plural_count(self) -> int:
        """How many plural forms this locale's own catalog has (its nplurals)."""
        forms = self._layers[0].plural_forms if self._layers else "nplurals=2;"
        return int(forms.split(";")[0].split("=")[1])

    @cached_property  # asked for every text a turn fills
    def direction(self) -> str:
        return text_direction(self.locale)

    def lookup(self, msgid: str) -> str | None:
        """This locale's own text (its fallback chain only, never English)."""
        return _pick(self._layers, msgid, None)

    def gettext(self, msgid: str) -> str:
        found = _pick(self._with_source, msgid, None)
        return found if found is not None else msgid

    def ngettext(self, singular_id: str, plural_id: str, n: int) -> str:
        """The form for ``n`` by the plural rule of the catalog that has the text."""
        found = _pick(self._with_source, singular_id, n)
        if found is not None:
            return found
        return singular_id if n == 1 else plural_id

    def whole(self, msgid: str) -> str | None:
        """The text, filled, when it names no value; None when it does. Made once per
        text: a turn asks for about ten, most of them naming nothing."""
        found = self._whole.get(msgid, "")
        if found != "":
            return found
        text = self.gettext(msgid)
        whole = None if "{" in text else self.fill(text, {})
        if len(self._whole) < WHOLE_TEXTS_KEPT:
            self._whole[msgid] = whole
        return whole

    def format(self, msgid: str, **values: object) -> str:
        return self.fill(self.gettext(msgid), values)

    def nformat(self, singular_id: str, plural_id: str, n: int, **values: object) -> str:
        text = self.ngettext(singular_id, plural_id, n)
        return self.fill(text, {**values, "n": self.format_number(n)})

    def fill(self, text: str, values: Mapping[str, object]) -> str:  # a text gettext gave
        return substitute(isolate_commands(text) if self.direction == "rtl" else text, values)

    def format_date(self, d: date) -> str:
        return babel_format_date(d, format="medium", locale=self._babel)

    def format_timedelta(self, td: timedelta) -> str:
        """Say "in 3 days" or "3 days ago", never rounded up. Where CLDR has no words
        for this locale (Babel says "+3 d" for Central Kurdish), the catalog's own."""
        return relative_time(td, self._babel, self)

    def format_number(self, n: float | Decimal) -> str:
        return format_decimal(n, locale=self._babel)


def _pick(layers: Sequence[_Layer], msgid: str, n: int | None) -> str | None:
    """First layer's text; for plural entries the form for ``n`` (first form if None)."""
    for layer in layers:
        value = layer.texts.get(msgid)
        if isinstance(value, str):
            return value
        if value is not None:
            index = 0 if n is None else layer.rule(abs(n))
            if 0 <= index < len(value):
                return value[index]
    return None


class Catalogs:
    """Every catalog directory, read lazily and cached per language."""

    def __init__(
        self,
        files: Mapping[str, Sequence[Path]],
        dirs: Sequence[Path] = (),
        problems: Sequence[ConfigError] = (),
    ) -> None:
        self._files = {code: list(paths) for code, paths in files.items()}
        self._dirs = list(dirs)
        self._problems = list(problems)
        self._layers: dict[str, _Layer] = {}
        self._translators: dict[str, Translator] = {}
        self._by_code: dict[str, Translator] = {}

    @classmethod
    def load(cls, dirs: Sequence[Path]) -> Catalogs:
        """Find ``<dir>/<lang>/LC_MESSAGES/messages.po``; later dirs override or add."""
        files: dict[str, list[Path]] = {}
        problems: list[ConfigError] = []
        for directory in map(Path, dirs):
            if not directory.is_dir():
                problems.append(ConfigError(str(directory), 1, "(directory)", "not a directory"))
                continue
            for sub in sorted(directory.iterdir()):
                po = sub / "LC_MESSAGES" / PO_FILE
                if not po.is_file():
                    continue
                code = normalize_tag(sub.name)
                if code is None:
                    message = f"{sub.name!r} is not a language code"
                    problems.append(ConfigError(str(po), 1, "(directory)", message))
                    continue
                files.setdefault(code, []).append(po)
        return cls(files, [Path(d) for d in dirs], problems)

    @property
    def available(self) -> list[str]:
        """Hyphenated codes, English first, then sorted."""
        return sorted(self._files, key=lambda code: (code != SOURCE_LOCALE, code))

    def translator(self, code: str) -> Translator:
        """The best catalog for ``code``; English when there is none. Asked on every
        event, so the answer per spelling is kept (bounded: tags come from outside)."""
        found = self._by_code.get(code)
        if found is None:
            if len(self._by_code) >= _MAX_REMEMBERED_CODES:
                self._by_code.clear()
            found = self._by_code[code] = self._translator(code)
        return found

    def _translator(self, code: str) -> Translator:
        resolved = negotiate([code], self.available, SOURCE_LOCALE)
        if resolved not in self._translators:
            chain = [c for c in fallback_chain(resolved) if c in self._files]
            layers = [self._layer(c) for c in chain]
            source = self._layer(SOURCE_LOCALE) if SOURCE_LOCALE in self._files else None
            self._translators[resolved] = Translator(resolved, layers, source)
        return self._translators[resolved]

    def message_ids(self, code: str) -> set[str]:
        """Ids translated in exactly this language's catalog (no fallback)."""
        return set(self.entries(code))

    def entries(self, code: str) -> dict[str, Text]:
        tag = normalize_tag(code)
        if tag is None or tag not in self._files:
            return {}
        return dict(self._layer(tag).texts)

    def validate(self) -> None:
        """Read every catalog now, so a broken one stops start-up, not a member."""
        if self._problems:
            raise self._problems[0]
        if SOURCE_LOCALE not in self._files:
            where = str(self._dirs[0]) if self._dirs else "(catalogs)"
            message = f"no source catalog {SOURCE_LOCALE}/LC_MESSAGES/{PO_FILE}"
            raise ConfigError(where, 1, "(directory)", message)
        for code in self.available:
            self._layer(code)

    def _layer(self, code: str) -> _Layer:
        if code not in self._layers:
            files = [_parse_po(path, code) for path in self._files[code]]
            self._layers[code] = _merge(files)
        return self._layers[code]
