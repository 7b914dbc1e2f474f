"""Consent-based mediation: requests, invitations, statements, the relayed session, the
agreement and its follow-up."""

from bot.engine.turn import Feature
from bot.features.mediation.actions import ACTIONS, CHOICE_SOURCES
from bot.features.mediation.commands import COMMANDS
from bot.features.mediation.session import (
    in_open_mediation,
    relay_text,
    session_audiences,
    withdraw_from_cases,
)
from bot.features.mediation.signals import on_case_signal

FEATURE = Feature(
    "mediation",
    commands=COMMANDS,
    actions=ACTIONS,
    choice_sources=CHOICE_SOURCES,
    timer_kinds={"case:": on_case_signal},
    uninvited_timers=("case:invite",),
    text_hooks=(relay_text,),
    audiences=(session_audiences,),
    ends_on_forget=(in_open_mediation,),
    on_forget=(withdraw_from_cases,),
)
