"""What the engine and every dialog action can use, built once at start."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.actions import Capabilities
from bot.clock import Clock
from bot.coc import CodeOfConduct
from bot.config import Config
from bot.dialogs.model import Dialog
from bot.i18n.catalogs import Catalogs
from bot.store.protocol import ServiceStore

if TYPE_CHECKING:
    from bot.commands import Command
    from bot.feature import Features


def _no_features() -> Features:
    from bot.feature import Features

    return Features()


@dataclass
class Services:
    config: Config
    catalogs: Catalogs
    coc: CodeOfConduct
    store: ServiceStore
    clock: Clock
    languages: tuple[str, ...]
    dialogs: dict[str, Dialog] = field(default_factory=dict)
    capabilities: dict[str, Capabilities] = field(default_factory=dict)
    # The command table, for /help (set by the engine).
    commands: dict[str, Command] = field(default_factory=dict)
    # What the features add (see bot/feature.py; the app passes bot/features' list).
    features: Features = field(default_factory=_no_features)

    def can(self, platform: str) -> Capabilities:
        """What a platform can do; a platform with no adapter yet can do the basics."""
        return self.capabilities.get(platform) or Capabilities()
