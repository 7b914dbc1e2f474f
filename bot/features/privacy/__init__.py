"""A member's own data: see it (/mydata), quiet, clear, and be forgotten (/forget)."""

from bot.engine.turn import Feature
from bot.features.privacy.actions import ACTIONS
from bot.features.privacy.commands import COMMANDS

FEATURE = Feature("privacy", commands=COMMANDS, actions=ACTIONS)
