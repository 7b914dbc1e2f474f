"""Where the shipped dialogs, catalogs and example community live.

In an installed wheel they are inside the package (``bot/_data``); in a source
checkout they are the top-level folders beside ``bot/``.
"""

from __future__ import annotations

import functools
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # bot/
_PACKAGED = _PACKAGE / "_data"
_ROOT = _PACKAGED if _PACKAGED.is_dir() else _PACKAGE.parent


def dialogs_dir() -> Path:
    return _ROOT / "dialogs"


def locales_dir() -> Path:
    return _ROOT / "locales"


def community_dir() -> Path:
    return _ROOT / "community"


def catalog_languages(dirs: list[Path] | tuple[Path, ...]) -> set[str]:
    """Language codes (``pt-BR``) that have a catalog in any of ``dirs``, without
    parsing the catalogs: cheap enough to check a config against."""
    return set(_catalog_languages(tuple(dirs)))


@functools.lru_cache(maxsize=64)
def _catalog_languages(dirs: tuple[Path, ...]) -> frozenset[str]:
    """Looked up once per set of folders and process (a deployment checks a config
    per community against the same catalogs)."""
    found = set()
    for folder in dirs:
        for po in folder.glob("*/LC_MESSAGES/messages.po"):
            found.add(po.parent.parent.name.replace("_", "-"))
    return frozenset(found)
