"""Which community of a deployment an event belongs to.

An event in a space (a Discord server, a Matrix room, a Telegram group, an IRC channel)
belongs to the community whose file names that space (a Discord channel or thread, or
a member leaving a server, by the server the adapter names as the event's ``space``);
a moderators' room or welcome channel, to the community that names it (no two may
share one); an event in a channel of no community is set aside, whoever sent it. An
event with no space (a direct message, a choice pressed there) belongs, in this order,
to:

1. the one community whose flow waits for the member's direct messages;
2. the community the member chose when asked (kept as a record about the member,
   erased with them), if they still belong to it;
3. the one community the member belongs to (a profile there, or named as its
   moderator, mediator or mentor).

Otherwise nothing is guessed: a member of several communities is asked which one the
conversation is about (a choice, in their language), and someone who belongs to none
is told to start in their community's space. Nothing is handed to a community the
member does not belong to, so one community's private text never reaches another.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from bot.core.actions import Ask, Choice, Say
from bot.core.events import ChoiceMade, CommandRun, Event, Place, PlaceKind, TextSaid, event_place
from bot.engine.engine import Engine, inbox_key
from bot.engine.people import locale_of
from bot.i18n import N_
from bot.i18n.locales import isolate
from bot.store.types import Changes, OutboxItem

log = logging.getLogger(__name__)
# A platform's roles of a member within some of its spaces: (member id, spaces) -> roles.
E = TypeVar("E", bound=Event)
RolesIn = Callable[[str, tuple[str, ...]], tuple[str, ...]]
CHOICE_PREFIX = "community:"
CHOSEN = "community"  # member record: the community their direct messages go to
ASKED = "community.asked"  # member record: the communities they were asked to choose from


@dataclass(frozen=True)
class Ambiguous:
    """No one community: ask the member to choose among ``communities`` (none: tell
    them to start in their community's space)."""

    communities: tuple[str, ...]


class Router:
    """The engines of one deployment, and the routing of each event to one of them."""

    def __init__(self, engines: list[Engine]) -> None:
        self.engines = {engine.community: engine for engine in engines}
        self.first = engines[0]
        self.store = self.first.services.store
        self.by_space: dict[tuple[str, str], str] = {}
        self.by_room: dict[str, str] = {}
        self.staff: dict[str, set[str]] = {}
        self.roles_in: dict[str, RolesIn] = {}
        for engine in engines:
            self._index(engine)

    def _index(self, engine: Engine) -> None:
        config, community = engine.services.config, engine.community
        for platform, spaces in config.spaces.items():
            for space in spaces:
                self.by_space[(platform, space)] = community
        for room in config.moderators.all_rooms:
            self.by_room[room] = community
        if config.onboarding.welcome != "direct":
            self.by_room[config.onboarding.welcome_channel] = community
        staff = [
            *config.moderators.members,
            *(m.member for m in config.mediation.mediators),
            *(m.member for m in config.onboarding.mentors),
        ]
        for member in staff:
            self.staff.setdefault(member, set()).add(community)

    def spaces(self, platform: str) -> tuple[str, ...]:
        return tuple(space for (p, space) in self.by_space if p == platform)

    def with_roles(self, event: E, engine: Engine) -> E:
        """The event stamped with its community and, where the platform computes roles
        per space (``roles_in``), the member's roles within that community's spaces."""
        roles = event.roles
        roles_in = self.roles_in.get(event.member.platform)
        if roles_in is not None:
            spaces = engine.services.config.own_spaces(event.member.platform)
            roles = roles_in(event.member.id, spaces)
        return replace(event, community=engine.community, roles=roles)

    def spaces_of(self, community: str, platform: str) -> tuple[str, ...]:
        """The platform's spaces one community names (none for an unknown one)."""
        engine = self.engines.get(community)
        return engine.services.config.spaces.get(platform, ()) if engine is not None else ()

    def community_of_space(self, platform: str, space: str) -> Engine | None:
        community = self.by_space.get((platform, space))
        return self.engines[community] if community is not None else None

    @property
    def languages(self) -> tuple[str, ...]:
        found: dict[str, None] = {}
        for engine in self.engines.values():
            found.update(dict.fromkeys(engine.services.languages))
        return tuple(found)

    async def handle(self, event: Event, wait: bool = True) -> bool:
        asked = self._asked(event)
        chosen = self._answer_to_question(event, asked)
        if chosen is not None:
            return await self._confirm(event, chosen)
        target = self.route(event)
        if isinstance(target, Engine):
            if asked:  # it answered none of the communities offered: they are not kept
                self.store.set_member_record(event.member.platform, event.member.id, ASKED, "")
            return await target.handle(self.with_roles(event, target), wait=wait)
        place = event_place(event)
        said = isinstance(event, TextSaid | CommandRun | ChoiceMade)
        if not said or (place is not None and place.kind != PlaceKind.DIRECT):
            # Only what a member writes in direct messages is answered with a question:
            # in a channel of no one community, nothing is said to anyone.
            log.info("an event of no one community is set aside: %s", type(event).__name__)
            return False
        return await self._ask(event, target.communities)

    def route(self, event: Event) -> Engine | Ambiguous:
        """The engine of the event's community, or what to ask (see the module)."""
        place = event_place(event)
        if place is not None and place.kind != PlaceKind.DIRECT:
            community = self.by_space.get((place.platform, place.id)) or self.by_room.get(place.id)
            if community is None and event.space:  # a channel or thread of a server
                community = self.by_space.get((place.platform, event.space))
            if community is None and place.kind == PlaceKind.PRIVATE:
                community = self._case_space(event.member.key, place.id)
            # A channel of no community is nobody's: never guessed from the member.
            return self.engines[community] if community is not None else Ambiguous(())
        if place is None and event.space:  # no place, but a server (a member left it)
            community = self.by_space.get((event.member.platform, event.space))
            return self.engines[community] if community is not None else Ambiguous(())
        return self._by_member(event)

    def _case_space(self, member: str, space: str) -> str | None:
        """A private space the bot made for a case: that case's community."""
        for community in self.communities_of(member):
            if self.store.cases.by_space(community, space) is not None:
                return community
        return None

    def communities_of(self, member: str) -> list[str]:
        found = set(self.store.communities_of(member)) | self.staff.get(member, set())
        return sorted(c for c in found if c in self.engines)

    def _by_member(self, event: Event) -> Engine | Ambiguous:
        member = event.member
        belongs = self.communities_of(member.key)
        if len(belongs) == 1:  # (rules 1 and 2 could only name this one)
            return self.engines[belongs[0]]
        for community in belongs:
            # Delivered again (after a crash): to the community that handled it, which
            # ignores it, whatever the rules would say now that it changed things.
            if self.store.seen(inbox_key(community, event)):
                return self.engines[community]
        direct = Place.direct(member)
        waiting = [c for c in belongs if self.engines[c].waits_in(member, direct)]
        if len(waiting) == 1:
            return self.engines[waiting[0]]
        chosen = self.store.member_record(member.platform, member.id, CHOSEN)
        if chosen in belongs and (not waiting or chosen in waiting):
            return self.engines[chosen]
        return Ambiguous(tuple(waiting or belongs))

    def _asked(self, event: Event) -> list[str]:
        """The communities a member was asked to choose from, if they have not chosen:
        read for what they write in direct messages only."""
        place, member = event_place(event), event.member
        if not isinstance(event, TextSaid) or place is None or place.kind != PlaceKind.DIRECT:
            return []
        return (self.store.member_record(member.platform, member.id, ASKED) or "").split()

    def _answer_to_question(self, event: Event, asked: list[str]) -> str | None:
        """The community a member picks by answering "which community?" (a press, or
        its number typed), if they still belong to it."""
        picked = None
        if isinstance(event, ChoiceMade) and event.choice.startswith(CHOICE_PREFIX):
            picked = event.choice.removeprefix(CHOICE_PREFIX)
        elif isinstance(event, TextSaid) and asked:
            number = event.text.strip().rstrip(".")
            if number.isdigit() and 1 <= int(number) <= len(asked):
                picked = asked[int(number) - 1]
        return picked if picked in self.communities_of(event.member.key) else None

    async def _confirm(self, event: Event, community: str) -> bool:
        member = event.member
        engine = self.engines[community]
        text = self._text(engine, member.key, N_("routing.community_chosen"), community=community)
        items = self._commit(event, community, Say(Place.direct(member), text))
        if items is None:
            return False
        self.store.set_member_record(member.platform, member.id, CHOSEN, community)
        self.store.set_member_record(member.platform, member.id, ASKED, "")
        await self.first.outbox.deliver_new(items)
        return True

    async def _ask(self, event: Event, communities: tuple[str, ...]) -> bool:
        member = event.member
        engine = self.engines[communities[0]] if communities else self.first
        locale = locale_of(engine.services, member.key)
        if not communities:
            text = self._text(engine, member.key, N_("routing.no_community"))
            action: Ask | Say = Say(Place.direct(member), text)
        else:
            choices = [
                Choice(CHOICE_PREFIX + c, self.engines[c].services.config.community_name)
                for c in communities
            ]
            lines = [self._text(engine, member.key, N_("routing.choose_community"))]
            lines += [f"{n}. {isolate(c.label, locale)}" for n, c in enumerate(choices, 1)]
            lines.append(self._text(engine, member.key, "common.choice_hint"))
            action = Ask(Place.direct(member), "\n".join(lines), tuple(choices))
        items = self._commit(event, engine.community, action)
        if items is None:
            return False
        self.store.set_member_record(member.platform, member.id, ASKED, " ".join(communities))
        await self.first.outbox.deliver_new(items)
        return True

    def _text(self, engine: Engine, member: str, message: str, **values: str) -> str:
        services = engine.services
        if "community" in values:
            values["community"] = services.config.community_name
        translator = services.catalogs.translator(locale_of(services, member))
        return translator.format(message, **values)

    def _commit(self, event: Event, community: str, action: Ask | Say) -> list[OutboxItem] | None:
        """The answer committed with the event's id, so a re-delivery is not answered
        twice."""
        key = inbox_key(community, event)
        if self.store.seen(key):
            return None
        now = self.first.services.clock.now()
        return self.store.apply(Changes(at=now, event_key=key, outbox=[(community, action)]))
