"""Sanctions recorded by moderators, and the member's appeal against one."""

from bot.engine.turn import Feature
from bot.features.appeals.cases import ACTIONS, CHOICE_SOURCES
from bot.features.appeals.commands import COMMANDS

FEATURE = Feature("appeals", commands=COMMANDS, actions=ACTIONS, choice_sources=CHOICE_SOURCES)
