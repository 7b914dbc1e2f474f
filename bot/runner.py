"""Runs dialog steps for one turn: enter a step, take an answer, finish a dialog."""

from __future__ import annotations

import logging

from bot import person
from bot.actions import Choice
from bot.choices import match_choice, match_many
from bot.dialogs.model import END, ActionCall, Dialog, Step
from bot.events import Place
from bot.i18n.locales import clean_user_text
from bot.state import Frame
from bot.steps import ACTIONS, CHOICE_RESOLVERS, CHOICE_SOURCES
from bot.turn import Turn

log = logging.getLogger(__name__)

PERSON = "person"
MAX_STEPS_PER_TURN = 100


def start_dialog(
    turn: Turn, dialog_id: str, place: Place, values: dict[str, str] | None = None
) -> None:
    """Push a dialog on the member's stack and run it until it asks or ends."""
    dialog = turn.services.dialogs[dialog_id]
    frame = Frame(dialog=dialog_id, step=dialog.start, place=place, values=dict(values or {}))
    turn.conversation.frames.append(frame)
    enter(turn, dialog.start)


def current_dialog(turn: Turn) -> tuple[Dialog, Step] | None:
    frame = turn.frame
    if frame is None:
        return None
    dialog = turn.services.dialogs.get(frame.dialog)
    if dialog is None or frame.step not in dialog.steps:
        # The dialog file changed under a stored conversation: drop the stale frame.
        log.warning("dropping a conversation at unknown step %s/%s", frame.dialog, frame.step)
        turn.conversation.frames.pop()
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
            outcome = ACTIONS[call.name](turn, call)
            result = outcome or result
        if turn.frame is not frame:  # an action ended or replaced the dialog
            return
        for message in step.say:
            turn.say(message)
        if result is not None and result in step.on_result:
            step_name = step.on_result[result]
            continue
        if step.ask is not None:
            only = _only_choice(turn, step)
            if only:
                # A list with one entry (say, a community with one language) is no question.
                frame.values["choice"] = only
                if step.ask.store:
                    frame.values[step.ask.store] = only
                step_name = step.ask.next or END
                continue
            ask(turn, dialog, step)
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


def _only_choice(turn: Turn, step: Step) -> str:
    assert step.ask is not None
    if not step.ask.choices_from or not step.ask.auto:
        return ""
    choices = CHOICE_SOURCES[step.ask.choices_from](turn)
    return choices[0].key if len(choices) == 1 else ""


def choices_for(turn: Turn, dialog: Dialog, step: Step) -> list[Choice]:
    assert step.ask is not None
    if step.ask.choices_from:
        choices = CHOICE_SOURCES[step.ask.choices_from](turn)
    else:
        choices = [Choice(c.key, turn.text(c.label)) for c in step.ask.choices]
    if dialog.talk_to_person and not step.ask.text:
        choices.append(Choice(PERSON, turn.text("common.talk_to_person")))
    return choices


def ask(turn: Turn, dialog: Dialog, step: Step) -> None:
    assert step.ask is not None
    question = turn.text(step.ask.message)
    frame = turn.frame
    path = stages(turn, dialog) if step.name in dialog.progress and frame else []
    if frame is not None and step.name in path:
        stage = path.index(step.name) + 1
        # A new stage is numbered, and so is the same question asked again; a step
        # entered again within its stage (the next part, another try) is not.
        if stage > frame.stage or frame.waiting:
            numbers = {"step": str(stage), "steps": str(len(path))}
            question = turn.text("common.progress", question=question, **numbers)
        frame.stage = max(frame.stage, stage)
    turn.ask(question, choices_for(turn, dialog, step))


def stages(turn: Turn, dialog: Dialog) -> list[str]:
    """The numbered stages on this member's path: not a question answered for them
    (a single choice), nor a stage their community leaves out."""
    path = []
    for name in dialog.progress:
        check = dialog.progress_when.get(name)
        if _only_choice(turn, dialog.steps[name]):
            continue
        if check and ACTIONS[check](turn, ActionCall(check)) == "skip":
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
    if spec.text:
        cleaned = clean_user_text(text or "", 10_000)
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
                frame.values[spec.store] = cleaned
            _leave(turn, step, spec.next)
        return
    choices = choices_for(turn, dialog, step)
    picked: list[Choice] | None
    if choice_key is not None:
        picked = [c for c in choices if c.key == choice_key] or None
    elif spec.multiple:
        picked = match_many(text or "", choices)
    else:
        single = match_choice(text or "", choices)
        picked = [single] if single else None
    resolve = CHOICE_RESOLVERS.get(spec.choices_from or "")
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
    """End the current dialog; the one below it (if any) asks its question again."""
    if turn.conversation.frames:
        turn.conversation.frames.pop()
    turn.cancel("timeout")
    reask(turn)


def stop_all(turn: Turn) -> None:
    """``/stop``: nothing more is asked, and no reminder or check-in comes later."""
    turn.conversation.frames.clear()
    for kind in ("timeout", "reminder", "checkin"):
        turn.cancel(kind)


def talk_to_person(turn: Turn) -> bool:
    """Always possible: tell the moderators a member wants a human, and tell the member.
    In a report that does not name them, the member is asked first whether the
    moderators may know who they are; True when that question was asked."""
    if turn.frame is not None and turn.frame.dialog == person.CONSENT_DIALOG:
        return False  # that very question waits: it is asked again
    unnamed = person.unnamed_report(turn)
    if unnamed is not None:
        start_dialog(turn, person.CONSENT_DIALOG, Place.direct(turn.member), unnamed)
        return True
    person.notify_named(turn, turn.frame)
    return False
