"""Checks a platform's settings need and no platform library: a secret named by an
environment variable, a file beside the config, a command prefix, a send rate
(``concord check`` runs the settings modules without the extras). The Matrix and IRC
settings use them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bot.config import validate as v
from bot.config.community import PlatformSection
from bot.core.errors import ConfigError


def env_variable(section: PlatformSection, key: str, value: Any) -> str:
    """The name of an environment variable, as written under ``key``."""
    path = (*section.path, key)
    name = v.text(section.doc, path, value)
    if not name.replace("_", "").isalnum() or name[0].isdigit():
        raise section.doc.error(path, "expected the name of an environment variable")
    return name


def secret(section: PlatformSection, key: str, variable: str | None, check_only: bool) -> str:
    """The value of the environment variable ``key`` names; a missing one stops the
    start (``concord check`` only checks the file)."""
    value = os.environ.get(variable, "") if variable else ""
    if variable and not value and not check_only:
        doc, path = section.doc, (*section.path, key)
        raise ConfigError(
            doc.name,
            doc.line(path),
            ".".join(map(str, path)),
            f"environment variable {variable} is not set",
        )
    return value


def file_path(section: PlatformSection, key: str, value: Any) -> Path | None:
    """A file or folder named in the config; a relative one is beside the config file."""
    if value is None:
        return None
    doc = section.doc
    path = Path(v.text(doc, (*section.path, key), value)).expanduser()
    return path if path.is_absolute() else Path(doc.name).resolve().parent / path


# The schema of what ``command_prefix`` takes: one word, not starting with "/" (a
# number is text too, as the loader reads it).
COMMAND_PREFIX: dict[str, Any] = {"type": ["string", "number"], "pattern": r"^[^/\s]\S*$"}


def command_prefix(section: PlatformSection, value: Any) -> str:
    path = (*section.path, "command_prefix")
    text = v.text(section.doc, path, value)
    if any(c.isspace() for c in text) or text.startswith("/"):
        raise section.doc.error(path, "expected one word such as !concord (clients keep '/')")
    return text


def send_rate(section: PlatformSection, value: Any) -> float:
    path = (*section.path, "send_rate")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 10_000:
        raise section.doc.error(path, "expected messages per second, such as 0.2 or 5")
    return float(value)
