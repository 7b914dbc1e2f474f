"""What a running platform adapter gets from the core: a way to hand in events, a
place to keep its resume position, and the commands to offer in every language."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from bot.core.events import CommandRun, Event, MemberRef, Place
from bot.engine.command_places import answered_where_typed
from bot.engine.delivery import DELIVERING
from bot.engine.engine import Engine
from bot.engine.people import locale_of
from bot.engine.routing import RolesIn, Router
from bot.i18n.catalogs import Catalogs
from bot.i18n.command_names import local_name


@dataclass(frozen=True)
class CommandInfo:
    """A command with its one-line description in each enabled language."""

    name: str
    descriptions: dict[str, str]
    requires: str | None = None
    names: dict[str, str] = field(default_factory=dict)  # language -> localized name
    # Whom /help lists it for ("member", "session", "mediator", "moderator"): a platform's
    # menu for everyone shows only the members' commands.
    audience: str = "member"


class AdapterHost:
    def __init__(self, engine: Engine, router: Router | None = None) -> None:
        """One community's engine; or, for a deployment of many, the first one and the
        ``router`` that hands each event to its own community's (bot/engine/routing.py)."""
        self.engine = engine
        self.router = router

    @classmethod
    def of(cls, engines: list[Engine]) -> AdapterHost:
        """The host of one process's engines: one community's, or many routed."""
        return cls(engines[0], Router(engines) if len(engines) > 1 else None)

    @property
    def community(self) -> str:
        """The community an adapter stamps on its events; in a deployment of many, the
        host hands each to its own community's engine whatever this says."""
        return self.engine.community

    @property
    def communities(self) -> tuple[str, ...]:
        """The ids of the communities this process serves (one, or a deployment's)."""
        return tuple(self.router.engines) if self.router is not None else (self.community,)

    def spaces(self, platform: str) -> tuple[str, ...]:
        """The platform's spaces (guild ids, rooms, group ids, channels) the communities
        of a deployment name in their files: the adapter serves them besides its own
        settings' (empty for a config of one community)."""
        return self.router.spaces(platform) if self.router is not None else ()

    def roles_from(self, platform: str, roles_in: RolesIn) -> None:
        """For a platform whose roles belong to spaces (a power level in a Matrix room):
        in a deployment of many communities, an event's roles are
        ``roles_in(member_id, spaces)`` over the spaces (and moderators' room) of the
        community the event was routed to, never another's, whatever roles the adapter
        put on it. For one community, the adapter's roles are used as they are."""
        if self.router is not None:
            self.router.roles_in[platform] = roles_in

    def spaces_of(self, platform: str, community: str | None = None) -> tuple[str, ...]:
        """The platform's spaces of one community (by default, of the one whose action
        is being delivered, ``bot.engine.delivery.DELIVERING``): where a platform has
        several spaces per deployment (Discord servers), an action acts in its own
        community's only. Empty for a config of one community."""
        if self.router is None:
            return ()
        return self.router.spaces_of(community or DELIVERING.get(), platform)

    def space_languages(self, platform: str, space: str) -> tuple[str, ...]:
        """The languages of the community a space is in, its default first (every
        enabled one for a space of no community, or in a config of one community)."""
        engine = self.router.community_of_space(platform, space) if self.router else None
        if engine is None:
            return self.languages
        default = engine.services.config.default_language
        return (default, *(c for c in engine.services.languages if c != default))

    def moderators_rooms(self) -> tuple[str, ...]:
        """Every community's moderators' rooms (``moderators.channel``, or each of its
        ``moderators.rooms``; one for a config of one community): what is said there is
        for the moderators, not a public channel's, and an adapter must be there to post."""
        if self.router is None:
            return (self.moderators_place,)
        engines = self.router.engines.values()
        return tuple(room for e in engines for room in e.services.config.moderators.all_rooms)

    @property
    def languages(self) -> tuple[str, ...]:
        if self.router is not None:
            return self.router.languages
        return self.engine.services.languages

    @property
    def default_language(self) -> str:
        return self.engine.services.config.default_language

    @property
    def moderators_place(self) -> str:
        """The id every adapter gives the moderators' room in its places: the configured
        ``moderators.channel`` (``#moderators`` on the console). None in a deployment of
        many communities (empty): each names its own room among its spaces or channels,
        and its notices go there (``Engine._to_own_room``)."""
        if self.router is not None:
            return ""
        return self.engine.services.config.moderators.channel

    @property
    def welcome_channel(self) -> str:
        """The neutral name of the channel where newcomers are welcomed."""
        return self.engine.services.config.onboarding.welcome_channel

    @property
    def member_role(self) -> str | None:
        """The role onboarding grants when a newcomer agrees to the code of conduct."""
        return self.engine.services.config.onboarding.role

    @property
    def database_path(self) -> str:
        """The Concord database's path, to keep an adapter's own files beside it."""
        return str(self.engine.services.store.path)

    def typed_command_names(self) -> set[str]:
        """Every name a member can type as a command: canonical names of all commands
        (also those without a help line) and their localized names."""
        return set(self.engine.commands) | set(self.engine.command_aliases)

    def ready(self, platform: str) -> None:
        """Call once connected and able to deliver (again after a reconnection is
        harmless): what waits in the outbox for this platform goes out now."""
        self.engine.platform_ready(platform)

    def rate_limit_waited(self, platform: str, seconds: float) -> None:
        """Sending waited ``seconds`` under the platform's rate limits (pacing or the
        platform's own "slow down"): counted for operators' metrics."""
        self.engine.observer.rate_limit_waited(platform, seconds)

    async def handle(self, event: Event, *, wait_out_outage: bool = True) -> bool:
        """Hand in one event; it is committed (and its replies delivered) on return.
        False means it was a re-delivery and was ignored. A database that went away is
        waited out, unless ``wait_out_outage`` is False: then ``StoreUnavailable``
        is raised, for a platform that sends the event again (a webhook's 5xx)."""
        if self.router is not None:
            return await self.router.handle(event, wait=wait_out_outage)
        return await self.engine.handle(event, wait=wait_out_outage)

    def holds_lease(self, name: str) -> bool:
        """Whether this process holds the role ``name`` (one process of a deployment
        at a time: the Telegram poller, say), asking for it if it did not. Always
        True on a store no other process shares. See bot/engine/leases.py."""
        return self.engine.outbox.leases.holds(name)

    async def hold_lease(self, name: str) -> None:
        """Return once this process holds the role ``name``."""
        await self.engine.outbox.leases.hold(name)

    async def lease_lost(self, name: str) -> None:
        """Return once this process no longer holds the role ``name`` (another may
        take it): stop acting in it."""
        await self.engine.outbox.leases.lost(name)

    def platform_record(self, name: str) -> str | None:
        """A record of the adapter's own about no one member, kept in the Concord
        database: a resume position (Telegram update offset, Matrix next_batch), so a
        restart neither replays nor skips events, or a room or thread made for a
        shared space. Never a record about a member: that is ``member_record``."""
        return self.engine.services.store.cursor(name)

    def database_tag(self, name: str) -> str:
        """A short random tag made once per database and kept in it: platform
        idempotency keys built from outbox ids start with it, so a new database never
        reuses the keys of an old one."""
        tag = self.platform_record(name)
        if not tag:
            tag = secrets.token_hex(3)
            self.save_platform_record(name, tag)
        return tag

    def save_platform_record(self, name: str, value: str) -> None:
        """Keep a record about no one member; a resume position only after the events
        before it were handed in."""
        self.engine.services.store.set_cursor(name, value)

    def member_record(self, platform: str, member_id: str, name: str) -> str | None:
        """A record about one member (their direct room, the ids of the bot's messages
        to them), kept under exactly that platform and member id; none once it ended."""
        services = self.engine.services
        return services.store.member_record(platform, member_id, name, services.clock.now())

    def save_member_record(
        self,
        platform: str,
        member_id: str,
        name: str,
        value: str,
        *,
        later: bool = False,
        keep_for: timedelta | None = None,
    ) -> None:
        """Keep a record about one member; ``/forget`` erases it with the rest of their
        data (and nobody else's). Resume positions and other records about no one
        member are platform records instead. ``later``: a record of the action being
        delivered (the id of a message just sent), read back at once and written with
        that delivery's sent mark or by ``write_held_member_records``, whichever comes
        first (bot.store.record_sql). ``keep_for``: how long it is of use (it reads as
        none after that, and the daily housekeeping deletes it)."""
        services = self.engine.services
        ends = None if keep_for is None else services.clock.now() + keep_for
        if later:
            services.store.set_member_record_later(platform, member_id, name, value, ends)
        else:
            services.store.set_member_record(platform, member_id, name, value, ends)

    def write_held_member_records(self) -> None:
        """The records kept ``later``, written now: an adapter calls this before it
        calls its platform again, so nothing goes out while an earlier message's
        record waits (a crash leaves at most the message sent last unrecorded)."""
        self.engine.services.store.write_held_records()

    @property
    def member_roles(self) -> tuple[str, ...]:
        """The roles onboarding grants, one per community (several in a deployment)."""
        engines = self.router.engines.values() if self.router is not None else [self.engine]
        found = (e.services.config.onboarding.role for e in engines)
        return tuple(dict.fromkeys(role for role in found if role is not None))

    def is_command(self, name: str) -> bool:
        """Whether ``/name`` names one of Concord's commands (in English or in a
        language a community speaks): what a platform with commands of its own (Discord)
        takes as one when it is typed as text in a channel."""
        engines = self.router.engines.values() if self.router is not None else [self.engine]
        return any(name in e.commands or name in e.command_aliases for e in engines)

    def commands(self, languages: tuple[str, ...] | None = None) -> list[CommandInfo]:
        """Every command with help, described in ``languages`` (by default every
        language of every community; a platform's menus are per language, not per
        space): each language's text from the catalogs of a community that speaks it."""
        engines = self.router.engines.values() if self.router is not None else [self.engine]
        catalogs_of: dict[str, Catalogs] = {}
        for engine in engines:
            for code in engine.services.languages:
                catalogs_of.setdefault(code, engine.services.catalogs)
        languages = languages or self.languages
        infos = []
        for command in sorted(self.engine.commands.values(), key=lambda c: c.name):
            if command.help is None:
                continue
            descriptions = {
                code: catalogs_of.get(code, self.engine.services.catalogs)
                .translator(code)
                .gettext(command.help)
                for code in languages
            }
            names = {
                code: name
                for code in languages
                if (
                    name := local_name(
                        catalogs_of.get(code, self.engine.services.catalogs), command.name, code
                    )
                )
                is not None
            }
            infos.append(
                CommandInfo(command.name, descriptions, command.requires, names, command.audience)
            )
        return infos

    def answered_where_typed(self, event: CommandRun) -> bool:
        """Whether the core answers this command where it was typed, for everyone
        there, rather than in the sender's direct messages. An adapter that shows a
        command before the core runs it (a Discord slash command) shows it to the
        sender alone otherwise."""
        engine = self.engine
        if self.router is not None:
            routed = self.router.route(event)
            if isinstance(routed, Engine):
                engine, event = routed, self.router.with_roles(event, routed)
        name = event.name.lower().lstrip("/")
        command = engine.commands.get(name) or engine.commands.get(
            engine.command_aliases.get(name, "")
        )
        if command is None:
            return True
        typed_at = event.place or Place.direct(event.member)
        return answered_where_typed(engine.services, command, typed_at, event.member, event.roles)

    def text(self, locale: str, message: str, **values: str) -> str:
        """A catalog text for adapter-level notices (for example a deep-link button)."""
        return self.engine.services.catalogs.translator(locale).format(message, **values)

    def member_text(self, member: MemberRef, message: str, space: str = "", **values: str) -> str:
        """A catalog text for an adapter-level notice to one member, in the language
        the engine speaks with them (their choice, else their platform's, else the
        community default), decided as for every other message to them: in the
        community of ``space`` (the place the notice goes to), else the member's only
        community."""
        engine = self.engine
        if self.router is not None:
            found = self.router.community_of_space(member.platform, space) if space else None
            if found is None:  # (the store is asked only then)
                belongs = self.router.communities_of(member.key)
                found = self.router.engines[belongs[0]] if len(belongs) == 1 else None
            engine = found or engine
        services = engine.services
        return services.catalogs.translator(locale_of(services, member.key)).format(
            message, **values
        )
