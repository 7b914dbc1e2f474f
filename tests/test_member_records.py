"""Adapter records about one member are kept under exactly that platform and member id:
``/forget`` erases the member's and nobody else's, however alike two ids look."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.core.actions import NotifyModerators, Say, action_to_json
from bot.core.events import MemberRef, Place
from bot.engine.engine import Engine
from bot.engine.host import AdapterHost
from bot.store import Changes, SQLiteStore
from tests.conftest import command, says
from tests.test_store import NOW, old_database

# Look-alikes: a Telegram id inside another, and a Matrix id where ``_`` would be a
# pattern's wildcard.
LOOK_ALIKES = ("5124", "123", "@annxb:x.org")


async def forget(engine: Engine, name: str) -> None:
    await engine.handle(command(name, "/forget"))
    await engine.handle(says(name, "1"))


async def test_forget_erases_exactly_the_members_records(engine: Engine) -> None:
    host = AdapterHost(engine)
    store = engine.services.store
    for member_id in ("12", "@ann_b:x.org", *LOOK_ALIKES):
        host.save_member_record("test", member_id, "sent", f"[{len(member_id)}]")
        host.save_member_record("test", member_id, "member", '{"member": true}')
    host.save_member_record("other", "12", "sent", "[7]")  # the same id elsewhere
    store.apply(
        Changes(
            at=NOW,
            audit=[
                ("example", "test:mod", "note", "", "test:5124,test:123"),
                ("example", "test:mod", "note", "", "test:12,test:5124"),
            ],
        )
    )
    await forget(engine, "12")
    await forget(engine, "@ann_b:x.org")
    for member_id in ("12", "@ann_b:x.org"):
        assert host.member_record("test", member_id, "sent") is None
        assert host.member_record("test", member_id, "member") is None
    for member_id in LOOK_ALIKES:
        assert host.member_record("test", member_id, "sent") == f"[{len(member_id)}]"
        assert host.member_record("test", member_id, "member") == '{"member": true}'
    assert host.member_record("other", "12", "sent") == "[7]"
    details = [e["detail"] for e in store.audit_log("example") if e["action"] == "note"]
    assert details == ["test:5124,test:123", "erased"]


def test_records_kept_as_cursors_move_to_member_records(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(old_database(path, 2), isolation_level=None)
    cursors = {
        "telegram:offset": "991",
        "telegram:member:12": '{"groups": [-100], "member": false}',
        "telegram:member:5124": '{"groups": [-100], "member": true}',
        "telegram:sent:123": "[5, 6]",
        "matrix:dm:@ann_b:x.org": "!a:x.org",
        "matrix:sent:@annxb:x.org": '[["!b:x.org", "$e"]]',
        "matrix:space:case-1": "!s:x.org",
        "discord:sent:77": "[1]",
    }
    conn.executemany("INSERT INTO cursors VALUES (?, ?)", cursors.items())
    conn.close()

    store = SQLiteStore(path)
    try:
        assert store.version >= 3
        assert store.member_record("telegram", "12", "member") == cursors["telegram:member:12"]
        assert store.member_record("telegram", "5124", "member") == cursors["telegram:member:5124"]
        assert store.member_record("telegram", "123", "sent") == "[5, 6]"
        assert store.member_record("matrix", "@ann_b:x.org", "dm") == "!a:x.org"
        assert store.member_record("matrix", "@annxb:x.org", "dm") is None
        assert store.member_record("matrix", "@annxb:x.org", "sent") == '[["!b:x.org", "$e"]]'
        assert store.member_record("discord", "77", "sent") == "[1]"
        # Positions and records about no one member stay cursors.
        assert store.cursor("telegram:offset") == "991"
        assert store.cursor("matrix:space:case-1") == "!s:x.org"
        assert store.cursor("telegram:member:12") is None
        store.erase_delivered("telegram", "12")
        assert store.member_record("telegram", "12", "member") is None
        assert store.member_record("telegram", "5124", "member") is not None
        assert store.member_record("telegram", "123", "sent") == "[5, 6]"
        store.erase_delivered("matrix", "@ann_b:x.org")
        assert store.member_record("matrix", "@ann_b:x.org", "dm") is None
        assert store.member_record("matrix", "@annxb:x.org", "sent") == '[["!b:x.org", "$e"]]'
    finally:
        store.close()


def test_a_crash_loses_a_sent_messages_record_only_with_its_sent_mark(tmp_path: Path) -> None:
    """The id of a message just sent (what /clear deletes) is written with the mark of
    its delivery, or before the adapter calls Telegram again: a crash before loses both,
    so the reply is still pending after a restart and goes again (and is recorded then);
    once the next event's commit or a failure's record is written, both are there."""
    path = tmp_path / "records.db"
    store = SQLiteStore(path)
    to_ana = Say(Place.direct(MemberRef("telegram", "12", "Ana")), "welcome")
    try:
        first, second = (
            store.apply(Changes(at=NOW, event_key="a", outbox=[("example", to_ana)] * 2)) or []
        )
        store.set_member_record_later("telegram", "12", "sent", "[1]")
        store.mark_sent_later(first.id, NOW)
        assert store.member_record("telegram", "12", "sent") == "[1]"
        restarted = SQLiteStore(path)  # what a restart reads, had the process died now
        try:
            assert restarted.member_record("telegram", "12", "sent") is None
            assert [i.id for i in restarted.pending_outbox()] == [first.id, second.id]
            store.apply(Changes(at=NOW, event_key="b"))  # the next event's commit
            assert restarted.member_record("telegram", "12", "sent") == "[1]"
            assert [i.id for i in restarted.pending_outbox()] == [second.id]
            # A message of a reply in two pieces sent before the second failed.
            store.set_member_record_later("telegram", "12", "sent", "[1, 2]")
            store.mark_failed(second.id, "network")
            assert restarted.member_record("telegram", "12", "sent") == "[1, 2]"
            # Sent again; the adapter's next call to Telegram writes its record first.
            store.set_member_record_later("telegram", "12", "sent", "[1, 2, 3]")
            store.write_held_records()
            assert restarted.member_record("telegram", "12", "sent") == "[1, 2, 3]"
            assert [i.id for i in restarted.pending_outbox()] == [second.id]
        finally:
            restarted.close()
    finally:
        store.close()


def test_an_older_outbox_keeps_its_waiting_rows_in_order_without_its_index(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(old_database(path, 12), isolation_level=None)
    row = "INSERT INTO outbox (community, platform, action, created_at) VALUES (?, ?, ?, ?)"
    waiting = [NotifyModerators("test", f"report {n}") for n in range(3)]
    for action in waiting:
        conn.execute(row, ("example", "test", action_to_json(action), "2026-12-01T00:00:00"))
    conn.close()

    store = SQLiteStore(path)
    try:
        indexes = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox'"
        assert list(store._conn.execute(indexes)) == []
        assert [item.action for item in store.pending_outbox()] == waiting
        store.mark_sent(store.pending_outbox()[0].id, NOW)
        assert [item.action for item in store.pending_outbox()] == waiting[1:]
    finally:
        store.close()
