"""What one event's commit writes, table by table, inside the store's transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from bot.core.actions import action_platform, action_to_json
from bot.core.jsontext import dumps
from bot.core.sealing import Sealer
from bot.core.state import profile_to_stored
from bot.store.sql import Connection
from bot.store.types import Changes, OutboxItem
from bot.store.types import iso as _iso


def write_state(conn: Connection, changes: Changes, now: str, sealer: Sealer) -> None:
    """Conversations (sealed: they hold what members wrote), profiles, acknowledgements,
    mentorships and the audit log."""
    for (community, member), state in changes.conversations.items():
        if state is None:
            conn.execute(
                "DELETE FROM conversations WHERE community = ? AND member = ?",
                (community, member),
            )
        else:
            # An upsert changes the row where it is; REPLACE would delete and
            # re-insert it, writing (and, with secure_delete, zeroing) more pages.
            conn.execute(
                "INSERT INTO conversations VALUES (?, ?, ?, ?)"
                " ON CONFLICT (community, member) DO UPDATE"
                " SET state = excluded.state, updated_at = excluded.updated_at",
                (community, member, sealer.seal(dumps(state)), now),
            )
    for (community, member), profile in changes.profiles.items():
        conn.execute(
            "INSERT INTO profiles VALUES (?, ?, ?, ?) ON CONFLICT (community, member)"
            " DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at",
            (community, member, dumps(profile_to_stored(profile)), now),
        )
    for community, member, version in changes.acknowledgements:
        conn.execute(
            "INSERT INTO acknowledgements VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (community, member, version, now),
        )
    for community, mentee, mentor in changes.mentorships:
        conn.execute(
            "INSERT INTO mentorships VALUES (?, ?, ?, ?) ON CONFLICT (community, mentee)"
            " DO UPDATE SET mentor = excluded.mentor, at = excluded.at",
            (community, mentee, mentor, now),
        )
    for community, actor, what, subject, detail in changes.audit:
        conn.execute(
            "INSERT INTO audit (community, at, actor, action, subject, detail)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (community, now, actor, what, subject, detail),
        )


# A timer set again replaces the old one, with a new id (so it comes last among
# timers due at the same time), in one statement: each engine says it its own way.
# SQLite's store gives the id (bot.store.id_blocks); PostgreSQL's identity makes it.
SET_TIMER = (
    "INSERT OR REPLACE INTO timers (id, community, member, member_ref, kind,"
    " due_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def write_timers(
    conn: Connection, changes: Changes, set_timer: str, ids: Iterator[int] | None = None
) -> None:
    """Timers done, cancelled and set; ``ids`` gives each timer set its id, if the
    store gives them (``set_timer`` then takes the id first)."""
    for timer_id in changes.timers_done:
        conn.execute("DELETE FROM timers WHERE id = ?", (timer_id,))
    for community, member, kind in changes.timers_cancelled:
        conn.execute(
            "DELETE FROM timers WHERE community = ? AND member = ? AND kind = ?",
            (community, member, kind),
        )
    for community, timer in changes.timers:
        ref = {"platform": timer.member.platform, "id": timer.member.id, "name": timer.member.name}
        row = (community, timer.member.key, dumps(ref), timer.kind, _iso(timer.due_at))
        numbered = (*row, timer.payload) if ids is None else (next(ids), *row, timer.payload)
        conn.execute(set_timer, numbered)


OutboxRow = tuple[str, str, str, str]  # community, platform, sealed action, created_at
NewIds = Callable[[], list[int]]
"""The new rows' ids, in order: read once the transaction is committed (a backend that
sends its statements together needs not wait for them before)."""

# With the id the store gives (SQLite's: bot.store.id_blocks).
INSERT_OUTBOX = (
    "INSERT INTO outbox (id, community, platform, action, created_at) VALUES (?, ?, ?, ?, ?)"
)


def outbox_rows(changes: Changes, now: str, sealer: Sealer) -> list[OutboxRow]:
    """The event's actions (sealed), in order, as outbox rows."""
    return [
        (community, action_platform(action), sealer.seal(action_to_json(action)), now)
        for community, action in changes.outbox
    ]


def outbox_items(changes: Changes, ids: list[int]) -> list[OutboxItem]:
    """The items delivery works through: the event's actions with their rows' ids."""
    return [
        OutboxItem(row_id, community, action, 0)
        for row_id, (community, action) in zip(ids, changes.outbox, strict=True)
    ]
