"""The shape of a dialog once loaded and validated."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

END = "end"


@dataclass(frozen=True, slots=True)
class ChoiceSpec:
    key: str
    label: str  # message id
    next: str | None = None
    words: str | None = None  # message id: other words for this answer, comma-separated


@dataclass(frozen=True, slots=True)
class AskSpec:
    """A question: either choices (fixed, or from a named source) or free text."""

    message: str
    choices: tuple[ChoiceSpec, ...] = ()
    choices_from: str | None = None
    multiple: bool = False
    text: bool = False
    min_length: int = 1
    max_length: int = 2000
    invalid: str | None = None
    store: str | None = None
    next: str | None = None
    auto: bool = False  # with exactly one choice on offer, take it without asking


@dataclass(frozen=True, slots=True)
class ActionCall:
    name: str
    args: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    say: tuple[str, ...] = ()
    actions: tuple[ActionCall, ...] = ()
    ask: AskSpec | None = None
    next: str | None = None
    on_result: dict[str, str] = field(default_factory=dict)
    timeout: timedelta | None = None
    on_timeout: str | None = None
    end: bool = False

    def targets(self) -> list[str]:
        """Every step this one can move to."""
        found = [t for t in (self.next, self.on_timeout) if t]
        found += list(self.on_result.values())
        if self.ask:
            found += [c.next for c in self.ask.choices if c.next]
            if self.ask.next:
                found.append(self.ask.next)
        return [t for t in found if t != END]


@dataclass(frozen=True, slots=True)
class Dialog:
    id: str
    start: str
    steps: dict[str, Step]
    source: str
    command: str | None = None
    help: str | None = None
    talk_to_person: bool = True
    progress: tuple[str, ...] = ()  # the questions numbered "Step k of n"
    # Stages not every member reaches: stage -> a named action that changes nothing
    # and returns "skip" when this member's path does not include the stage.
    progress_when: dict[str, str] = field(default_factory=dict)
    restart: bool = False  # its command, typed while it waits, begins it anew

    def step(self, name: str) -> Step:
        return self.steps[name]
