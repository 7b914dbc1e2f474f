"""JSON text for what Concord stores: conversation states, profiles, queued actions.

Written for every event (its actions, the member's state), so encoded by orjson, four
times faster than the standard library's encoder here, which walked each dataclass of
an action through a Python callback. Compact (no spaces), UTF-8 as it is (no
``\\u`` escapes). A value orjson refuses (an integer beyond 64 bits) falls back to the
standard library, which writes the same JSON. Read back by orjson too (``read``: a
state and a profile for every turn whose member is not among the live conversations),
with the standard library for what orjson refuses; ``loads`` is for small records
read on every send (an adapter's).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> str:
    """``value`` (JSON data, dataclasses and string enums within it) as compact JSON."""
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return _FALLBACK.encode(value)


def loads(text: str | bytes) -> Any:
    """JSON text as Python values; ``ValueError`` if it is not JSON (or holds an
    integer beyond 64 bits)."""
    return orjson.loads(text)


def read(text: str | bytes) -> Any:
    """Stored JSON text as Python values, whatever ``dumps`` wrote (an integer beyond
    64 bits is read by the standard library)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _fields(value: Any) -> dict[str, Any]:
    """A dataclass's fields by name, for the standard library's encoder."""
    names = getattr(type(value), "__dataclass_fields__", None)
    if names is None:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")
    return {name: getattr(value, name) for name in names}


_FALLBACK = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_fields)
