"""A quick reader for well-formed .po files, so start-up with every catalog stays fast.

Babel's parser takes about 15 ms per catalog; with 35 languages that is most of a
second before the first member is answered. This reader handles the shape Concord's
catalogs have (comments, flags, msgid, msgid_plural, msgstr, msgstr[n], continued
strings) in one pass. Anything else (msgctxt, a repeated id, a line it does not
expect) returns None, and the caller reads the file with Babel, whose parser gives
the exact error. The lines were checked by the caller's syntax check already.
"""

from __future__ import annotations

from collections.abc import Sequence

Text = str | tuple[str, ...]

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def unquote(quoted: str) -> str:
    """The text of one ``"..."`` string with its escapes resolved."""
    body = quoted.strip()[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    chars = iter(body)
    for char in chars:
        out.append(_ESCAPES.get(next(chars, ""), "") if char == "\\" else char)
    return "".join(out)


class _Entry:
    __slots__ = ("forms", "fuzzy", "line", "msgid", "plural", "target")

    def __init__(self, line: int, fuzzy: bool) -> None:
        self.line, self.fuzzy = line, fuzzy
        self.msgid: str | None = None
        self.plural: str | None = None
        self.forms: dict[int, str] = {}
        self.target = ""  # what a continued string adds to: "msgid", "plural", or a form


class _Catalog:
    """What the reader has taken so far."""

    def __init__(self) -> None:
        self.header: str | None = None
        self.header_line = 1
        self.texts: dict[str, Text] = {}
        self.seen: set[str] = set()

    def finish(self, done: _Entry | None) -> bool:
        """Takes a complete entry; False when only Babel can judge it."""
        if done is None or done.msgid is None:
            return True
        if not done.forms:
            return False  # no msgstr: Babel's parser names the mistake
        if done.msgid == "":
            self.header, self.header_line = done.forms.get(0, ""), done.line
            return True
        if done.msgid in self.seen:
            return False
        self.seen.add(done.msgid)
        if done.fuzzy:
            return True
        if done.plural is None:
            if done.forms.get(0):
                self.texts[done.msgid] = done.forms[0]
        else:
            forms = tuple(done.forms[i] for i in sorted(done.forms))
            if forms and all(forms) and len(forms) == len(done.forms) == max(done.forms) + 1:
                self.texts[done.msgid] = forms
        return True


def _continue(entry: _Entry, text: str) -> None:
    """A continued ``"..."`` line adds to what the entry's last keyword began."""
    if entry.target == "msgid":
        entry.msgid = (entry.msgid or "") + text
    elif entry.target == "plural":
        entry.plural = (entry.plural or "") + text
    else:
        index = int(entry.target)
        entry.forms[index] = entry.forms.get(index, "") + text


def _keyword(entry: _Entry, keyword: str, rest: str) -> bool:
    """A msgid_plural, msgstr or msgstr[n] line; False for anything else."""
    if keyword == "msgid_plural":
        entry.plural, entry.target = unquote(rest), "plural"
    elif keyword == "msgstr":
        entry.forms[0], entry.target = unquote(rest), "0"
    elif keyword.startswith("msgstr[") and keyword.endswith("]") and keyword[7:-1].isdigit():
        index = int(keyword[7:-1])
        entry.forms[index], entry.target = unquote(rest), str(index)
    else:
        return False  # msgctxt or anything unusual: Babel's parser decides
    return True


def read_po(lines: Sequence[str]) -> tuple[str | None, int, dict[str, Text]] | None:
    """(raw header, header line, translated texts), or None to let Babel read it."""
    catalog = _Catalog()
    entry: _Entry | None = None
    fuzzy_next = False
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            fuzzy_next = fuzzy_next or (line.startswith("#,") and "fuzzy" in line)
            continue
        if line.startswith('"'):
            if entry is None or not entry.target:
                return None
            _continue(entry, unquote(line))
            continue
        keyword, _, rest = line.partition(" ")
        if keyword == "msgid":
            if not catalog.finish(entry):
                return None
            entry, fuzzy_next = _Entry(number, fuzzy_next), False
            entry.msgid, entry.target = unquote(rest), "msgid"
        elif entry is None or entry.msgid is None or not _keyword(entry, keyword, rest):
            return None
    if not catalog.finish(entry):
        return None
    return catalog.header, catalog.header_line, catalog.texts
