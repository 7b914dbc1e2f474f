"""The code of conduct: the walkthrough, the parts on request, a question answered.

The document itself (bot/conduct/document.py) is content the core loads with the config."""

from bot.engine.turn import Feature
from bot.features.coc.actions import ACTIONS, CHOICE_SOURCES

FEATURE = Feature("coc", actions=ACTIONS, choice_sources=CHOICE_SOURCES)
