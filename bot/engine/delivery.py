"""Delivering committed actions to the platforms, in order, at least once.

Every action is in the outbox (committed with the event that caused it) before it is
delivered; a failure leaves it there, and later actions to the same place wait behind
it so a member never reads replies out of order (a flush sends each place's actions in
order, places side by side).

On a store several processes share, a platform whose adapter names a
``sender_lease`` (Telegram: its limits are the bot token's) is delivered by one
process at a time, the one holding that lease (``bot.engine.leases``): it paces every
message of the token, and the others leave their actions in the outbox for it. It
looks for them every ``SENDER_LOOKS`` seconds.

An adapter may also name ``delivers_for`` (a set of community ids): on a shared store
this process delivers that platform's actions of those communities only, and leaves
the others' to the process that can (Discord: the one whose shards carry the
community's servers). It never takes them from the outbox, so they neither fail here
nor hold back its own; and it looks for its own every ``SENDER_LOOKS`` seconds, since
another process may commit them (a direct message reaches the process of shard 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextvars import ContextVar
from datetime import timedelta
from typing import Protocol

from bot.core.actions import Action, Ask, Capabilities, Say, action_platform
from bot.core.clock import Clock
from bot.core.errors import DeliveryError, StoreUnavailable, Undeliverable
from bot.core.events import MemberRef, Place, PlaceKind
from bot.engine.leases import Leases
from bot.engine.observe import NoObserver, Observer
from bot.engine.outage import Outage
from bot.store.protocol import DeliveryStore
from bot.store.types import OutboxItem

log = logging.getLogger(__name__)
MAX_ATTEMPTS_ON_BUG = 3
SENDER_LOOKS = 0.2
# Sent marks not carried by a commit within this many seconds are written on their
# own. Sooner, a busy engine (many events in flight, the loop never idle for long)
# would pay a commit of its own for most events' marks.
MARKS_WAIT = 0.05
# The community of the action an adapter is delivering: one whose platform spaces are
# per community (Discord servers) acts in that community's own (``AdapterHost.spaces_of``).
DELIVERING: ContextVar[str] = ContextVar("delivering", default="")


class Adapter(Protocol):
    """What the engine needs from a platform adapter."""

    platform: str
    capabilities: Capabilities

    async def deliver(self, action: Action, idempotency_key: str) -> None:
        """Deliver one action or raise DeliveryError; it stays in the outbox until then.
        An action no retry can deliver raises Undeliverable, with the reason.

        ``idempotency_key`` names the outbox row: the same action delivered again (a
        retry, or after a crash before it was marked sent) gets the same key, and two
        rows of one database never share one. A platform that takes an idempotency key
        (a Matrix transaction id, a Discord nonce) sends it, so an action delivered just
        before a crash is not shown twice. Keys start again in a new database: a platform
        that remembers keys longer puts its per-database tag (``host.database_tag``)
        before it.

        An adapter may also name ``sender_lease`` (a str): the scope of its platform's
        rate limits, such as its bot token; on a shared store one process at a time
        delivers for it (see the module's docstring). And ``delivers_for`` (a set of
        community ids, or None for all): the communities whose actions on its platform
        this process can deliver (see the module's docstring)."""
        ...


class Outbox:
    def __init__(
        self,
        store: DeliveryStore,
        clock: Clock,
        *,
        shared: bool = False,
        outage: Outage | None = None,
    ) -> None:
        """``shared``: other processes deliver from the same store (PostgreSQL). Then
        an action for a platform this process does not run is left to one that does,
        and the retry loop also takes up, every round, what a process that died left
        undelivered."""
        self.store = store
        self.clock = clock
        self.shared = shared
        self.adapters: dict[str, Adapter] = {}
        self._wakeup = asyncio.Event()
        self._flushing = asyncio.Lock()  # one flush at a time, or an action goes out twice
        self._backlog = False
        self._not_ready: set[str] = set()  # platforms whose adapter is still connecting
        self._marks_flush_scheduled = False
        self.observer: Observer = NoObserver()
        self.outage = outage or Outage()
        self.leases = Leases(store, shared=shared)
        self.leases.taken.append(lambda name: self._wakeup.set())
        self._senders: dict[str, str] = {}  # platform -> the lease of its one sender
        # Rows an event's own delivery holds: a flush leaves them (and what follows
        # them to the same recipient) to it, or one action would go out twice.
        self._in_hand: set[int] = set()
        self._only: dict[str, frozenset[str]] = {}  # platform -> communities delivered here

    def add_adapter(self, adapter: Adapter, *, ready: bool = True) -> None:
        self.adapters[adapter.platform] = adapter
        if not ready:
            self._not_ready.add(adapter.platform)
        scope = getattr(adapter, "sender_lease", None)
        if self.shared and isinstance(scope, str):
            self._senders[adapter.platform] = f"send:{scope}"
            self.leases.holds(self._senders[adapter.platform])  # asked for from now on
        communities = getattr(adapter, "delivers_for", None)
        if self.shared and communities is not None:
            self._only[adapter.platform] = frozenset(communities)

    def _sends(self, platform: str, community: str | None = None) -> bool:
        """Whether this process delivers the platform's actions now (of ``community``,
        when given): it runs the platform, for that community, and, where one process
        sends for its rate limits, is that one."""
        lease = self._senders.get(platform)
        if community is not None and community not in self._only.get(platform, {community}):
            return False
        return platform in self.adapters and (lease is None or self.leases.holds(lease))

    def platform_ready(self, platform: str) -> None:
        """The platform's adapter can deliver now: what waited for it goes out at once
        (by ``retry_forever``)."""
        if platform in self._not_ready:
            self._not_ready.discard(platform)
            self._backlog = True
        if self._backlog:  # also when it connects again: what waits goes now, not later
            self._wakeup.set()

    async def deliver_new(self, items: list[OutboxItem], at_once: bool = False) -> None:
        """An event's actions, just committed: after anything still waiting, in order.
        ``at_once``: delivered here and now even where one process sends for the
        platform (the answer to ``/forget``, after which what was delivered is erased).

        Their sent marks ride with the next commit (or go on their own, ``MARKS_WAIT``
        later): what a crash sends again is what was delivered since the last commit,
        for each member at most their last event's actions (a member's next event
        commits before its actions go)."""
        try:
            if at_once and self._senders:  # (without one-sender platforms, as always)
                if not await self._deliver_in_hand(items, at_once=True):
                    self._backlog = True
                return
            items = self._leave_to_sender(items)
            if self._backlog:
                await self.flush()
            elif not await self._deliver_in_hand(items):
                self._backlog = True
                self._report_backlog()
        except StoreUnavailable:
            # Committed, so not lost: the retry loop delivers it once the database is back.
            self._backlog = True
            self._wakeup.set()

    def drop_replies_to(self, member: MemberRef, keep: list[OutboxItem]) -> None:
        """Before ``/forget`` is answered: what still waits to be said to the member in
        direct messages (for this process's retry, or another process's sender) never
        goes out; it would come after the answer that all is erased, and leave a record
        of itself behind. Not what is done to them (a role, a restriction lifted)."""
        direct = Place.direct(member)

        def to_them(action: Action) -> bool:
            return isinstance(action, Say | Ask) and action.to == direct

        kept = [item.id for item in keep]
        if self.store.drop_waiting(member.platform, to_them, kept):
            log.info("replies waiting for a member who erased their data were dropped")

    def _leave_to_sender(self, items: list[OutboxItem]) -> list[OutboxItem]:
        """Actions for a platform one process sends for go out from that process's
        ``flush`` only, in the outbox's order (from this process's own, if it is the
        one): released before anything is awaited, so no later action of a member is
        free before them. The rest, to deliver here."""
        here = []
        for item in items:
            if action_platform(item.action) in self._senders:
                self.store.release(item.id)
                self._wakeup.set()
            else:
                here.append(item)
        return here

    async def _deliver_in_hand(self, items: list[OutboxItem], at_once: bool = False) -> bool:
        """``_deliver``, with the rows marked as this delivery's until it ends."""
        ids = {item.id for item in items}
        self._in_hand |= ids
        try:
            return await self._deliver(items, at_once)
        finally:
            self._in_hand -= ids
            if self._backlog:  # a flush may have left some of them behind it
                self._wakeup.set()

    def _report_backlog(self) -> None:
        """How many actions wait, per platform (counted, not claimed: on a shared store
        what another process delivers stays its own)."""
        waiting = self.store.waiting()
        for platform in {*self.adapters, *waiting}:
            self.observer.outbox_backlog(platform, waiting.get(platform, 0))

    async def _deliver(self, items: list[OutboxItem], at_once: bool = False) -> bool:
        """Deliver in order; stop at the first failure so order is kept on retry."""
        store = self.store
        for item in items:
            platform = action_platform(item.action)
            adapter = self.adapters.get(platform)
            sends = self._sends(platform, item.community) or (at_once and adapter is not None)
            if self.shared and not sends:
                store.release(item.id)  # another process runs that platform, or sends
                continue
            if adapter is None:
                # Nothing here can ever deliver it (a mentor on a platform that is not
                # running, say): set it aside rather than block everything after it.
                log.error("no adapter for %s; setting an action aside", platform)
                self.observer.undeliverable(platform)
                store.mark_dead(item.id, "no adapter for this platform", self.clock.now())
                continue
            if platform in self._not_ready:
                # Still connecting: not a failure. It goes out, in order, when the adapter
                # says it is ready.
                return False
            try:
                await _send(adapter, item)
            except DeliveryError as exc:
                # Reasons may name a member (a chat or user id): at debug level only;
                # the outbox row keeps them.
                kind = type(item.action).__name__
                log.warning("delivery of %s on %s failed, will retry", kind, platform)
                log.debug("delivery failed: %s", exc)
                self.observer.delivery_retried(platform)
                store.mark_failed(item.id, str(exc))
                return False
            except Undeliverable as exc:
                kind = type(item.action).__name__
                log.error("undeliverable %s on %s, set aside", kind, platform)
                log.debug("undeliverable: %s", exc)
                self.observer.undeliverable(platform)
                store.mark_dead(item.id, str(exc), self.clock.now())
                continue
            except Exception as exc:
                # An adapter bug must not take the engine down, nor block every later
                # message: retried a few times, then set aside with the error recorded.
                log.error("adapter %s failed to deliver: %s", platform, type(exc).__name__)
                log.debug("the adapter's failure", exc_info=True)
                error = f"{type(exc).__name__}: {exc}"
                if item.attempts + 1 >= MAX_ATTEMPTS_ON_BUG:
                    self.observer.undeliverable(platform)
                    store.mark_dead(item.id, error, self.clock.now())
                    continue
                self.observer.delivery_retried(platform)
                store.mark_failed(item.id, error)
                return False
            store.mark_sent_later(item.id, self.clock.now())
            self._flush_marks_when_idle()
        return True

    def _flush_marks_when_idle(self) -> None:
        """The marks of the last delivery ride along with the next event's commit;
        if none comes soon (``MARKS_WAIT``), they are written on their own."""
        if not self._marks_flush_scheduled:
            self._marks_flush_scheduled = True
            asyncio.get_running_loop().call_later(MARKS_WAIT, self._flush_marks)

    def _flush_marks(self) -> None:
        self._marks_flush_scheduled = False
        try:
            self.store.flush_marks()
        except StoreUnavailable:  # kept for the next write (the outage is logged once)
            pass
        except Exception:  # kept for the next write; delivered again at worst
            log.exception("could not write sent marks")

    async def flush(self) -> int:
        """Deliver, in order, what was committed but not delivered: after a crash, or
        after a platform failed. Returns how many actions went out."""
        delivered = 0
        async with self._flushing:
            while True:
                pending = self.store.pending_outbox(
                    platforms=self._served(), communities=self._only or None
                )
                lanes, left = self._lanes(pending)
                if not lanes:
                    break
                results = await asyncio.gather(*(self._deliver_lane(i) for i in lanes.values()))
                delivered += sum(count for count, _ in results)
                if not all(ok for _, ok in results):
                    self._backlog = True
                    self._report_backlog()
                    return delivered
            # Left behind an event's own delivery: looked at again when it ends.
            self._backlog = left
            self._report_backlog()
        return delivered

    def _lanes(self, pending: list[OutboxItem]) -> tuple[dict[object, list[OutboxItem]], bool]:
        """Pending rows by recipient, without those an event's own delivery holds and
        anything after them to the same recipient; and whether any row was left so."""
        lanes: dict[object, list[OutboxItem]] = {}
        held: set[object] = set()
        left = False
        for item in pending:
            lane = _lane(item.action)
            if item.id in self._in_hand:
                held.add(lane)
            elif lane in held:
                left = True
            else:
                lanes.setdefault(lane, []).append(item)
        return lanes, left

    async def _deliver_lane(self, items: list[OutboxItem]) -> tuple[int, bool]:
        """One recipient's actions in order, up to the first failure: how many went."""
        for count, item in enumerate(items):
            # No commit carries the marks of what a flush delivers: each is written
            # before the next goes, so a crash sends at most one of them again.
            self.store.flush_marks()
            if not await self._deliver([item]):
                return count, False
        return len(items), True

    def _served(self) -> set[str] | None:
        """On a shared store, only the platforms this process delivers to."""
        return {p for p in self.adapters if self._sends(p)} if self.shared else None

    async def retry_forever(self, every: timedelta = timedelta(seconds=15)) -> None:
        """Keep retrying undelivered actions while a platform is failing; deliver at
        once when a platform becomes ready."""
        while True:
            wait = every.total_seconds()
            if not self._backlog and (
                any(map(self.leases.holds, self._senders.values())) or self._only
            ):
                # The others' actions wait for this one, or other processes commit
                # actions only this one delivers (after a failure, the usual pause).
                wait = min(wait, SENDER_LOOKS)
            # asyncio.timeout, not wait_for (see Engine.run_timers).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wakeup.wait()
            self._wakeup.clear()  # a platform ready during the flush wakes it again
            while self._backlog or self.shared:
                try:
                    await self.flush()
                except StoreUnavailable as exc:
                    self._backlog = True
                    await self.outage.wait(exc)
                    continue
                self.outage.over()
                break


async def _send(adapter: Adapter, item: OutboxItem) -> None:
    """One action to its adapter, which may read the community it is for (DELIVERING)."""
    delivering = DELIVERING.set(item.community)
    try:
        await adapter.deliver(item.action, str(item.id))
    finally:
        DELIVERING.reset(delivering)


def _lane(action: Action) -> tuple[str, object]:
    """Where an action goes: a member (their direct messages and what is done to them,
    such as a role, share one lane, so a welcome never overtakes the role it announces),
    or another place. The actions of one lane go out in the outbox's order; lanes go
    out side by side, so a chat its rate limit holds back does not hold back others."""
    to, member = getattr(action, "to", None), getattr(action, "member", None)
    if isinstance(to, Place) and to.kind == PlaceKind.DIRECT:
        return action_platform(action), ("member", to.id)
    if isinstance(member, MemberRef):
        return action_platform(action), ("member", member.id)
    return action_platform(action), to or member
