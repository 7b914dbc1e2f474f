"""The engine: turns each event into one committed transaction, then delivers.

Events of one conversation are handled strictly in order (a lock per member);
different members proceed concurrently. State lives in the store; a bounded cache
keeps memory flat however many conversations are stored. On a store other processes
share (PostgreSQL), a turn first claims its member from the other processes and reads
the member's state from the store, not from the cache.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.core.actions import Action, GrantRole, NotifyModerators, RevokeRole, Say, ScheduleTimer
from bot.core.errors import Conflict, StoreUnavailable
from bot.core.events import Event, MemberRef, Place, PlaceKind
from bot.core.state import (
    Conversation,
    Profile,
    conversation_from_dict,
    profile_changed,
    profile_from_dict,
)
from bot.engine.commands import command_table
from bot.engine.commit import turn_changes
from bot.engine.delivery import Adapter, Outbox
from bot.engine.dispatch import route
from bot.engine.middleware import (
    Handler,
    Middleware,
    RateLimit,
    audit_middleware,
    locale_middleware,
)
from bot.engine.observe import NoObserver, Observer, report_event
from bot.engine.outage import Outage
from bot.engine.timers import Timers
from bot.engine.turn import Command, Services, Turn
from bot.i18n.catalogs import Translator
from bot.i18n.command_names import aliases
from bot.store.group_sync import GroupSync
from bot.store.types import Changes, OutboxItem

log = logging.getLogger(__name__)
Live = OrderedDict[tuple[str, str], tuple[Conversation, Profile, dict[str, Any] | None]]
# How often a turn whose commit met another commit's claim runs again before it fails.
CONFLICT_RETRIES = 5


class Engine:
    def __init__(
        self,
        services: Services,
        *,
        cache_size: int | None = None,
        middlewares: Sequence[Middleware] | None = None,
        peers: Engine | None = None,
    ) -> None:
        """``peers``: an engine of another community of the same deployment, whose
        outbox, timers and live conversations this one shares (one of each per
        process, however many communities)."""
        self.services = services
        store = services.store
        if peers is None:
            self.outage = Outage()
            self.outbox = Outbox(store, services.clock, shared=store.shared, outage=self.outage)
            self.timers = Timers(store, services.clock, self.outage, self.outbox.leases.holder)
        else:
            self.outage, self.outbox, self.timers = peers.outage, peers.outbox, peers.timers
        self.timers.add(self)
        self.observer: Observer = NoObserver()
        # Strict durability: events commit together and wait together for one fsync.
        self.group_sync = GroupSync(store.sync_log, store.end_batch) if store.durable else None
        self.commands: dict[str, Command]
        self.command_aliases: dict[str, str]
        if peers is not None and peers.services.languages == services.languages:
            # The same dialogs, features and languages: the same commands.
            self.commands, self.command_aliases = peers.commands, peers.command_aliases
        else:
            self.commands = command_table(
                list(services.dialogs.values()), services.features.commands
            )
            # Names members may type in their language: localized name -> command.
            self.command_aliases = aliases(services.catalogs, self.commands, services.languages)
        services.commands = self.commands
        self.middlewares: list[Middleware] = list(
            middlewares
            if middlewares is not None
            else [
                locale_middleware,
                RateLimit(services.config.messages_per_minute),
                audit_middleware,
            ]
        )
        # Live conversations by (community, member): state, profile, and the profile as
        # last written. One for every community of the process.
        self._cache: Live = peers._cache if peers is not None else OrderedDict()
        # Live conversations kept in memory (a fixed cost, about 3 KB each): the rest
        # are read back from SQLite, so memory does not grow with conversations stored.
        self._cache_size = cache_size or services.config.live_conversations
        if services.store.shared:
            # Other processes change states too: a turn reads its member's from the store.
            self._cache_size = 0
        self._chain: tuple[tuple[Middleware, ...], Handler] | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}
        self._erase: set[str] = set()
        self._translator: Translator | None = None

    @property
    def community(self) -> str:
        return self.services.config.community_id

    @property
    def retention_days(self) -> int | None:
        return self.services.config.privacy.retention_days

    # Handling ------------------------------------------------------------------------

    def observe(self, observer: Observer) -> None:
        """Report handled events and deliveries to ``observer`` (operators' metrics)."""
        self.observer = observer
        self.outbox.observer = observer

    async def handle(self, event: Event, *, timer_id: int | None = None, wait: bool = True) -> bool:
        """Handle one event; False if a re-delivery (ignored). Not ``wait``: outages raise."""
        started = time.perf_counter()
        outcome = "failed"
        try:
            run = self._handle_until_stored if wait else self._handle
            handled = await run(event, timer_id)
            outcome = "handled" if handled else "duplicate"
            return handled
        finally:
            report_event(self.observer, event, outcome, time.perf_counter() - started)

    async def _handle_until_stored(self, event: Event, timer_id: int | None) -> bool:
        """Returns once committed (or found handled): see bot.engine.outage."""
        while True:
            try:
                handled = await self._handle(event, timer_id)
            except StoreUnavailable as exc:
                await self.outage.wait(exc)
                continue
            self.outage.over()
            return handled

    async def _handle(self, event: Event, timer_id: int | None) -> bool:
        event_key = inbox_key(event.community, event)
        # A re-delivered event is found out when its turn commits (its id is already in
        # the inbox: ``apply`` writes nothing and returns None, and the turn's work on
        # the member's cached state is dropped): no read of the inbox before every turn
        # for the rare repeat. A shared store reads it with the member's claim.
        store = self.services.store
        member_key = event.member.key
        lock = self._locks.get(member_key) or self._locks.setdefault(member_key, asyncio.Lock())
        self._waiting[member_key] = self._waiting.get(member_key, 0) + 1
        try:
            async with lock:
                await self._claim(member_key, event_key)
                try:
                    again = store.shared and store.seen(event_key)
                    items = None if again else await self._handle_locked(event, event_key, timer_id)
                finally:
                    store.release_member(self.community, member_key)
                if items is None:
                    return False
                if self.group_sync is not None:
                    try:
                        await self.group_sync.synced()  # nothing leaves before it is on disk
                    except BaseException:
                        self._cache.pop((self.community, member_key), None)  # maybe lost
                        raise
                if member_key in self._erase:
                    self.outbox.drop_replies_to(event.member, keep=items)
                await self.outbox.deliver_new(items, at_once=member_key in self._erase)
                if member_key in self._erase:
                    self._erase.discard(member_key)
                    store.erase_delivered(event.member.platform, event.member.id)
        finally:
            self._waiting[member_key] -= 1
            if not self._waiting[member_key]:
                del self._waiting[member_key]
                del self._locks[member_key]
        if self.timers.signalled and not self.timers.firing:
            # Another member's conversation was signalled: act on it now, outside this
            # member's lock.
            await self.fire_due_timers()
        return True

    async def _claim(self, member_key: str, event_key: str) -> None:
        """Wait until no other process runs a turn of this member (a shared store)."""
        store = self.services.store
        pause = 0.002
        while not store.claim_member(self.community, member_key, event_key):
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    async def _handle_locked(
        self, event: Event, event_key: str, timer_id: int | None
    ) -> list[OutboxItem] | None:
        """Run the turn and commit it; a commit that meets another's claim (a case
        number taken meanwhile) wrote nothing, so the turn runs again on what is stored."""
        for _ in range(CONFLICT_RETRIES):
            try:
                return await self._run_turn(event, event_key, timer_id)
            except Conflict as conflict:
                log.info("running a turn again: %s", conflict)
        return await self._run_turn(event, event_key, timer_id)

    async def _run_turn(
        self, event: Event, event_key: str, timer_id: int | None
    ) -> list[OutboxItem] | None:
        default = self.services.config.default_language
        turn = self._new_turn(event, self.services.clock.now(), default, self._default_translator())
        profile = turn.profile
        if profile.first_seen is None:
            profile.first_seen = turn.now.isoformat()
        if event.member.name and event.member.name != profile.name:
            profile.name = event.member.name
        try:
            await self._run_middlewares(turn)
        except Exception as exc:
            # The traceback may quote what a member wrote: only at debug level.
            log.error("error while handling %s: %s", type(event).__name__, type(exc).__name__)
            log.debug("the error while handling %s", type(event).__name__, exc_info=True)
            self._cache.pop((self.community, event.member.key), None)
            # The conversation stays where it was; the member hears something useful.
            turn = self._new_turn(event, turn.now, turn.locale, turn.translator)
            turn.say("common.error")
        services, written = self.services, turn.stored_profile
        if len(self.timers.engines) > 1:
            turn.outbox = [self._to_own_room(action) for action in turn.outbox]
        changed = profile_changed(turn.profile, written)  # most events change none
        changes = turn_changes(turn, event_key, timer_id)
        if not turn.forget and changed is not None:
            changes.profiles[(self.community, turn.member.key)] = changed
        try:
            items = services.store.apply(changes, sync_later=self.group_sync is not None)
        except Exception:
            self._cache.pop((self.community, event.member.key), None)
            raise
        if items is None:
            self._cache.pop((self.community, event.member.key), None)
            return None
        if turn.forget:
            self._erase.add(turn.member.key)
            self._cache.pop((self.community, turn.member.key), None)
        else:
            now_written = changed if changed is not None else written
            assert now_written is not None  # (a profile never written is changed)
            self._remember(turn.member.key, turn.conversation, turn.profile, now_written)
        if turn.timers:
            self.timers.wakeup.set()
            if any(t.due_at <= turn.now for t in turn.timers):
                self.timers.signalled = True
        return items

    def _new_turn(self, event: Event, now: datetime, locale: str, translator: Translator) -> Turn:
        """A turn on the member's conversation and profile as the engine holds them."""
        conversation, profile, written = self._load(event.member)
        return Turn(
            event,
            now,
            self.services,
            conversation,
            profile,
            locale,
            translator,
            stored_profile=written,
        )

    def _to_own_room(self, action: Action) -> Action:
        """In a deployment of many communities, a notice to moderators goes to this
        community's own moderators' room, never to a room a platform keeps for all; a
        role is given or taken within this community's spaces only."""
        if isinstance(action, GrantRole | RevokeRole):
            return replace(action, within=self.services.config.own_spaces(action.member.platform))
        if not isinstance(action, NotifyModerators):
            return action
        platform, room = self.services.config.moderators.room_for(action.platform)
        return Say(Place(platform, PlaceKind.CHANNEL, room), action.text)

    def _default_translator(self) -> Translator:
        # Looked up once: negotiating the locale on every event showed in profiles.
        if self._translator is None:
            services = self.services
            self._translator = services.catalogs.translator(services.config.default_language)
        return self._translator

    async def _run_middlewares(self, turn: Turn) -> None:
        # The chain is made again only when the middlewares changed (tests add some).
        wanted = tuple(self.middlewares)
        if self._chain is None or self._chain[0] != wanted:
            chain: Handler = self._core
            for middleware in reversed(wanted):
                chain = _wrap(middleware, chain)
            self._chain = (wanted, chain)
        await self._chain[1](turn)

    async def _core(self, turn: Turn) -> None:
        route(turn, self.commands, self.command_aliases)
        if not turn.forget:
            for after in self.services.features.after_turn:
                after(turn)

    def _load(self, member: MemberRef) -> tuple[Conversation, Profile, dict[str, Any] | None]:
        """The member's conversation and profile, and the profile as last written."""
        cached = self._cache.get((self.community, member.key))
        if cached is not None:
            self._cache.move_to_end((self.community, member.key))
            return cached
        state, stored_profile = self.services.store.load_member(self.community, member.key)
        conversation = (
            conversation_from_dict(self.community, state)
            if state
            else Conversation(self.community, member)
        )
        profile = profile_from_dict(stored_profile) if stored_profile else Profile(member.name)
        return conversation, profile, stored_profile

    def waits_in(self, member: MemberRef, place: Place) -> bool:
        """Whether a flow of this community waits for the member's answer there."""
        conversation, _, _ = self._load(member)
        return conversation.active_in(place) is not None

    def _remember(
        self, key: str, conversation: Conversation, profile: Profile, written: dict[str, Any]
    ) -> None:
        self._cache[(self.community, key)] = (conversation, profile, written)
        self._cache.move_to_end((self.community, key))
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    # Delivery: see bot/engine/delivery.py -------------------------------------------------

    def add_adapter(self, adapter: Adapter, *, ready: bool = True) -> None:
        """With ``ready=False`` nothing is delivered to the adapter until it calls
        ``platform_ready`` (through ``AdapterHost.ready``) once it has connected."""
        self.outbox.add_adapter(adapter, ready=ready)
        self.services.capabilities[adapter.platform] = adapter.capabilities

    def platform_ready(self, platform: str) -> None:
        self.outbox.platform_ready(platform)

    async def flush_outbox(self) -> int:
        return await self.outbox.flush()

    async def retry_outbox(self, every: timedelta = timedelta(seconds=15)) -> None:
        await self.outbox.retry_forever(every)

    # Timers ---------------------------------------------------------------------------

    async def fire_due_timers(self) -> int:
        """Handle every timer due now (of every community of the process)."""
        return await self.timers.fire_due()

    def housekeeping(self) -> int:
        """The retention policy and the pruning of delivered messages, once a day."""
        return self.timers.housekeeping()

    async def run_timers(self, poll: timedelta = timedelta(seconds=60)) -> None:
        """Sleep until the next timer is due (or a new one is set), fire, repeat."""
        await self.timers.run(poll)

    def schedule_reacknowledgements(self) -> int:
        """Members who acknowledged an older code of conduct are asked again."""
        services = self.services
        members = services.store.members_to_reacknowledge(self.community, services.coc.version)
        if members:
            now = services.clock.now()
            services.store.apply(
                Changes(
                    at=now,
                    timers=[
                        (self.community, ScheduleTimer(m, "reacknowledge", now)) for m in members
                    ],
                )
            )
            self.timers.wakeup.set()
        return len(members)


def inbox_key(community: str, event: Event) -> str:
    """The key under which the store remembers an event handled in a community."""
    return f"{community}|{event.member.platform}|{event.event_id}"


def _wrap(middleware: Middleware, call_next: Handler) -> Handler:
    async def wrapped(turn: Turn) -> None:
        await middleware(turn, call_next)

    return wrapped
