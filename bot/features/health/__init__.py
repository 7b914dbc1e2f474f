"""Community health without watching people: daily counts committed with the turn
that causes them, and ``concord report`` (``bot.features.health.report``), which
publishes them with small numbers suppressed."""

from bot.engine.turn import Feature
from bot.features.health.counting import on_event, on_forget

FEATURE = Feature("health", on_event=(on_event,), on_forget=(on_forget,))
