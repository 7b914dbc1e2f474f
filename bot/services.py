"""What the engine and every dialog action can use, built once at start."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.actions import Choice
from bot.clock import Clock
from bot.coc import CodeOfConduct
from bot.config import Config
from bot.dialogs.model import ActionCall, Dialog
from bot.i18n.catalogs import Catalogs
from bot.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from bot.turn import Turn

# A named action a dialog step may call; it may return a result key for ``on_result``.
ActionFunction = Callable[["Turn", ActionCall], str | None]
# A named source of choices for ``choices_from``.
ChoiceSource = Callable[["Turn"], list[Choice]]


@dataclass
class Services:
    config: Config
    catalogs: Catalogs
    coc: CodeOfConduct
    store: SQLiteStore
    clock: Clock
    languages: tuple[str, ...]
    dialogs: dict[str, Dialog] = field(default_factory=dict)
    actions: dict[str, ActionFunction] = field(default_factory=dict)
    choice_sources: dict[str, ChoiceSource] = field(default_factory=dict)
