"""The outbox's shared statements: which pending rows a process takes, and actions set
aside as undeliverable, recorded with their reason, counted per platform.

The outbox row keeps the reason (until set-aside rows are pruned, a week later) and no
text; a counter per platform keeps how many there were for good. (A delivered row is
deleted when it is marked sent: see ``bot.store.sql_store``.)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from bot.store.sql import Connection

UNDELIVERABLE = "undeliverable: "  # how a set-aside action's reason starts
_COUNTER = "undeliverable:"  # + platform: the counter of actions set aside
# The outbox holds what waits (delivered rows are deleted) and the few rows set aside:
# read in order of its key, it needs no index of its own, which cost a write with every
# action queued and every one delivered (migration 13).
NO_PENDING_INDEX = "DROP INDEX IF EXISTS outbox_pending"
# Rows kept after delivery before migration 12 (set-aside rows stay until pruned).
DELIVERED_ROWS = (
    "DELETE FROM outbox WHERE sent_at IS NOT NULL AND (last_error IS NULL"
    f" OR substr(last_error, 1, {len(UNDELIVERABLE)}) != '{UNDELIVERABLE}')"
)


def set_aside(conn: Connection, outbox_id: int, error: str, at: str) -> None:
    """Inside a transaction: mark the action done without its text, with the reason."""
    conn.execute(
        "UPDATE outbox SET sent_at = ?, action = '', attempts = attempts + 1,"
        " last_error = ? WHERE id = ?",
        (at, f"{UNDELIVERABLE}{error}"[:500], outbox_id),
    )
    conn.execute(
        "INSERT INTO counters (name, value) SELECT ? || platform, 1 FROM outbox"
        " WHERE id = ? ON CONFLICT (name) DO UPDATE SET value = counters.value + 1",
        (_COUNTER, outbox_id),
    )


def counts(conn: Connection) -> dict[str, int]:
    """How many actions were set aside as undeliverable, per platform."""
    rows = conn.execute(
        "SELECT substr(name, ?), value FROM counters WHERE substr(name, 1, ?) = ?",
        (len(_COUNTER) + 1, len(_COUNTER), _COUNTER),
    )
    return {platform: int(count) for platform, count in rows}


def reasons(conn: Connection, limit: int) -> list[tuple[int, str, str]]:
    """The latest actions set aside (outbox id, platform, reason), newest first."""
    rows = conn.execute(
        "SELECT id, platform, substr(last_error, ?) FROM outbox WHERE sent_at IS NOT NULL"
        " AND substr(last_error, 1, ?) = ? ORDER BY id DESC LIMIT ?",
        (len(UNDELIVERABLE) + 1, len(UNDELIVERABLE), UNDELIVERABLE, limit),
    )
    return [(int(i), str(p), str(r)) for i, p, r in rows]


def pending_where(
    platforms: Collection[str] | None, communities: Mapping[str, Collection[str]] | None
) -> tuple[str, list[str]]:
    """The outbox rows ``pending_outbox`` may return: a condition and its values."""
    only, wanted = "", list(platforms or ())
    if platforms is not None:
        only = f" AND platform IN ({','.join('?' * len(wanted)) or 'NULL'})"
    for platform, names in (communities or {}).items():
        among = ",".join("?" * len(names)) or "NULL"
        only += f" AND (platform != ? OR community IN ({among}))"
        wanted += [platform, *names]
    return only, wanted


def waiting_rows(conn: Connection, platform: str) -> list[tuple[int, str]]:
    """Every row waiting for ``platform``: (id, stored action)."""
    rows = conn.execute(
        "SELECT id, action FROM outbox WHERE sent_at IS NULL AND platform = ?", (platform,)
    )
    return [(int(row_id), str(action)) for row_id, action in rows.fetchall()]


def drop(conn: Connection, outbox_ids: list[int]) -> None:
    """Waiting rows removed: never delivered (one being sent just now goes, and its
    mark then finds no row)."""
    for row_id in outbox_ids:
        conn.execute("DELETE FROM outbox WHERE id = ? AND sent_at IS NULL", (row_id,))
