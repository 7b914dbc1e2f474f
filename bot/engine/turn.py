"""One event being handled (the ``Turn``: what it sees, and what it will commit and
send), what every turn can use (``Services``), and the records features plug in with.

A feature (onboarding, mediation, reports, ...) is a package under ``bot/features/``
that exports ``FEATURE``: its commands, the named actions its dialogs may call (with
the results each can return), its choice sources, the timer kinds it handles, and the
hooks the core calls at fixed points. The core reads features only through
:class:`Features`; it imports none of them by name. Those records hold functions of a
``Turn`` and a turn reaches them through its services, so the three live in one module:
split, they would import each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from bot.conduct.document import CodeOfConduct
from bot.config.community import Config
from bot.core.actions import Action as Outgoing
from bot.core.actions import Ask, Capabilities, Choice, Say, ScheduleTimer
from bot.core.buckets import bucket_of
from bot.core.clock import Clock
from bot.core.events import Event, MemberRef, Place, TimerFired
from bot.core.state import HEALTH_MARKS, Conversation, Frame, Profile, is_uncounted
from bot.dialogs.model import ActionCall, Dialog
from bot.i18n.catalogs import Catalogs, Translator
from bot.i18n.locales import clean_user_text, isolate, sentence_name
from bot.i18n.plain import wording
from bot.store.protocol import ServiceStore
from bot.store.types import Write
from bot.store.writes import ClaimCaseNumbers


@dataclass
class Turn:
    """The working state of one event. Nothing here reaches the store or a platform
    until the engine commits it in one transaction."""

    event: Event
    now: datetime
    services: Services
    conversation: Conversation
    profile: Profile
    locale: str
    translator: Translator
    outbox: list[Outgoing] = field(default_factory=list)
    timers: list[ScheduleTimer] = field(default_factory=list)
    cancelled_timers: list[str] = field(default_factory=list)
    acknowledgements: list[str] = field(default_factory=list)
    mentorships: list[tuple[str, str]] = field(default_factory=list)
    audit: list[tuple[str, str, str]] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    # Daily health counts this event adds, (metric, n): numbers only, see ``count``.
    counts: list[tuple[str, int]] = field(default_factory=list)
    cursors: dict[str, str] = field(default_factory=dict)  # committed with the turn
    forget: bool = False  # /forget: nothing of this member is written back
    # Where every reply without an explicit place goes, whatever the flow: set for a
    # command that is answered only privately (see bot.engine.command_places).
    answer_place: Place | None = None
    # The member's profile as last committed (None: never written), as the engine
    # holds it: what this turn changed, without reading the store again.
    stored_profile: dict[str, Any] | None = None
    _common: tuple[str, dict[str, str]] | None = field(default=None, init=False, repr=False)

    @property
    def member(self) -> MemberRef:
        return self.conversation.member

    @property
    def frame(self) -> Frame | None:
        return self.conversation.current

    def set_locale(self, locale: str) -> None:
        self.locale = locale
        self.translator = self.services.catalogs.translator(locale)

    def values(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """Placeholders every message may use. Member-supplied text is cleaned and,
        in a right-to-left language, isolated so it cannot reorder the sentence."""
        raw = self._common_values()
        frame = self.frame
        if (frame and frame.values) or extra:
            raw = {**raw, **(frame.values if frame else {}), **(extra or {})}
        if self.translator.direction != "rtl":
            return raw
        return {key: isolate(value, self.locale) for key, value in raw.items()}

    def _common_values(self) -> dict[str, str]:
        """The values every message of this turn shares, made once per locale (an
        event's replies fill about ten texts). Never changed once made."""
        if self._common is None or self._common[0] != self.locale:
            common = {
                "community": self.services.config.community_name,
                "name": clean_user_text(self.member.name or self.member.id, 80),
                "language": sentence_name(self.locale),
                "version": self.services.coc.version,
            }
            self._common = (self.locale, common)
        return self._common[1]

    def text(self, message: str, **extra: str) -> str:
        translator = self.translator
        msgid = wording(message, self.profile)
        whole = translator.whole(msgid)  # most texts name nothing: no values made
        if whole is not None:
            return whole
        return translator.fill(translator.gettext(msgid), self.values(extra))

    def ntext(self, singular: str, plural: str, n: int, **extra: str) -> str:
        """A message whose wording depends on a number, in the member's plural rules."""
        if wording(singular, self.profile) != singular:
            return self.text(singular, **extra)  # plain wordings name no count
        values = self.values(extra)
        return self.translator.nformat(singular, plural, n, **values)

    def reply_place(self) -> Place:
        if self.answer_place is not None:
            return self.answer_place
        frame = self.frame
        if frame and frame.place:
            return frame.place
        place = getattr(self.event, "place", None)
        return place if isinstance(place, Place) else Place.direct(self.member)

    def say(self, message: str, place: Place | None = None, **extra: str) -> None:
        self.outbox.append(Say(place or self.reply_place(), self.text(message, **extra)))

    def say_text(self, text: str, place: Place | None = None) -> None:
        self.outbox.append(Say(place or self.reply_place(), text))

    def ask(self, question: str, choices: list[Choice], place: Place | None = None) -> None:
        """A question with its choices listed by number, answerable by typing."""
        lines = [question]
        if choices:
            lines += [f"{n}. {isolate(c.label, self.locale)}" for n, c in enumerate(choices, 1)]
            lines.append(self.text("common.choice_hint"))
        self.outbox.append(Ask(place or self.reply_place(), "\n".join(lines), tuple(choices)))

    def schedule(
        self, kind: str, due: datetime, payload: str = "", member: MemberRef | None = None
    ) -> None:
        self.timers.append(ScheduleTimer(member or self.member, kind, due, payload))

    def signal(self, member: MemberRef, kind: str, payload: str = "") -> None:
        """Something another member's conversation must act on (an invitation, a
        session starting): committed with this event, handled right after it, under
        that member's own lock and in their own transaction."""
        self.schedule(kind, self.now, payload, member)

    def cancel(self, kind: str) -> None:
        self.cancelled_timers.append(kind)
        self.timers = [t for t in self.timers if t.kind != kind]

    def record(self, action: str, subject: str = "", detail: str = "") -> None:
        self.audit.append((action, subject, detail))

    def new_case_numbers(self, kind: str) -> tuple[int, int]:
        """A new case's id and its number among its kind, claimed by this turn's commit
        (which runs the turn again if another commit took them first)."""
        community = self.services.config.community_id
        case_id, number = self.services.store.cases.peek_numbers(community, kind)
        for claim in self.writes:  # cases this turn opened already
            if isinstance(claim, ClaimCaseNumbers) and claim.community == community:
                case_id = max(case_id, claim.case_id + 1)
                if claim.kind == kind:
                    number = max(number, claim.number + 1)
        self.writes.append(ClaimCaseNumbers(community, kind, case_id, number))
        return case_id, number

    def count(self, metric: str, n: int = 1, *, always: bool = False) -> None:
        """``n`` more of a daily health count (``joins``, ``reports:emergency``),
        committed with this event under its day, platform and language, naming nobody.
        A member who asked not to be counted (``/quiet``) is not, unless ``always``:
        moderation's own numbers (reports received, sanctions, appeals)."""
        if always or not is_uncounted(self.profile):
            self.counts.append((metric, n))

    def drop_health_marks(self) -> None:
        """Nothing of this member waits to be counted any more (``/quiet``, ``/forget``):
        their profile's marks go, and their first words, if a channel still waits to
        see them answered, stop waiting."""
        marks = self.profile.extra.pop(HEALTH_MARKS, None) or {}
        name, asked = marks.get("asked_in"), marks.get("asked")
        if name and asked and self.services.store.cursor(name) == asked:
            self.cursors[name] = ""

    def count_wait(self, metric: str, since: datetime, *, always: bool = False) -> None:
        """How long something waited until now, as one more in a bucket
        (``report_response:1h-6h``): the count keeps the bucket, not the time."""
        self.count(f"{metric}:{bucket_of(self.now - since)}", always=always)


# A named action a dialog step may call; it may return a result key for ``on_result``.
ActionFunction = Callable[[Turn, ActionCall], str | None]
# A named source of choices for a question's ``choices_from``.
ChoiceSource = Callable[[Turn], list[Choice]]
# For a source that lists only some of what it accepts (languages): the choice a
# member's typed words name among the unlisted ones, or None.
ChoiceResolver = Callable[[Turn, str], Choice | None]


CommandFunction = Callable[[Turn, tuple[str, ...], Place], None]

# Where a private command may also be answered, besides the sender's direct messages.
MODERATORS_ROOM = "moderators_room"  # the community's moderators room
SESSION_SPACE = "session_space"  # the private space of a mediation session


@dataclass(frozen=True)
class Command:
    name: str
    run: CommandFunction
    requires: str | None = None  # "moderator", or a role later issues add
    private: bool = False  # answered only privately: see bot.engine.command_places
    also_in: str = ""  # MODERATORS_ROOM or SESSION_SPACE: where else it may be answered
    help: str | None = None  # message id of a one-line description
    # Whom /help lists it for: "member", "session" (in a mediation session),
    # "mediator" or "moderator".
    audience: str = "member"
    # Others /help also lists it for, who may use part of it ("emergency": an
    # emergency contact reads emergency reports with /reports).
    also_for: tuple[str, ...] = ()
    also_help: str | None = None  # its description where listed for those others


TimerHandler = Callable[[Turn, TimerFired], None]
# Takes what a member wrote to the flow ``frame`` before the dialog does; True when it did.
TextHook = Callable[[Turn, Frame, str], bool]
# The groups of commands (see bot/engine/help.py) a member may use now, beyond "member".
AudienceHook = Callable[[Turn], set[str]]
# Before a member decides to be forgotten: True when something of theirs would end.
EndsHook = Callable[[Turn], bool]
# Just before a member's data goes: nothing that waits on them is left waiting.
MemberHook = Callable[[Turn], None]
# After every turn that does not erase the member, before its commit.
AfterHook = Callable[[Turn], None]
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
    # Every event, before it is handled (health counts of activity).
    on_event: tuple[MemberHook, ...] = ()
    on_forget: tuple[MemberHook, ...] = ()
    after_turn: tuple[AfterHook, ...] = ()
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
        self.on_event = tuple(h for f in self.features for h in f.on_event)
        self.after_turn = tuple(h for f in self.features for h in f.after_turn)
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


@dataclass
class Services:
    config: Config
    catalogs: Catalogs
    coc: CodeOfConduct
    store: ServiceStore
    clock: Clock
    languages: tuple[str, ...]
    dialogs: dict[str, Dialog] = field(default_factory=dict)
    capabilities: dict[str, Capabilities] = field(default_factory=dict)
    # The command table, for /help (set by the engine).
    commands: dict[str, Command] = field(default_factory=dict)
    # What the features add (see bot/engine/turn.py; the app passes bot/features' list).
    features: Features = field(default_factory=Features)

    def can(self, platform: str) -> Capabilities:
        """What a platform can do; a platform with no adapter yet can do the basics."""
        return self.capabilities.get(platform) or Capabilities()
