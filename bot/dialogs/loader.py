"""Load and validate YAML dialogs: every mistake fails fast with file, line and key."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.config import validate as v
from bot.core.yamlsource import KeyPath, YamlDocument, load_yaml_file
from bot.dialogs.model import END, ActionCall, AskSpec, ChoiceSpec, Dialog, Step

MIN_TIMEOUT = timedelta(hours=24)
_TOP_KEYS = (
    "dialog",
    "command",
    "help",
    "start",
    "steps",
    "talk_to_person",
    "progress",
    "progress_when",
    "no_person_because",
    "restart",
)
_STEP_KEYS = ("say", "actions", "ask", "next", "on_result", "timeout", "on_timeout", "end")
_ASK_KEYS = (
    "message",
    "choices",
    "choices_from",
    "multiple",
    "text",
    "invalid",
    "store",
    "next",
    "auto",
)
_CHOICE_KEYS = ("key", "label", "next", "words")
_TEXT_KEYS = ("min_length", "max_length")


class DialogRules:
    """What a dialog may refer to: message ids, named actions, choice sources, and (when
    given) the results each action can return, which a step's ``on_result`` may use."""

    def __init__(
        self,
        messages: Collection[str],
        actions: Collection[str],
        choice_sources: Collection[str],
        results: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self.messages = messages
        self.actions = actions
        self.choice_sources = choice_sources
        self.results = results


def load_dialog_file(path: Path | str, rules: DialogRules) -> Dialog:
    return parse_dialog(load_yaml_file(path), rules)


def load_dialogs(paths: Iterable[Path], rules: DialogRules) -> dict[str, Dialog]:
    dialogs: dict[str, Dialog] = {}
    commands: dict[str, str] = {}
    for path in sorted(paths):
        doc = load_yaml_file(path)
        dialog = parse_dialog(doc, rules)
        if dialog.id in dialogs:
            raise doc.error(("dialog",), f"dialog '{dialog.id}' is defined twice")
        if dialog.command and dialog.command in commands:
            raise doc.error(("command",), f"command already used by '{commands[dialog.command]}'")
        dialogs[dialog.id] = dialog
        if dialog.command:
            commands[dialog.command] = dialog.id
    return dialogs


def parse_dialog(doc: YamlDocument, rules: DialogRules) -> Dialog:
    top = v.mapping(doc, (), doc.data, _TOP_KEYS, required=("dialog", "start", "steps"))
    dialog_id = v.text(doc, ("dialog",), top["dialog"])
    raw_steps = v.mapping(doc, ("steps",), top["steps"], allowed=top["steps"] or {})
    if not raw_steps:
        raise doc.error(("steps",), "a dialog needs at least one step")
    steps = {
        name: _parse_step(doc, ("steps", name), name, raw, rules) for name, raw in raw_steps.items()
    }
    start = v.text(doc, ("start",), top["start"])
    if start not in steps:
        raise doc.error(("start",), f"unknown step '{start}'")
    for step in steps.values():
        _check_targets(doc, step, steps)
    _check_reachable(doc, start, steps)
    command = top.get("command")
    progress = _parse_progress(doc, top.get("progress", False), steps)
    help_message = _message(doc, ("help",), top["help"], rules) if "help" in top else None
    if command is not None and help_message is None:
        raise doc.error(("command",), "a command needs 'help': a message id describing it")
    return Dialog(
        id=dialog_id,
        start=start,
        steps=steps,
        source=doc.name,
        command=v.text(doc, ("command",), command) if command is not None else None,
        help=help_message,
        talk_to_person=_talk_to_person(doc, top),
        progress=progress,
        progress_when=_parse_progress_when(doc, top.get("progress_when") or {}, progress, rules),
        restart=v.boolean(doc, ("restart",), top.get("restart", False)),
    )


def _talk_to_person(doc: YamlDocument, top: dict[str, Any]) -> bool:
    """Every question offers "Talk to a person" (a choice, and the words typed at any
    question), unless the dialog opts out and says why in ``no_person_because``."""
    offered = v.boolean(doc, ("talk_to_person",), top.get("talk_to_person", True))
    because = top.get("no_person_because")
    if offered and because is not None:
        raise doc.error(("no_person_because",), "only a dialog with 'talk_to_person: false'")
    if not offered and not (isinstance(because, str) and because.strip()):
        raise doc.error(
            ("talk_to_person",),
            "every question offers 'Talk to a person': to opt out, say why in 'no_person_because'",
        )
    return offered


def _parse_progress(doc: YamlDocument, raw: Any, steps: dict[str, Step]) -> tuple[str, ...]:
    """``progress: true`` numbers every question; a list names the questions that are
    the member's stages ("Step 2 of 5"), so a repeated or optional question does not
    make the count jump."""
    asking = [name for name, step in steps.items() if step.ask is not None]
    if isinstance(raw, bool):
        return tuple(asking) if raw else ()
    names = v.text_list(doc, ("progress",), raw)
    for i, name in enumerate(names):
        if name not in asking:
            raise doc.error(("progress", i), f"'{name}' is not a step that asks a question")
    return tuple(names)


def _parse_progress_when(
    doc: YamlDocument, raw: Any, progress: tuple[str, ...], rules: DialogRules
) -> dict[str, str]:
    """``progress_when: {stage: action}``: a stage counts only for members whose path
    includes it (the action, which must change nothing, does not return "skip")."""
    found = {}
    for stage, action in v.mapping(doc, ("progress_when",), raw, allowed=raw).items():
        where = ("progress_when", stage)
        if stage not in progress:
            raise doc.error(where, f"'{stage}' is not one of the numbered steps")
        name = v.text(doc, where, action)
        if name not in rules.actions:
            raise doc.error(where, f"unknown action '{name}'")
        found[str(stage)] = name
    return found


def _message(doc: YamlDocument, path: KeyPath, value: Any, rules: DialogRules) -> str:
    message = v.text(doc, path, value)
    if message not in rules.messages:
        raise doc.error(path, f"message id '{message}' is not in the catalog")
    return message


def _check_results(
    doc: YamlDocument,
    path: KeyPath,
    actions: tuple[ActionCall, ...],
    on_result: dict[str, str],
    rules: DialogRules,
) -> None:
    """Every ``on_result`` key is a result one of the step's actions declares."""
    if rules.results is None:
        return
    declared = {r for call in actions for r in rules.results.get(call.name, ())}
    for key in on_result:
        if key not in declared:
            names = ", ".join(call.name for call in actions) or "no action"
            raise doc.error(
                (*path, "on_result", key), f"'{key}' is not a result {names} can return"
            )


def _parse_step(doc: YamlDocument, path: KeyPath, name: str, raw: Any, rules: DialogRules) -> Step:
    if raw is None:
        raise doc.error(path, "a step needs at least 'next', 'ask' or 'end'")
    raw = v.mapping(doc, path, raw, _STEP_KEYS)
    say = tuple(
        _message(doc, (*path, "say", i), m, rules)
        for i, m in enumerate(v.text_list(doc, (*path, "say"), raw.get("say", [])))
    )
    actions = tuple(_parse_actions(doc, (*path, "actions"), raw.get("actions", []), rules))
    ask = _parse_ask(doc, (*path, "ask"), raw["ask"], rules) if "ask" in raw else None
    on_result = {
        v.text(doc, (*path, "on_result", k), k): v.text(doc, (*path, "on_result", k), target)
        for k, target in v.mapping(
            doc, (*path, "on_result"), raw.get("on_result", {}), allowed=raw.get("on_result") or {}
        ).items()
    }
    _check_results(doc, path, actions, on_result, rules)
    timeout = v.duration(doc, (*path, "timeout"), raw["timeout"]) if "timeout" in raw else None
    on_timeout = (
        v.text(doc, (*path, "on_timeout"), raw["on_timeout"]) if "on_timeout" in raw else None
    )
    if (timeout is None) != (on_timeout is None):
        raise doc.error(path, "'timeout' and 'on_timeout' go together")
    if timeout is not None and ask is None:
        raise doc.error((*path, "timeout"), "only a step that asks can time out")
    if timeout is not None and timeout < MIN_TIMEOUT:
        # Members who read slowly, use assistive technology or live in another time
        # zone need a day at least (WCAG 2.2.1 exempts limits over 20 hours).
        raise doc.error((*path, "timeout"), "a step may not expire in under 24 hours")
    end = v.boolean(doc, (*path, "end"), raw.get("end", False))
    next_step = v.text(doc, (*path, "next"), raw["next"]) if "next" in raw else None
    if ask is None and not end and next_step is None:
        raise doc.error(path, "a step without a question needs 'next' or 'end: true'")
    if ask is not None and (end or next_step):
        raise doc.error(path, "a step that asks moves on through its answers, not 'next'/'end'")
    return Step(name, say, actions, ask, next_step, on_result, timeout, on_timeout, end)


def _parse_actions(
    doc: YamlDocument, path: KeyPath, raw: Any, rules: DialogRules
) -> Iterable[ActionCall]:
    if not isinstance(raw, list):
        raw = [raw]
    for i, item in enumerate(raw):
        where = (*path, i)
        if isinstance(item, dict) and len(item) == 1:
            name, args = next(iter(item.items()))
            args = v.mapping(doc, (*where, name), args, allowed=args or {}) if args else {}
            args = {k: v.text(doc, (*where, name, k), a) for k, a in args.items()}
        else:
            name, args = v.text(doc, where, item), {}
        if name not in rules.actions:
            raise doc.error(where, f"unknown action '{name}'")
        yield ActionCall(name, args)


def _parse_ask(doc: YamlDocument, path: KeyPath, raw: Any, rules: DialogRules) -> AskSpec:
    raw = v.mapping(doc, path, raw, _ASK_KEYS, required=("message",))
    message = _message(doc, (*path, "message"), raw["message"], rules)
    kinds = [k for k in ("choices", "choices_from", "text") if k in raw]
    if len(kinds) != 1:
        raise doc.error(path, "a question needs exactly one of 'choices', 'choices_from', 'text'")
    choices: list[ChoiceSpec] = []
    if "choices" in raw:
        items = raw["choices"]
        if not isinstance(items, list) or not items:
            raise doc.error((*path, "choices"), "expected a list of choices")
        for i, item in enumerate(items):
            where = (*path, "choices", i)
            item = v.mapping(doc, where, item, _CHOICE_KEYS, required=("key", "label"))
            choices.append(
                ChoiceSpec(
                    key=v.text(doc, (*where, "key"), item["key"]),
                    label=_message(doc, (*where, "label"), item["label"], rules),
                    next=v.text(doc, (*where, "next"), item["next"]) if "next" in item else None,
                    words=(
                        _message(doc, (*where, "words"), item["words"], rules)
                        if "words" in item
                        else None
                    ),
                )
            )
        keys = [c.key for c in choices]
        if len(set(keys)) != len(keys):
            raise doc.error((*path, "choices"), "two choices have the same key")
    source = None
    if "choices_from" in raw:
        source = v.one_of(doc, (*path, "choices_from"), raw["choices_from"], rules.choice_sources)
    min_length, max_length = 1, 2000
    if "text" in raw:
        spec = v.mapping(doc, (*path, "text"), raw["text"] or {}, _TEXT_KEYS)
        min_length = v.integer(
            doc, (*path, "text", "min_length"), spec.get("min_length", 1), 0, 10000
        )
        max_length = v.integer(
            doc, (*path, "text", "max_length"), spec.get("max_length", 2000), 1, 10000
        )
        if min_length > max_length:
            raise doc.error((*path, "text"), "min_length is larger than max_length")
    invalid = _message(doc, (*path, "invalid"), raw["invalid"], rules) if "invalid" in raw else None
    next_step = v.text(doc, (*path, "next"), raw["next"]) if "next" in raw else None
    if next_step is None and (not choices or any(c.next is None for c in choices)):
        raise doc.error(path, "every answer needs a next step: add 'next'")
    return AskSpec(
        message=message,
        choices=tuple(choices),
        choices_from=source,
        multiple=v.boolean(doc, (*path, "multiple"), raw.get("multiple", False)),
        text="text" in raw,
        min_length=min_length,
        max_length=max_length,
        invalid=invalid,
        store=v.text(doc, (*path, "store"), raw["store"]) if "store" in raw else None,
        next=next_step,
        auto=v.boolean(doc, (*path, "auto"), raw.get("auto", False)),
    )


def _target_path(step: Step, target: str) -> KeyPath:
    base: KeyPath = ("steps", step.name)
    if step.next == target:
        return (*base, "next")
    if step.on_timeout == target:
        return (*base, "on_timeout")
    for key, value in step.on_result.items():
        if value == target:
            return (*base, "on_result", key)
    if step.ask:
        for i, choice in enumerate(step.ask.choices):
            if choice.next == target:
                return (*base, "ask", "choices", i, "next")
        return (*base, "ask", "next")
    return base


def _check_targets(doc: YamlDocument, step: Step, steps: dict[str, Step]) -> None:
    for target in step.targets():
        if target not in steps:
            raise doc.error(_target_path(step, target), f"unknown step '{target}'")
    if END in steps:
        raise doc.error(("steps", END), f"'{END}' is reserved: it ends the dialog")


def _check_reachable(doc: YamlDocument, start: str, steps: dict[str, Step]) -> None:
    seen = {start}
    todo = [start]
    while todo:
        for target in steps[todo.pop()].targets():
            if target not in seen:
                seen.add(target)
                todo.append(target)
    for name in steps:
        if name not in seen:
            raise doc.error(("steps", name), "unreachable step: no step leads here")
