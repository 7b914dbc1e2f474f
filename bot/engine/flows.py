"""Runs dialog steps for one turn: enter a step, take an answer, finish a dialog."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from bot.core.actions import Choice
from bot.core.choices import match_choice, match_many, mentions
from bot.core.events import Place
from bot.core.state import Frame
from bot.dialogs.model import END, ActionCall, Dialog, Step
from bot.engine.question_marks import MARK, pressed, question_mark
from bot.engine.turn import Turn
from bot.i18n.locales import clean_user_text
from bot.store.types import parse_iso

log = logging.getLogger(__name__)

PERSON = "person"
MAX_STEPS_PER_TURN = 100
# At a free-text question, "talk to a person" counts as the request only in a short
# answer ("I would like to talk to a person please"), not inside a long account.
PERSON_EXTRA_WORDS = 6
# A flow's value holding when something expires (ISO time): its questions say
# ``{deadline}`` ("in 2 days") as it stands when asked, not when the flow began
# (a flow queued behind another question may begin days later).
DEADLINE_AT = "deadline_at"


def start_dialog(
    turn: Turn,
    dialog_id: str,
    place: Place,
    values: dict[str, str] | None = None,
    *,
    asked_for: bool = False,
) -> None:
    """Begin a flow in ``place`` and run it until it asks or ends.

    A flow the member ``asked_for`` (a command), or the next step of the case the
    waiting flow belongs to (an agreement to confirm during a relayed session), begins
    at once; the flow waiting there resumes when it ends. Any other flow Concord begins
    (an invitation, a check-in) waits its turn when a question already waits in that
    place: the member is told, and is asked the waiting question again, so one question
    at a time stands in each place."""
    dialog = turn.services.dialogs[dialog_id]
    frame = Frame(dialog=dialog_id, step=dialog.start, place=place, values=dict(values or {}))
    conversation = turn.conversation
    waiting = conversation.active_in(place)
    conversation.frames.append(frame)
    case = frame.values.get("case")
    same_case = waiting is not None and case is not None and waiting.values.get("case") == case
    if waiting is not None and waiting.waiting and not (asked_for or same_case):
        frame.queued = True
        conversation.focus = waiting
        turn.say("common.flow_queued", place=place)
        reask(turn)
        return
    conversation.focus = frame
    enter(turn, dialog.start)


def current_dialog(turn: Turn) -> tuple[Dialog, Step] | None:
    frame = turn.frame
    if frame is None:
        return None
    dialog = turn.services.dialogs.get(frame.dialog)
    if dialog is None or frame.step not in dialog.steps:
        # The dialog file changed under a stored conversation: drop the stale frame.
        log.warning("dropping a conversation at unknown step %s/%s", frame.dialog, frame.step)
        turn.conversation.remove(frame)
        return None
    return dialog, dialog.steps[frame.step]


def enter(turn: Turn, step_name: str) -> None:
    """Run steps from ``step_name`` until one asks a question or the dialog ends."""
    for _ in range(MAX_STEPS_PER_TURN):
        frame = turn.frame
        assert frame is not None
        dialog = turn.services.dialogs[frame.dialog]
        if step_name == END:
            finish(turn)
            return
        step = dialog.steps[step_name]
        frame.step, frame.waiting, frame.invalid_count = step_name, False, 0
        result = None
        for call in step.actions:
            outcome = turn.services.features.actions[call.name].run(turn, call)
            result = outcome or result
        if turn.frame is not frame:  # an action ended or replaced the dialog
            return
        for message in step.say:
            turn.say(message)
        if result is not None and result in step.on_result:
            step_name = step.on_result[result]
            continue
        if step.ask is not None:
            # The step's choices, made once for the question and its numbering.
            memo: dict[str, list[Choice]] = {}
            only = _only_choice(turn, step, memo)
            if only:
                # A list with one entry (say, a community with one language) is no question.
                frame.values["choice"] = only
                if step.ask.store:
                    frame.values[step.ask.store] = only
                step_name = step.ask.next or END
                continue
            turn.conversation.asked += 1
            frame.asked = turn.conversation.asked
            ask(turn, dialog, step, memo)
            frame.waiting = True
            if step.timeout is not None:
                turn.schedule("timeout", turn.now + step.timeout, f"{dialog.id}/{step.name}")
            return
        if step.end:
            finish(turn)
            return
        assert step.next is not None
        step_name = step.next
    log.error("dialog %s loops without asking; ending it", turn.frame.dialog if turn.frame else "?")
    finish(turn)


def _source_choices(turn: Turn, source: str, memo: dict[str, list[Choice]] | None) -> list[Choice]:
    """A choice source's list; with ``memo``, made once for one question however often
    its numbering and its buttons ask for it (the language list is costly to make)."""
    if memo is None:
        return turn.services.features.choice_sources[source](turn)
    if source not in memo:
        memo[source] = turn.services.features.choice_sources[source](turn)
    return list(memo[source])


def _only_choice(turn: Turn, step: Step, memo: dict[str, list[Choice]] | None = None) -> str:
    assert step.ask is not None
    if not step.ask.choices_from or not step.ask.auto:
        return ""
    choices = _source_choices(turn, step.ask.choices_from, memo)
    return choices[0].key if len(choices) == 1 else ""


def choices_for(
    turn: Turn, dialog: Dialog, step: Step, memo: dict[str, list[Choice]] | None = None
) -> list[Choice]:
    assert step.ask is not None
    if step.ask.choices_from:
        choices = _source_choices(turn, step.ask.choices_from, memo)
    else:
        choices = [Choice(c.key, turn.text(c.label)) for c in step.ask.choices]
    if dialog.talk_to_person and not step.ask.text:
        choices.append(Choice(PERSON, turn.text("common.talk_to_person")))
    return choices


def ask(
    turn: Turn, dialog: Dialog, step: Step, memo: dict[str, list[Choice]] | None = None
) -> None:
    """Ask the current flow's question; its buttons carry the question's mark."""
    assert step.ask is not None and turn.frame is not None
    frame = turn.frame
    if frame.values.get(DEADLINE_AT):
        left = parse_iso(frame.values[DEADLINE_AT]) - turn.now
        frame.values["deadline"] = turn.translator.format_timedelta(max(left, timedelta(0)))
    question = turn.text(step.ask.message)
    path = stages(turn, dialog, memo) if step.name in dialog.progress else []
    if step.name in path:
        stage = path.index(step.name) + 1
        # A new stage is numbered, and so is the same question asked again; a step
        # entered again within its stage (the next part, another try) is not.
        if stage > frame.stage or frame.waiting:
            numbers = {"step": str(stage), "steps": str(len(path))}
            question = turn.text("common.progress", question=question, **numbers)
        frame.stage = max(frame.stage, stage)
    mark = question_mark(frame)
    offered = choices_for(turn, dialog, step, memo)
    choices = [Choice(f"{c.key}{MARK}{mark}", c.label) for c in offered]
    turn.ask(question, choices)


def stages(turn: Turn, dialog: Dialog, memo: dict[str, list[Choice]] | None = None) -> list[str]:
    """The numbered stages on this member's path: not a question answered for them
    (a single choice), nor a stage their community leaves out."""
    path = []
    for name in dialog.progress:
        check = dialog.progress_when.get(name)
        if _only_choice(turn, dialog.steps[name], memo):
            continue
        if check and turn.services.features.actions[check].run(turn, ActionCall(check)) == "skip":
            continue
        path.append(name)
    return path


def reask(turn: Turn) -> bool:
    """Ask the current question again (after an interruption); False if none waits."""
    found = current_dialog(turn)
    if found is None or turn.frame is None or not turn.frame.waiting:
        return False
    dialog, step = found
    ask(turn, dialog, step)
    return True


def answer(turn: Turn, text: str | None = None, choice_key: str | None = None) -> None:
    """Take the member's answer to the waiting question, or explain what is expected."""
    found = current_dialog(turn)
    frame = turn.frame
    if found is None or frame is None:
        return
    dialog, step = found
    spec = step.ask
    assert spec is not None
    if choice_key is not None:
        choice_key = pressed(frame, choice_key)
        if choice_key is None:
            turn.say("common.older_question")
            ask(turn, dialog, step)
            return
    elif dialog.talk_to_person and text and asks_for_person(turn, text, spec.text):
        if not talk_to_person(turn):
            reask(turn)
        return
    if spec.text:
        _take_text(turn, dialog, step, text or "")
        return
    choices = choices_for(turn, dialog, step)
    picked: list[Choice] | None
    if choice_key is not None:
        picked = [c for c in choices if c.key == choice_key] or None
    elif spec.multiple:
        picked = match_many(text or "", choices)
    else:
        single = match_choice(text or "", choices, lambda: _other_words(turn, step))
        picked = [single] if single else None
    resolve = turn.services.features.choice_resolvers.get(spec.choices_from or "")
    if not picked and resolve is not None and text:
        resolved = resolve(turn, text)
        picked = [resolved] if resolved else None
    if not picked:
        _invalid(turn, dialog, step, turn.text("common.invalid_choice", count=str(len(choices))))
        return
    if any(c.key == PERSON for c in picked):
        if not talk_to_person(turn):
            reask(turn)
        return
    keys = [c.key for c in picked]
    frame.values["choice"] = ",".join(keys)
    frame.values["choice_label"] = ", ".join(c.label for c in picked)
    if spec.store:
        frame.values[spec.store] = ",".join(keys)
    target = next((c.next for c in spec.choices if c.key == keys[0] and c.next), spec.next)
    _leave(turn, step, target)


