"""What a feature adds to the core, declared in one record, and the registry of them.

A feature (onboarding, mediation, reports, ...) is a package under ``bot/features/``
that exports ``FEATURE``: its commands, the named actions its dialogs may call (with
the results each can return), its choice sources, the timer kinds it handles, and the
hooks the core calls at fixed points. The core reads features only through
:class:`Features`; it imports none of them by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from bot.commands import Command
from bot.events import Place, TimerFired
from bot.state import Frame
from bot.turn import ActionFunction, ChoiceResolver, ChoiceSource, Turn

TimerHandler = Callable[[Turn, TimerFired], None]
# Takes what a member wrote to the flow ``frame`` before the dialog does; True when it did.
TextHook = Callable[[Turn, Frame, str], bool]
# The groups of commands (see bot/help.py) a member may use now, beyond "member".
AudienceHook = Callable[[Turn], set[str]]
# Before a member decides to be forgotten: True when something of theirs would end.
EndsHook = Callable[[Turn], bool]
# Just before a member's data goes: nothing that waits on them is left waiting.
MemberHook = Callable[[Turn], None]
# A member joined the community.
JoinHook = Callable[[Turn], None]
# Where nothing waits in the member's DM: a flow begun elsewhere that follows them there.
FollowHook = Callable[[Turn, Place], Frame | None]
# "Talk to a person": True when the member was asked a question first.
PersonHook = Callable[[Turn], bool]


@dataclass(frozen=True)
class Action:
    """A named action a dialog step may call, and the results it can return (the keys a
    step's ``on_result`` may use)."""

    run: ActionFunction
    results: tuple[str, ...] = ()


@dataclass(frozen=True)
class Feature:
    name: str
    commands: tuple[Command, ...] = ()
    actions: Mapping[str, Action] = field(default_factory=dict)
    choice_sources: Mapping[str, ChoiceSource] = field(default_factory=dict)
    choice_resolvers: Mapping[str, ChoiceResolver] = field(default_factory=dict)
    # Timer kinds by prefix ("case:" handles "case:invite:3") -> handler.
    timer_kinds: Mapping[str, TimerHandler] = field(default_factory=dict)
    # Timer kinds (by prefix) that would start a conversation the member did not ask for:
    # skipped while the member asked for quiet.
    uninvited_timers: tuple[str, ...] = ()
    text_hooks: tuple[TextHook, ...] = ()
    on_join: tuple[JoinHook, ...] = ()
    follows_to_direct: tuple[FollowHook, ...] = ()
    audiences: tuple[AudienceHook, ...] = ()
    ends_on_forget: tuple[EndsHook, ...] = ()
    on_forget: tuple[MemberHook, ...] = ()
    talk_to_person: PersonHook | None = None


class Features:
    """Every declared feature, merged: what the core looks up by name."""

    def __init__(self, features: Iterable[Feature] = ()) -> None:
        self.features = tuple(features)
        self.actions: Mapping[str, Action] = _merged(self.features, "actions")
        self.choice_sources: Mapping[str, ChoiceSource] = _merged(self.features, "choice_sources")
        self.choice_resolvers: Mapping[str, ChoiceResolver] = _merged(
            self.features, "choice_resolvers"
        )
        self.timer_kinds: Mapping[str, TimerHandler] = _merged(self.features, "timer_kinds")
        self.commands = tuple(c for f in self.features for c in f.commands)
        self.uninvited_timers = tuple(k for f in self.features for k in f.uninvited_timers)
        self.text_hooks = tuple(h for f in self.features for h in f.text_hooks)
        self.on_join = tuple(h for f in self.features for h in f.on_join)
        self.follows_to_direct = tuple(h for f in self.features for h in f.follows_to_direct)
        self.audiences = tuple(h for f in self.features for h in f.audiences)
        self.ends_on_forget = tuple(h for f in self.features for h in f.ends_on_forget)
        self.on_forget = tuple(h for f in self.features for h in f.on_forget)
        persons = [f.talk_to_person for f in self.features if f.talk_to_person is not None]
        if len(persons) > 1:
            raise ValueError("more than one feature declares talk_to_person")
        self.talk_to_person: PersonHook | None = persons[0] if persons else None

    def results(self) -> dict[str, tuple[str, ...]]:
        """Each action's name -> the results it can return (for the dialog loader)."""
        return {name: action.results for name, action in self.actions.items()}

    def timer_handler(self, kind: str) -> TimerHandler | None:
        return next((h for p, h in self.timer_kinds.items() if kind.startswith(p)), None)


def _merged(features: tuple[Feature, ...], table: str) -> Mapping[str, Any]:
    """One of the features' tables, merged; a name declared twice is a mistake."""
    merged: dict[str, Any] = {}
    for feature in features:
        mine: Mapping[str, Any] = getattr(feature, table)
        clash = sorted(set(merged) & set(mine))
        if clash:
            raise ValueError(f"{feature.name}: {table} {clash} declared twice")
        merged.update(mine)
    return MappingProxyType(merged)
