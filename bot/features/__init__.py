"""The features Concord runs with: the one place that names them.

Each is a package exporting ``FEATURE`` (see bot/engine/turn.py); the app hands this list
to the core, which imports no feature by name.
"""

from bot.engine.turn import Feature, Features
from bot.features import (
    appeals,
    coc,
    health,
    identity,
    language,
    mediation,
    onboarding,
    privacy,
    reports,
)

FEATURES: tuple[Feature, ...] = (
    onboarding.FEATURE,
    language.FEATURE,
    coc.FEATURE,
    mediation.FEATURE,
    reports.FEATURE,
    privacy.FEATURE,
    appeals.FEATURE,
    health.FEATURE,
    identity.FEATURE,
)


def all_features() -> Features:
    return Features(FEATURES)
