"""Onboarding: the welcome, acknowledging the code of conduct, interests, a mentor."""

from bot.feature import Feature
from bot.features.onboarding.actions import ACTIONS, CHOICE_SOURCES

FEATURE = Feature("onboarding", actions=ACTIONS, choice_sources=CHOICE_SOURCES)
