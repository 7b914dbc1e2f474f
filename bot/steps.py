"""The named actions and choice sources that dialog steps may use.

Dialogs are data; these are the few things a dialog can make happen, each a small
function in the module of the flow it belongs to.
"""

from __future__ import annotations

from bot import (
    appeals,
    coc_actions,
    language_actions,
    mediation_actions,
    onboarding_actions,
    person,
    privacy_actions,
    reports_actions,
)
from bot.turn import ActionFunction, ChoiceResolver, ChoiceSource

ACTIONS: dict[str, ActionFunction] = {
    **onboarding_actions.ACTIONS,
    **language_actions.ACTIONS,
    **coc_actions.ACTIONS,
    **mediation_actions.ACTIONS,
    **reports_actions.ACTIONS,
    **privacy_actions.ACTIONS,
    **person.ACTIONS,
    **appeals.ACTIONS,
}
CHOICE_SOURCES: dict[str, ChoiceSource] = {
    **onboarding_actions.CHOICE_SOURCES,
    **language_actions.CHOICE_SOURCES,
    **coc_actions.CHOICE_SOURCES,
    **reports_actions.CHOICE_SOURCES,
    **appeals.CHOICE_SOURCES,
}
CHOICE_RESOLVERS: dict[str, ChoiceResolver] = {**language_actions.CHOICE_RESOLVERS}
