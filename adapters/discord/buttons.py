"""Discord buttons: a question's choices, and a link."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from adapters.discord.events import CHOICE_PREFIX
from bot.core.actions import Choice

_MAX_BUTTONS = 25
_MAX_LABEL = 80
_MAX_CUSTOM_ID = 100


def choice_view(choices: Sequence[Choice]) -> discord.ui.View | None:
    """Buttons labelled with the choices; each custom_id carries the choice key. The
    view is stopped before sending so discord.py keeps no state for it: presses
    arrive as interactions and are answered by the adapter, also after a restart."""
    view = discord.ui.View(timeout=None)
    for choice in choices[:_MAX_BUTTONS]:
        custom_id = CHOICE_PREFIX + choice.key
        label = " ".join(choice.label.split())[:_MAX_LABEL]
        if len(custom_id) > _MAX_CUSTOM_ID or not label:
            continue
        view.add_item(
            discord.ui.Button(label=label, custom_id=custom_id, style=discord.ButtonStyle.secondary)
        )
    view.stop()
    return view if view.children else None


def link_view(label: str, url: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(label=" ".join(label.split())[:_MAX_LABEL], url=url))
    view.stop()
    return view
