"""A store in memory: every store Protocol without a file, for tests and benchmarks.

It keeps what SQLite keeps, as JSON text where SQLite does (so nothing a caller
changes afterwards changes what was committed), case records included. A commit
works on copies of the tables and swaps them in only at its end, so an exception
anywhere in it leaves nothing of the turn. Nothing is sealed: nothing is at rest.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.core.actions import Action, action_from_json, action_platform, action_to_json
from bot.core.events import MemberRef
from bot.core.state import profile_from_stored, profile_to_stored
from bot.store.memory_cases import MemoryCases, apply_case_write, purge_cases
from bot.store.memory_links import MemoryLinks, apply_link_write, forget_links, prune_link_codes
from bot.store.memory_tables import Audit, Outgoing, Tables, Timer
from bot.store.outbox import UNDELIVERABLE
from bot.store.privacy import ERASED, mentions
from bot.store.protocol import ServiceStore
from bot.store.types import Changes, MemberRows, OutboxItem, TimerRow, iso, parse_iso, seen_day
from bot.store.writes import AddCount, ForgetMember


class MemoryStore:
    """Every store Protocol in memory. Not thread-safe, like the SQLite store."""

    path = ":memory:"
    durable = False
    shared = False  # one process writes to it

    def __init__(self) -> None:
        self._t = Tables()
        self.cases = MemoryCases(lambda: self._t)
        self.links = MemoryLinks(lambda: self._t)
        self._leases: dict[str, tuple[str, float]] = {}  # name -> (holder, expires at)

    def claim_member(self, community: str, member: str, event_key: str | None = None) -> bool:
        return True

    def release_member(self, community: str, member: str) -> None:
        """Nothing to release: no other process writes to this store."""

    def release(self, outbox_id: int) -> None:
        """Nothing to release: no other process delivers from this store."""

    def drop_waiting(
        self, platform: str, unwanted: Callable[[Action], bool], keep: Collection[int] = ()
    ) -> int:
        dropped = [
            row_id
            for row_id, row in self._t.outbox.items()
            if row.sent_at is None
            and row.platform == platform
            and row_id not in keep
            and unwanted(action_from_json(row.action))
        ]
        for row_id in dropped:
            del self._t.outbox[row_id]
        return len(dropped)

    def hold_lease(self, name: str, holder: str, seconds: float) -> bool:
        now = time.time()
        taken = self._leases.get(name)
        if taken is not None and taken[0] != holder and taken[1] >= now:
            return False
        self._leases[name] = (holder, now + seconds)
        return True

    def release_lease(self, name: str, holder: str) -> None:
        if self._leases.get(name, ("", 0.0))[0] == holder:
            del self._leases[name]

    def lease_holder(self, name: str) -> str | None:
        taken = self._leases.get(name)
        return taken[0] if taken is not None and taken[1] >= time.time() else None

    # Reads --------------------------------------------------------------------------

    def seen(self, event_key: str) -> bool:
        return event_key in self._t.inbox

    def load_conversation(self, community: str, member: str) -> dict[str, Any] | None:
        row = self._t.conversations.get((community, member))
        return json.loads(row[0]) if row else None

    def load_profile(self, community: str, member: str) -> dict[str, Any] | None:
        row = self._t.profiles.get((community, member))
        return profile_from_stored(json.loads(row)) if row else None

    def load_member(self, community: str, member: str) -> MemberRows:
        return self.load_conversation(community, member), self.load_profile(community, member)

    def communities_of(self, member: str) -> list[str]:
        return sorted(c for (c, m) in self._t.profiles if m == member)

    def pending_outbox(
        self,
        limit: int = 500,
        platforms: Collection[str] | None = None,
        communities: Mapping[str, Collection[str]] | None = None,
    ) -> list[OutboxItem]:
        only = communities or {}
        pending = [
            (i, row)
            for i, row in sorted(self._t.outbox.items())
            if row.sent_at is None
            and (platforms is None or row.platform in platforms)
            and (row.platform not in only or row.community in only[row.platform])
        ]
        return [
            OutboxItem(i, row.community, action_from_json(row.action), row.attempts)
            for i, row in pending[:limit]
        ]

    def waiting(self) -> dict[str, int]:
        return dict(Counter(r.platform for r in self._t.outbox.values() if r.sent_at is None))

    def due_timers(self, now: datetime, limit: int = 500) -> list[TimerRow]:
        due = sorted((t.due_at, i, t) for i, t in self._t.timers.items() if t.due_at <= iso(now))
        return [
            TimerRow(i, t.community, t.ref, t.kind, parse_iso(t.due_at), t.payload)
            for _, i, t in due[:limit]
        ]

    def next_timer_due(self) -> datetime | None:
        dues = [t.due_at for t in self._t.timers.values()]
        return parse_iso(min(dues)) if dues else None

    def cursor(self, name: str) -> str | None:
        return self._t.cursors.get(name)

    def member_record(
        self, platform: str, member_id: str, name: str, now: datetime | None = None
    ) -> str | None:
        return self._t.member_record((platform, member_id, name), now)

    def undeliverable(self) -> dict[str, int]:
        prefix = "undeliverable:"
        return {
            name[len(prefix) :]: value
            for name, value in self._t.counters.items()
            if name.startswith(prefix)
        }

    def undeliverable_reasons(self, limit: int = 100) -> list[tuple[int, str, str]]:
        found = [
            (i, row.platform, row.last_error[len(UNDELIVERABLE) :])
            for i, row in sorted(self._t.outbox.items(), reverse=True)
            if row.sent_at is not None
            and row.last_error is not None
            and row.last_error.startswith(UNDELIVERABLE)
        ]
        return found[:limit]

    def count_mentees(self, community: str, mentor: str) -> int:
        return sum(1 for (c, _), m in self._t.mentorships.items() if c == community and m == mentor)

    def acknowledgements(self, community: str, member: str) -> list[tuple[str, datetime]]:
        return [
            (version, parse_iso(at))
            for (c, m, version), at in self._t.acknowledgements.items()
            if (c, m) == (community, member)
        ]

    def audit_log(self, community: str) -> list[dict[str, str]]:
        return [
            {
                "at": a.at,
                "actor": a.actor,
                "action": a.action,
                "subject": a.subject,
                "detail": a.detail,
            }
            for a in self._t.audit
            if a.community == community
        ]

    def members_to_reacknowledge(self, community: str, version: str) -> list[MemberRef]:
        latest: dict[str, str] = {}
        for c, member, acknowledged in self._t.acknowledgements:
            if c == community:
                latest.pop(member, None)  # ordered by the latest acknowledgement
                latest[member] = acknowledged
        members = []
        for key, acknowledged in latest.items():
            if acknowledged != version:
                platform, _, member_id = key.partition(":")
                members.append(MemberRef(platform, member_id))
        return members

    def health_counts(self, community: str, since: str) -> list[tuple[str, str, str, str, int]]:
        return sorted(
            (day, metric, platform, language, n)
            for (c, day, metric, platform, language), n in self._t.health.items()
            if c == community and day >= since
        )

    def health_count_rows(self, community: str, since: str) -> int:
        return sum(1 for c, day, *_ in self._t.health if c == community and day >= since)

    # Writes -------------------------------------------------------------------------

    def apply(self, changes: Changes, *, sync_later: bool = False) -> list[OutboxItem] | None:
        if changes.event_key is not None and changes.event_key in self._t.inbox:
            return None
        tables = self._t.copy()
        now = iso(changes.at)
        if changes.event_key is not None:
            tables.inbox[changes.event_key] = seen_day(now)
        _write_state(tables, changes, now)
        _write_timers(tables, changes)
        items = []
        for community, action in changes.outbox:
            outbox_id = tables.new_id()
            row = Outgoing(community, action_platform(action), action_to_json(action), now)
            tables.outbox[outbox_id] = row
            items.append(OutboxItem(outbox_id, community, action, 0))
        for write in changes.writes:
            if isinstance(write, ForgetMember):
                _forget(tables, write)
                forget_links(tables, write.community, write.key)
            elif isinstance(write, AddCount):
                key = (write.community, write.day, write.metric, write.platform, write.language)
                tables.health[key] = tables.health.get(key, 0) + write.n
            apply_case_write(tables, write)
            apply_link_write(tables, write)
        tables.cursors.update(changes.cursors)
        self._t = tables  # the commit: all of it, at once
        return items

    def mark_sent(self, outbox_id: int, at: datetime) -> None:
        self._t.outbox.pop(outbox_id, None)  # a delivered action leaves nothing behind

    def mark_sent_later(self, outbox_id: int, at: datetime) -> None:
        self.mark_sent(outbox_id, at)

    def flush_marks(self) -> None:
        pass

    def mark_failed(self, outbox_id: int, error: str) -> None:
        row = self._t.outbox.get(outbox_id)
        if row is not None:
            self._t.outbox[outbox_id] = replace(
                row, attempts=row.attempts + 1, last_error=error[:500]
            )

    def mark_dead(self, outbox_id: int, error: str, at: datetime) -> None:
        row = self._t.outbox.get(outbox_id)
        if row is None:
            return
        self._t.outbox[outbox_id] = replace(
            row,
            sent_at=iso(at),
            action="",
            attempts=row.attempts + 1,
            last_error=f"{UNDELIVERABLE}{error}"[:500],
        )
        name = f"undeliverable:{row.platform}"
        self._t.counters[name] = self._t.counters.get(name, 0) + 1

    def delete_timer(self, timer_id: int) -> None:
        self._t.timers.pop(timer_id, None)

    def set_cursor(self, name: str, position: str) -> None:
        self._t.cursors[name] = position

    def set_member_record(
        self,
        platform: str,
        member_id: str,
        name: str,
        value: str,
        keep_until: datetime | None = None,
    ) -> None:
        self._t.set_member_record((platform, member_id, name), value, keep_until)

    # A mark is at once here: so is the record of its delivery.
    set_member_record_later = set_member_record

    def drop_expired_records(self, now: datetime) -> int:
        return self._t.drop_expired_records(now)

    def write_held_records(self) -> None:
        pass  # none is held

    def erase_delivered(self, platform: str, member_id: str) -> None:
        tables = self._t
        tables.outbox = {i: r for i, r in tables.outbox.items() if r.sent_at is None}
        tables.member_records = {
            k: v for k, v in tables.member_records.items() if k[:2] != (platform, member_id)
        }

    def purge(self, community: str, before: datetime) -> int:
        old = [
            key
            for key, (_, updated) in self._t.conversations.items()
            if key[0] == community and updated < iso(before)
        ]
        for key in old:
            del self._t.conversations[key]
        return purge_cases(self._t, community, before) + len(old)

    def prune(self, before: datetime) -> None:
        cutoff = iso(before)
        tables = self._t
        tables.inbox = {k: at for k, at in tables.inbox.items() if at >= cutoff}
        tables.outbox = {
            i: r for i, r in tables.outbox.items() if r.sent_at is None or r.sent_at >= cutoff
        }
        prune_link_codes(tables, before)

    def sync_log(self) -> None:
        pass

    def end_batch(self) -> None:
        pass

    def close(self) -> None:
        pass


def _write_state(tables: Tables, changes: Changes, now: str) -> None:
    for key, state in changes.conversations.items():
        if state is None:
            tables.conversations.pop(key, None)
        else:
            tables.conversations[key] = (json.dumps(state, ensure_ascii=False), now)
    for key, profile in changes.profiles.items():
        tables.profiles[key] = json.dumps(profile_to_stored(profile), ensure_ascii=False)
    for community, member, version in changes.acknowledgements:
        tables.acknowledgements.setdefault((community, member, version), now)
    for community, mentee, mentor in changes.mentorships:
        tables.mentorships[(community, mentee)] = mentor
    for community, actor, what, subject, detail in changes.audit:
        tables.audit.append(Audit(community, now, actor, what, subject, detail))


def _write_timers(tables: Tables, changes: Changes) -> None:
    for timer_id in changes.timers_done:
        tables.timers.pop(timer_id, None)
    cancelled = set(changes.timers_cancelled)
    tables.timers = {
        i: t for i, t in tables.timers.items() if (t.community, t.member, t.kind) not in cancelled
    }
    for community, timer in changes.timers:
        key = (community, timer.member.key, timer.kind)
        tables.timers = {
            i: t for i, t in tables.timers.items() if (t.community, t.member, t.kind) != key
        }
        tables.timers[tables.new_id()] = Timer(
            community, timer.member.key, timer.member, timer.kind, iso(timer.due_at), timer.payload
        )


def _forget(tables: Tables, forget: ForgetMember) -> None:
    """``forget_member`` on the tables besides case records (see ``forget_in_cases``)."""
    community, key = forget.community, forget.key
    platform, _, member_id = key.partition(":")
    mine = (community, key)
    tables.profiles.pop(mine, None)
    tables.conversations.pop(mine, None)
    tables.acknowledgements = {k: at for k, at in tables.acknowledgements.items() if k[:2] != mine}
    tables.mentorships = {
        k: mentor
        for k, mentor in tables.mentorships.items()
        if not (k[0] == community and key in (k[1], mentor))
    }
    tables.timers = {i: t for i, t in tables.timers.items() if (t.community, t.member) != mine}
    tables.audit = [
        replace(
            a,
            actor=ERASED if a.actor == key else a.actor,
            subject=ERASED if a.subject == key else a.subject,
            detail=ERASED if mentions(a.detail, member_id) else a.detail,
        )
        if a.community == community
        else a
        for a in tables.audit
    ]
    tables.profiles = {
        k: p.replace(f'"{key}"', f'"{ERASED}"') if k[0] == community else p
        for k, p in tables.profiles.items()
    }
    tables.outbox = {i: r for i, r in tables.outbox.items() if r.sent_at is None}
    tables.member_records = {
        k: v for k, v in tables.member_records.items() if k[:2] != (platform, member_id)
    }


def _keeps_the_contract(store: MemoryStore) -> ServiceStore:
    return store  # checked by mypy: MemoryStore is a whole store
