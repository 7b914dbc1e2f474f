"""Durable state: the store interface and its SQLite implementation."""

from __future__ import annotations

from bot.store.sqlite import SQLiteStore
from bot.store.types import Changes, OutboxItem, TimerRow

__all__ = ["Changes", "OutboxItem", "SQLiteStore", "TimerRow"]
