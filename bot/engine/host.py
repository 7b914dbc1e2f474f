"""What a running platform adapter gets from the core: a way to hand in events, a
place to keep its resume position, and the commands to offer in every language."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from bot.core.events import CommandRun, Event, MemberRef, Place
from bot.engine.command_places import answered_where_typed
from bot.engine.engine import Engine
from bot.engine.people import locale_of
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
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def community(self) -> str:
        return self.engine.community

    @property
    def languages(self) -> tuple[str, ...]:
        return self.engine.services.languages

    @property
    def default_language(self) -> str:
        return self.engine.services.config.default_language

    @property
    def moderators_place(self) -> str:
        """The id every adapter gives the moderators' room in its places: the configured
        ``moderators.channel`` (``#moderators`` on the console)."""
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
        to them), kept under exactly that platform and member id."""
        return self.engine.services.store.member_record(platform, member_id, name)

    def save_member_record(self, platform: str, member_id: str, name: str, value: str) -> None:
        """Keep a record about one member; ``/forget`` erases it with the rest of their
        data (and nobody else's). Resume positions and other records about no one
        member are platform records instead."""
        self.engine.services.store.set_member_record(platform, member_id, name, value)

    def commands(self) -> list[CommandInfo]:
        catalogs = self.engine.services.catalogs
        infos = []
        for command in sorted(self.engine.commands.values(), key=lambda c: c.name):
            if command.help is None:
                continue
            descriptions = {
                code: catalogs.translator(code).gettext(command.help) for code in self.languages
            }
            names = {
                code: name
                for code in self.languages
                if (name := local_name(catalogs, command.name, code)) is not None
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

    def member_text(self, member: MemberRef, message: str, **values: str) -> str:
        """A catalog text for an adapter-level notice to one member, in the language
        the engine speaks with them (their choice, else their platform's, else the
        community default), decided as for every other message to them."""
        return self.text(locale_of(self.engine.services, member.key), message, **values)
