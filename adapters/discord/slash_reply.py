"""Answering a slash command: its replies as the interaction's followups, ephemeral when
it was run in a public channel, so a reply to the member never becomes public."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

import discord

from adapters.discord.events import PLATFORM
from bot.core.events import Place, PlaceKind


@dataclass
class Reply:
    """A slash command being answered. While its event is handled, the core's replies
    to the place where it was typed go as the interaction's followups (the first one
    replaces Discord's "thinking..." notice).

    Typed in a public channel (``ephemeral``), those followups are ephemeral (only the
    member sees them), and so are the texts and files the core sends to the member
    privately: a reply to the member who ran the command never becomes a public
    message. A question for the member privately goes to their direct messages, where
    the conversation it starts goes on. When followups cannot be sent (``broken``), a
    reply meant for the public channel goes to the member's direct messages."""

    interaction: discord.Interaction
    place: Place
    ephemeral: bool = False
    used: bool = False
    broken: bool = False

    @property
    def direct(self) -> Place:
        return Place(PLATFORM, PlaceKind.DIRECT, str(self.interaction.user.id))

    def takes(self, place: Place, question: bool = False) -> bool:
        """Whether a message to ``place`` goes as one of this interaction's followups."""
        if place == self.place:
            return True
        return self.ephemeral and not question and place == self.direct

    def redirect(self, place: Place) -> Place:
        """Where a message goes when it cannot be a followup: never the public channel."""
        return self.direct if self.ephemeral and place == self.place else place


# Set by the adapter around ``host.handle`` of an interaction: the engine delivers that
# event's replies in the same task, so this context reaches ``deliver``.
REPLY: ContextVar[Reply | None] = ContextVar("discord_reply", default=None)
