"""What the engine, delivery and features need from a store, as Protocols.

``Store`` is the contract every backend keeps (tests/test_store_contract.py runs
against each): an event seen once, a turn committed in one call, delivery's
bookkeeping, timers, adapters' records and erasure. ``ServiceStore`` adds what
features and housekeeping read and do besides; ``CaseStore`` reads case records
(their writes travel in the turn, ``bot.store.writes``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any, Protocol

from bot.core.actions import Action
from bot.core.events import MemberRef
from bot.store.cases import Case, CaseText
from bot.store.links import LinkStore
from bot.store.types import Changes, MemberRows, OutboxItem, TimerRow
from bot.store.writes import AddCaseText


class DeliveryStore(Protocol):
    """The outbox as delivery sees it (``bot.engine.delivery.Outbox``)."""

    def pending_outbox(
        self,
        limit: int = 500,
        platforms: Collection[str] | None = None,
        communities: Mapping[str, Collection[str]] | None = None,
    ) -> list[OutboxItem]:
        """Committed actions not delivered yet, oldest first (only those for
        ``platforms`` when given; for a platform ``communities`` names, only those of
        the communities it gives). On a store other processes share: only those no
        other process is delivering, now claimed by this one."""
        ...

    def waiting(self) -> dict[str, int]:
        """How many actions wait to be delivered, per platform: counted only, claiming
        none (for operators' metrics)."""
        ...

    def release(self, outbox_id: int) -> None:
        """A claimed action this process will not deliver (no adapter for its platform
        here): another process may take it."""
        ...

    def drop_waiting(
        self, platform: str, unwanted: Callable[[Action], bool], keep: Collection[int] = ()
    ) -> int:
        """Actions waiting for ``platform`` that ``unwanted`` picks (but those in
        ``keep``) never go out: removed, whichever process would have delivered them
        (one already being sent goes). How many; for ``/forget``."""
        ...

    def mark_sent_later(self, outbox_id: int, at: datetime) -> None:
        """Delivered: written with the next commit or ``flush_marks``; the row goes
        (its id is never given again)."""
        ...

    def flush_marks(self) -> None: ...

    def mark_failed(self, outbox_id: int, error: str) -> None:
        """A failure worth retrying: the action stays pending."""
        ...

    def mark_dead(self, outbox_id: int, error: str, at: datetime) -> None:
        """Undeliverable: set aside without its text, with the reason, and counted."""
        ...

    def hold_lease(self, name: str, holder: str, seconds: float) -> bool:
        """Take the lease ``name`` for ``seconds`` (by the database's clock) when it is
        free, expired or ``holder``'s already (then it is renewed): True when
        ``holder`` holds it now. ``bot.engine.leases`` keeps them."""
        ...

    def release_lease(self, name: str, holder: str) -> None:
        """``holder`` lets the lease go (another may take it at once); nothing when
        someone else holds it."""
        ...

    def lease_holder(self, name: str) -> str | None:
        """Who holds the lease ``name`` now (None when free or expired)."""
        ...


class Store(DeliveryStore, Protocol):
    """One turn in, its actions out: the contract of every backend."""

    def seen(self, event_key: str) -> bool: ...

    def load_conversation(self, community: str, member: str) -> dict[str, Any] | None: ...

    def load_profile(self, community: str, member: str) -> dict[str, Any] | None:
        """The member's profile with every field, as ``profile_to_dict`` makes it (its
        fields at their defaults are not stored: ``bot.core.state.profile_to_stored``)."""
        ...

    def load_member(self, community: str, member: str) -> MemberRows:
        """``load_conversation`` and ``load_profile`` together (one read, where the
        backend can)."""
        ...

    def communities_of(self, member: str) -> list[str]:
        """The communities where ``member`` (a member key) has a profile, by id."""
        ...

    def apply(self, changes: Changes, *, sync_later: bool = False) -> list[OutboxItem] | None:
        """Commit everything one turn caused, all or nothing. None (and nothing
        written) when its event was committed before."""
        ...

    def mark_sent(self, outbox_id: int, at: datetime) -> None: ...

    def undeliverable(self) -> dict[str, int]:
        """How many actions were set aside, per platform."""
        ...

    def undeliverable_reasons(self, limit: int = 100) -> list[tuple[int, str, str]]: ...

    def due_timers(self, now: datetime, limit: int = 500) -> list[TimerRow]: ...

    def next_timer_due(self) -> datetime | None: ...

    def delete_timer(self, timer_id: int) -> None: ...

    def cursor(self, name: str) -> str | None: ...

    def set_cursor(self, name: str, position: str) -> None: ...

    def member_record(
        self, platform: str, member_id: str, name: str, now: datetime | None = None
    ) -> str | None:
        """The record, unless it ended (``keep_until``) before ``now`` (by default,
        the present)."""
        ...

    def set_member_record(
        self,
        platform: str,
        member_id: str,
        name: str,
        value: str,
        keep_until: datetime | None = None,
    ) -> None: ...

    def set_member_record_later(
        self,
        platform: str,
        member_id: str,
        name: str,
        value: str,
        keep_until: datetime | None = None,
    ) -> None:
        """A record of what was just delivered (a sent message's id): read back at once,
        written with that delivery's sent mark, at the latest (bot.store.record_sql)."""
        ...

    def drop_expired_records(self, now: datetime) -> int:
        """Delete the member records that ended by ``now``; how many."""
        ...

    def write_held_records(self) -> None:
        """Records held with ``set_member_record_later``, written now."""
        ...

    def erase_delivered(self, platform: str, member_id: str) -> None:
        """After ``/forget`` was answered: no delivered message and no adapter record
        of that member stays."""
        ...

    @property
    def shared(self) -> bool:
        """Whether other processes write to this store too (PostgreSQL): then a turn
        claims its member first and reads the member's state from the store, never
        from a copy in memory."""
        ...

    def claim_member(self, community: str, member: str, event_key: str | None = None) -> bool:
        """Take the member for one turn, if no other process has them: True when taken
        (always, for a store of one process). A shared store reads whether the event
        ``event_key`` was handled with the claim, and ``seen`` answers from that."""
        ...

    def release_member(self, community: str, member: str) -> None:
        """The turn is committed: another process may take the member."""
        ...

    def close(self) -> None: ...


class CaseStore(Protocol):
    """Case records (mediations, reports, appeals) as features read them."""

    def add_text(
        self, case_id: int, author: str, kind: str, text: str, shared: bool, now: datetime
    ) -> AddCaseText: ...

    def load(self, community: str, case_id: int) -> Case | None: ...

    def find(self, community: str, kind: str, number: int) -> Case | None: ...

    def by_space(self, community: str, space: str) -> Case | None: ...

    def of_member(self, community: str, member: str) -> list[Case]: ...

    def listing(self, community: str, kind: str) -> list[Case]: ...

    def mediator_load(self, community: str, mediator: str) -> int: ...

    def texts(self, case_id: int) -> list[CaseText]: ...

    def audit(self, case_id: int) -> list[tuple[datetime, str, str, str]]: ...

    def invitations_since(
        self,
        community: str,
        since: datetime,
        *,
        requester: str | None = None,
        target: str | None = None,
    ) -> int: ...

    def refused(self, community: str, requester: str, target: str, since: datetime) -> bool: ...

    def peek_numbers(self, community: str, kind: str) -> tuple[int, int]:
        """The id and number the next case of ``kind`` would take, as committed now;
        the turn's commit claims them (``ClaimCaseNumbers``), or fails with
        ``Conflict`` when another commit took them first."""
        ...


class ServiceStore(Store, Protocol):
    """The store the engine's services hold: the contract, plus what features read,
    housekeeping, and strict durability's group sync."""

    @property
    def path(self) -> str:
        """Where the store keeps its files (adapters keep theirs beside it)."""
        ...

    @property
    def durable(self) -> bool: ...

    @property
    def cases(self) -> CaseStore: ...

    @property
    def links(self) -> LinkStore: ...

    def sync_log(self) -> None: ...

    def end_batch(self) -> None:
        """Before a group sync: commit what strict mode holds open (a store without
        group syncs holds nothing)."""
        ...

    def count_mentees(self, community: str, mentor: str) -> int: ...

    def acknowledgements(self, community: str, member: str) -> list[tuple[str, datetime]]: ...

    def audit_log(self, community: str) -> list[dict[str, str]]: ...

    def health_counts(self, community: str, since: str) -> list[tuple[str, str, str, str, int]]:
        """Daily health counts from the day ``since`` (``2026-01-05``) on, as
        (day, metric, platform, language, count), in that order."""
        ...

    def health_count_rows(self, community: str, since: str) -> int:
        """How many rows ``health_counts`` would return: what reading them will take."""
        ...

    def members_to_reacknowledge(self, community: str, version: str) -> list[MemberRef]: ...

    def purge(self, community: str, before: datetime) -> int: ...

    def prune(self, before: datetime) -> None: ...
