"""Babel extractor for Concord's Python code: message ids passed to the text functions.

Babel's own Python extractor reads tokens, so a release can change what it takes for a
call: one began to pick up docstrings and ``text[0] == "!"``. This one reads the syntax
tree instead. It takes a string only where it is the literal argument of a call to one
of ``KEYWORDS`` at that keyword's position, and only when it is a symbolic message id
(``common.help``): a docstring, a comparison or ``"{}".format(...)`` can never match.
Registered as the ``concord_python`` extraction method (``babel.cfg``, ``pyproject.toml``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

# Function or method name -> the 1-based positions of its message-id arguments
# (two positions: singular and plural ids).
KEYWORDS: dict[str, tuple[int, ...]] = {
    "N_": (1,),
    "Nn_": (1, 2),
    "say": (1,),
    "text": (1,),
    "format": (1,),
    "ntext": (1, 2),
    "tell": (3,),
    "announce": (3,),
    "notify_moderators": (2,),
}

MESSAGE_ID = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_-]+)+")

Extracted = tuple[int, str | None, str | tuple[str, ...], list[str]]


def extract_python(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[Extracted]:
    """Yield (line, function, msgid or (singular, plural), comments) in source order.

    The keywords Babel passes (its defaults and any ``-k``) are not used: Concord's
    are fixed here, so every way of running the extraction finds the same ids. The ids
    are yielded already chosen; Babel then applies the spec of the function name
    given, so a plural pair is reported under gettext's ``ngettext`` (spec 1, 2) and a
    single id under none (spec 1).
    """
    source = fileobj.read().decode(str(options.get("encoding", "utf-8")))
    tree = ast.parse(source, filename=str(getattr(fileobj, "name", "<python>")))
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    calls.sort(key=lambda node: (node.lineno, node.col_offset))
    for call in calls:
        found = message_ids(call)
        if found is not None:
            if len(found) == 1:
                yield call.lineno, None, found[0], []
            else:
                yield call.lineno, "ngettext", found, []


def message_ids(call: ast.Call) -> tuple[str, ...] | None:
    """The message ids this call passes, or None if it passes none."""
    func = call.func
    if isinstance(func, ast.Name):
        name = func.id
    elif isinstance(func, ast.Attribute) and not isinstance(func.value, ast.Constant):
        name = func.attr  # a method; ``"literal".format(...)`` is string formatting
    else:
        return None
    positions = KEYWORDS.get(name)
    if positions is None or len(call.args) < max(positions):
        return None
    ids = []
    for position in positions:
        argument = call.args[position - 1]
        if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
            return None
        if not MESSAGE_ID.fullmatch(argument.value):
            return None
        ids.append(argument.value)
    return tuple(ids)
