"""Choosing the language the bot speaks with a member."""

from bot.engine.turn import Feature
from bot.features.language.actions import ACTIONS, CHOICE_RESOLVERS, CHOICE_SOURCES

FEATURE = Feature(
    "language",
    actions=ACTIONS,
    choice_sources=CHOICE_SOURCES,
    choice_resolvers=CHOICE_RESOLVERS,
)
