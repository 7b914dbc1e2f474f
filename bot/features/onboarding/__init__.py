"""Onboarding: the welcome, acknowledging the code of conduct, interests, a mentor."""

from bot.engine.turn import Feature
from bot.features.onboarding import welcome
from bot.features.onboarding.actions import ACTIONS, CHOICE_SOURCES

FEATURE = Feature(
    "onboarding",
    actions=ACTIONS,
    choice_sources=CHOICE_SOURCES,
    timer_kinds={
        "reminder": welcome.on_reminder,
        "checkin": welcome.on_checkin,
        "reacknowledge": welcome.on_reacknowledge,
    },
    uninvited_timers=welcome.TIMERS,
    on_join=(welcome.on_join,),
    follows_to_direct=(welcome.follow_to_direct,),
)
