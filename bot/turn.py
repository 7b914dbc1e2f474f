"""One event being handled: what it sees, and what it will commit and send."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.actions import Action, Ask, Choice, Say, ScheduleTimer
from bot.dialogs.model import ActionCall
from bot.events import Event, MemberRef, Place
from bot.i18n.catalogs import Translator
from bot.i18n.locales import clean_user_text, isolate, sentence_name
from bot.plain import wording
from bot.state import Conversation, Frame, Profile
from bot.store.types import Write

if TYPE_CHECKING:
    from bot.services import Services


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
    outbox: list[Action] = field(default_factory=list)
    timers: list[ScheduleTimer] = field(default_factory=list)
    cancelled_timers: list[str] = field(default_factory=list)
    acknowledgements: list[str] = field(default_factory=list)
    mentorships: list[tuple[str, str]] = field(default_factory=list)
    audit: list[tuple[str, str, str]] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    forget: bool = False  # /forget: nothing of this member is written back
    # Where every reply without an explicit place goes, whatever the flow: set for a
    # command that is answered only privately (see bot.command_places).
    answer_place: Place | None = None
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
        return self.translator.format(wording(message, self.profile), **self.values(extra))

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


# A named action a dialog step may call; it may return a result key for ``on_result``.
ActionFunction = Callable[[Turn, ActionCall], str | None]
# A named source of choices for a question's ``choices_from``.
ChoiceSource = Callable[[Turn], list[Choice]]
# For a source that lists only some of what it accepts (languages): the choice a
# member's typed words name among the unlisted ones, or None.
ChoiceResolver = Callable[[Turn, str], Choice | None]
