"""The core handler: decides what an event means for the member's conversation."""

from __future__ import annotations

from bot import mediation
from bot.actions import OfferPrivateChat
from bot.command_places import answer_place, answer_privately
from bot.commands import Command, may_run
from bot.events import (
    ChoiceMade,
    CommandRun,
    MemberJoined,
    MemberLeft,
    Place,
    PlaceKind,
    TextSaid,
    TimerFired,
)
from bot.help import say_help
from bot.i18n.locales import clean_user_text
from bot.mediation import RELAY
from bot.mediation_signals import on_case_signal
from bot.privacy import is_quiet
from bot.reports_commands import on_report_signal
from bot.runner import answer, current_dialog, enter, reask, start_dialog
from bot.turn import Turn

ONBOARDING = "onboarding"
COC = "coc"
CHECKIN = "checkin"
REACKNOWLEDGE = "reacknowledge"


def handle(turn: Turn, commands: dict[str, Command], aliases: dict[str, str] | None = None) -> None:
    """``aliases``: command names in members' languages -> canonical names."""
    event = turn.event
    if isinstance(event, MemberJoined):
        turn.profile.left = False
        on_join(turn)
    elif isinstance(event, MemberLeft):
        turn.profile.left = True
        turn.record("left", turn.member.key)
    elif isinstance(event, CommandRun):
        on_command(turn, event, commands, aliases or {})
    elif isinstance(event, ChoiceMade):
        if _answerable(turn, event.place):
            answer(turn, choice_key=event.choice)
        elif event.place is None or event.place.kind is not PlaceKind.CHANNEL:
            # A button under a question already answered: say so, never stay silent
            # (a screen-reader user would get no feedback at all).
            turn.say("common.nothing_to_continue", place=event.place)
    elif isinstance(event, TextSaid):
        on_text(turn, event)
    elif isinstance(event, TimerFired):
        on_timer(turn, event)


def welcome_place(turn: Turn) -> Place:
    onboarding = turn.services.config.onboarding
    if onboarding.welcome == "channel":
        return Place(turn.member.platform, PlaceKind.CHANNEL, onboarding.welcome_channel)
    return Place.direct(turn.member)


def on_join(turn: Turn) -> None:
    if any(f.dialog == ONBOARDING for f in turn.conversation.frames):
        reask(turn)
        return
    if turn.profile.onboarded:
        if turn.profile.acknowledged_version != turn.services.coc.version:
            start_dialog(turn, REACKNOWLEDGE, Place.direct(turn.member))
        return
    if not turn.services.config.onboarding.enabled:
        return
    place = welcome_place(turn)
    joined_at = turn.event.place if isinstance(turn.event, MemberJoined) else None
    if place.kind is PlaceKind.DIRECT and not turn.services.can(place.platform).direct_first:
        if joined_at is not None:
            # The bot may not write first: invite the member to a private chat, where
            # /start begins the onboarding.
            turn.outbox.append(
                OfferPrivateChat(
                    joined_at,
                    turn.member,
                    turn.text("onboarding.welcome_public"),
                    turn.text("onboarding.open_private"),
                )
            )
        return
    start_dialog(turn, ONBOARDING, place)


def on_command(
    turn: Turn, event: CommandRun, commands: dict[str, Command], aliases: dict[str, str]
) -> None:
    typed_at = event.place or Place.direct(turn.member)
    name = event.name.lower().lstrip("/")
    command = commands.get(name) or commands.get(aliases.get(name, ""))
    if command is None:
        turn.say("common.unknown_command", place=typed_at, command=clean_user_text(name, 40))
        return
    place = answer_place(turn, command, typed_at)
    if place != typed_at:
        place = answer_privately(turn, event, name, typed_at)
    if not may_run(turn, command):
        turn.record("command_refused", turn.member.key, name)
        turn.say("common.not_allowed", place=place, command=name)
        return
    command.run(turn, event.args, place)


def _answerable(turn: Turn, place: Place | None) -> bool:
    """An answer counts where the question was asked or in a private place; a private
    conversation is never continued in a public channel."""
    frame = turn.frame
    if frame is None or not frame.waiting:
        return False
    if place is None or place == frame.place:
        return True
    if place.kind is PlaceKind.CHANNEL:
        return False
    if frame.place is not None and frame.place.kind is PlaceKind.CHANNEL:
        frame.place = place  # the member moved to a private place: follow them
    return frame.place == place


def on_text(turn: Turn, event: TextSaid) -> None:
    frame = turn.frame
    if frame is not None and frame.dialog == RELAY and _answerable(turn, event.place):
        case = mediation.load(turn, frame.values.get("case", ""))
        if case is not None and case.status in ("joint", "agreement"):
            mediation.relay(turn, case, event.text)
            return
    if _answerable(turn, event.place):
        answer(turn, text=event.text)
        return
    place = event.place
    if place is None or place.kind is not PlaceKind.DIRECT:
        return  # chatter in a channel or a private space is between people
    if turn.frame is not None and turn.frame.waiting:
        return  # a private space of another flow; that flow's own events handle it
    if event.text.strip():
        # A question in the member's own words: look in the code of conduct.
        start_dialog(turn, COC, place, {"args": event.text})
    else:
        say_help(turn, place)


# Timers that would start a conversation the member did not ask for.
UNINVITED = ("reminder", "checkin", "reacknowledge")


def on_timer(turn: Turn, event: TimerFired) -> None:
    frames = turn.conversation.frames
    if is_quiet(turn) and (event.kind in UNINVITED or event.kind.startswith("case:invite")):
        turn.record("quiet_skipped", turn.member.key, event.kind)
        return
    if event.kind.startswith("case:"):
        on_case_signal(turn, event)
    elif event.kind.startswith("report:"):
        on_report_signal(turn, event.kind)
    elif event.kind == "timeout":
        found = current_dialog(turn)
        if found and turn.frame and turn.frame.waiting:
            dialog, step = found
            if f"{dialog.id}/{step.name}" == event.payload and step.on_timeout:
                enter(turn, step.on_timeout)
    elif event.kind == "reminder":
        if turn.profile.acknowledged_version is None and any(
            f.dialog == ONBOARDING for f in frames
        ):
            turn.say("onboarding.reminder")
            reask(turn)
    elif event.kind == "checkin":
        start_dialog(turn, CHECKIN, Place.direct(turn.member))
    elif event.kind == "reacknowledge":
        acknowledged = turn.profile.acknowledged_version
        if acknowledged != turn.services.coc.version and not any(
            f.dialog == REACKNOWLEDGE for f in frames
        ):
            start_dialog(turn, REACKNOWLEDGE, Place.direct(turn.member))