def _take_text(turn: Turn, dialog: Dialog, step: Step, text: str) -> None:
    spec = step.ask
    assert spec is not None and turn.frame is not None
    cleaned = clean_user_text(text, 10_000)
    if len(cleaned) < max(spec.min_length, 1):
        _invalid(turn, dialog, step, turn.text("common.empty_answer"))
    elif len(cleaned) > spec.max_length:
        limit = spec.max_length
        too_long = turn.ntext(
            "common.answer_too_long", "common.answer_too_long.plural", limit, limit=str(limit)
        )
        _invalid(turn, dialog, step, too_long)
    else:
        if spec.store:
            turn.frame.values[spec.store] = cleaned
        _leave(turn, step, spec.next)


def _other_words(turn: Turn, step: Step) -> dict[str, list[str]]:
    """Other words the member may type for an answer ("continue" for "Go on"), from
    the catalog in their language."""
    assert step.ask is not None
    return {
        c.key: [w for w in turn.text(c.words).split(",") if w.strip()]
        for c in step.ask.choices
        if c.words
    }


def asks_for_person(turn: Turn, text: str, free_text: bool) -> bool:
    """Whether the member's words ask for a person, in the catalog's own words for it
    (their language's, or the community's)."""
    if text.isdecimal():  # a choice's number (most answers): those words are words
        return False
    default = turn.services.catalogs.translator(turn.services.config.default_language)
    phrases = {turn.text("common.talk_to_person"), default.gettext("common.talk_to_person")}
    extra = PERSON_EXTRA_WORDS if free_text else None
    return mentions(text, phrases, extra)


