"""The core handler: decides what an event means for the member's conversation."""

from __future__ import annotations

from bot.core.events import (
    ChoiceMade,
    CommandRun,
    MemberJoined,
    MemberLeft,
    Place,
    PlaceKind,
    TextSaid,
    TimerFired,
    event_place,
)
from bot.core.state import Frame, is_quiet
from bot.engine.command_places import answer_place, answer_privately
from bot.engine.commands import may_run
from bot.engine.flows import answer, current_dialog, enter, start_dialog
from bot.engine.help import say_help
from bot.engine.turn import Command, Turn
from bot.i18n.locales import clean_user_text

COC = "coc"


def route(turn: Turn, commands: dict[str, Command], aliases: dict[str, str] | None = None) -> None:
    """``aliases``: command names in members' languages -> canonical names."""
    event = turn.event
    # The flow this event works on: the one waiting where it happened (a command typed
    # in a channel where nothing waits reaches the flow waiting in the member's DM).
    place = event_place(event)
    conversation = turn.conversation
    conversation.focus = conversation.active_in(place) if place is not None else None
    if conversation.focus is None and isinstance(event, CommandRun):
        conversation.focus = conversation.active_in(Place.direct(turn.member))
    for seen in turn.services.features.on_event:
        seen(turn)
    if isinstance(event, MemberJoined):
        turn.profile.left = False
        for joined in turn.services.features.on_join:
            joined(turn)
    elif isinstance(event, MemberLeft):
        turn.profile.left = True
        turn.record("left", turn.member.key)
    elif isinstance(event, CommandRun):
        on_command(turn, event, commands, aliases or {})
    elif isinstance(event, ChoiceMade):
        if _answering(turn, event.place) is not None:
            answer(turn, choice_key=event.choice)
        elif event.place is None or event.place.kind is not PlaceKind.CHANNEL:
            # A button under a question already answered: say so, never stay silent
            # (a screen-reader user would get no feedback at all).
            turn.say("common.nothing_to_continue", place=event.place)
    elif isinstance(event, TextSaid):
        on_text(turn, event)
    elif isinstance(event, TimerFired):
        on_timer(turn, event)


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


def _answering(turn: Turn, place: Place | None) -> Frame | None:
    """The flow that takes what the member writes in ``place`` (and becomes the
    focus): the one whose question they saw last there. A private conversation is never
    continued in a public channel; only the welcome begun in the welcome channel
    follows the member into their DM, where nothing else waits (the feature that
    begins it declares so)."""
    place = place or Place.direct(turn.member)
    conversation = turn.conversation
    frame = conversation.active_in(place)
    if frame is None and place.kind is PlaceKind.DIRECT:
        follows = turn.services.features.follows_to_direct
        frame = next((f for follow in follows if (f := follow(turn, place))), None)
    if frame is None or not frame.waiting:
        return None
    conversation.focus = frame
    return frame


def on_text(turn: Turn, event: TextSaid) -> None:
    frame = _answering(turn, event.place)
    hooks = turn.services.features.text_hooks
    if frame is not None and any(hook(turn, frame, event.text) for hook in hooks):
        return
    if frame is not None:
        answer(turn, text=event.text)
        return
    place = event.place
    if place is None or place.kind is not PlaceKind.DIRECT:
        return  # chatter in a channel or a private space is between people
    if event.text.strip():
        # A question in the member's own words: look in the code of conduct.
        start_dialog(turn, COC, place, {"args": event.text}, asked_for=True)
    else:
        say_help(turn, place)


def _focus_if_active(turn: Turn, frame: Frame | None) -> bool:
    """Focus ``frame`` when its question is the one standing in its place."""
    if frame is None or frame.place is None or not frame.waiting:
        return False
    if turn.conversation.active_in(frame.place) is not frame:
        return False
    turn.conversation.focus = frame
    return True


def on_timer(turn: Turn, event: TimerFired) -> None:
    features = turn.services.features
    # Timers that would start a conversation the member did not ask for.
    uninvited = event.kind.startswith(features.uninvited_timers)
    if is_quiet(turn.profile) and uninvited:
        turn.record("quiet_skipped", turn.member.key, event.kind)
        return
    declared = features.timer_handler(event.kind)
    if declared is not None:
        declared(turn, event)
    elif event.kind == "timeout":
        dialog_id, _, step_name = event.payload.partition("/")
        frame = next(
            (f for f in turn.conversation.frames if (f.dialog, f.step) == (dialog_id, step_name)),
            None,
        )
        if _focus_if_active(turn, frame) and (found := current_dialog(turn)):
            step = found[1]
            if step.on_timeout:
                enter(turn, step.on_timeout)
