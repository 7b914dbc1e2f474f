"""Dialogs as data: the model of a YAML dialog and its loader."""

from __future__ import annotations

from bot.dialogs.loader import load_dialog_file, load_dialogs
from bot.dialogs.model import END, AskSpec, ChoiceSpec, Dialog, Step

__all__ = ["END", "AskSpec", "ChoiceSpec", "Dialog", "Step", "load_dialog_file", "load_dialogs"]