def _leave(turn: Turn, step: Step, target: str | None) -> None:
    if step.timeout is not None:
        turn.cancel("timeout")
    assert target is not None
    enter(turn, target)


def _invalid(turn: Turn, dialog: Dialog, step: Step, explanation: str) -> None:
    """A kind reply saying what is expected (the step's own ``invalid`` message if it
    has one, else ``explanation``); the conversation stays where it was."""
    assert turn.frame is not None and step.ask is not None
    turn.frame.invalid_count += 1
    turn.say_text(turn.text(step.ask.invalid) if step.ask.invalid else explanation)
    if turn.frame.invalid_count >= 3 and dialog.talk_to_person:
        turn.say("common.offer_person")
    ask(turn, dialog, step)


def finish(turn: Turn) -> None:
    """End the current flow; in its place, the flow it interrupted asks its question
    again, or else the flow queued there begins."""
    frame = turn.frame
    turn.cancel("timeout")
    if frame is None:
        return
    turn.conversation.remove(frame)
    assert frame.place is not None
    resume(turn, frame.place)


def resume(turn: Turn, place: Place) -> None:
    """Give ``place`` its one question: the active flow's again, or a queued flow's."""
    conversation = turn.conversation
    active = conversation.active_in(place)
    if active is not None:
        conversation.focus = active
        reask(turn)
        return
    queued = conversation.queued_in(place)
    if queued is not None:
        queued.queued = False
        conversation.focus = queued
        enter(turn, queued.step)


def drop_flows(turn: Turn, matches: Callable[[Frame], bool]) -> list[Place]:
    """Remove the flows that match; the places where the active flow went, to
    ``resume`` once what must be said about it is said."""
    conversation = turn.conversation
    places = []
    for frame in [f for f in conversation.frames if matches(f)]:
        assert frame.place is not None
        if conversation.active_in(frame.place) is frame and frame.place not in places:
            places.append(frame.place)
        conversation.remove(frame)
    return places


def bring_forward(turn: Turn, frame: Frame) -> None:
    """Make ``frame`` the active flow of its place (the member asked for it again): it
    asks its question, and the flow it now interrupts resumes after it."""
    conversation = turn.conversation
    conversation.remove(frame)
    conversation.frames.append(frame)
    conversation.focus = frame
    if frame.queued:
        frame.queued = False
        enter(turn, frame.step)
    else:
        reask(turn)


def stop_all(turn: Turn) -> None:
    """``/stop``: nothing more is asked, and no reminder or check-in comes later."""
    turn.conversation.frames.clear()
    turn.conversation.focus = None
    for kind in ("timeout", "reminder", "checkin"):
        turn.cancel(kind)


def talk_to_person(turn: Turn) -> bool:
    """Always possible: tell the moderators a member wants a human, and tell the member
    (the feature that declares ``talk_to_person`` does it). True when the member was
    asked a question first."""
    hook = turn.services.features.talk_to_person
    return hook(turn) if hook is not None else False
