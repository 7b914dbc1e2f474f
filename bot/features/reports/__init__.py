"""Private incident reports, and telling the moderators a member wants a person."""

from bot.engine.turn import Feature
from bot.features.reports import person
from bot.features.reports.actions import ACTIONS, CHOICE_SOURCES
from bot.features.reports.commands import COMMANDS, on_report_signal

FEATURE = Feature(
    "reports",
    commands=COMMANDS,
    actions={**ACTIONS, **person.ACTIONS},
    choice_sources=CHOICE_SOURCES,
    timer_kinds={"report:": on_report_signal},
    talk_to_person=person.talk_to_person,
)
