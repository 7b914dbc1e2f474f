"""Private reports and the moderators' queue, with a recording adapter and SQLite."""

from __future__ import annotations

import base64
import os
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import build_engine
from bot.config.community import Config, load_config
from bot.core.actions import Ask, NotifyModerators, Say
from bot.core.clock import ManualClock
from bot.core.errors import ConcordError
from bot.core.events import CommandRun, MemberJoined, MemberRef, Place, TextSaid
from bot.engine.engine import Engine
from bot.store import SQLiteStore
from tests.conftest import RecordingAdapter
from tests.test_store import old_database

ROOT = Path(__file__).resolve().parents[1]
SECRET = "Kim mocked my accent in the voice channel"


def make_config(tmp_path: Path, extra: str = "") -> Config:
    text = (ROOT / "community" / "concord.yaml").read_text("utf-8").replace("console:", "test:")
    text = text.replace("messages_per_minute: 20", "messages_per_minute: 10000")
    text = text.replace(
        "# code_of_conduct: code-of-conduct.yaml",
        f"code_of_conduct: {ROOT / 'community' / 'code-of-conduct.yaml'}",
    )
    path = tmp_path / "concord.yaml"
    path.write_text(text + extra, "utf-8")
    return load_config(path)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def adapter() -> RecordingAdapter:
    return RecordingAdapter()


@pytest.fixture
def engine(config: Config, tmp_path: Path, adapter: RecordingAdapter) -> Iterator[Engine]:
    built = build_engine(config, tmp_path / "r.db", ManualClock())
    built.add_adapter(adapter)
    yield built
    built.services.store.close()


def ref(name: str) -> MemberRef:
    return MemberRef("test", name, name.capitalize())


async def say(engine: Engine, name: str, text: str) -> None:
    who = ref(name)
    await engine.handle(
        TextSaid(uuid.uuid4().hex, "example", who, place=Place.direct(who), text=text)
    )


async def run(engine: Engine, name: str, text: str) -> None:
    who = ref(name)
    words = text.lstrip("/").split()
    await engine.handle(
        CommandRun(
            uuid.uuid4().hex,
            "example",
            who,
            place=Place.direct(who),
            name=words[0],
            args=tuple(words[1:]),
        )
    )


async def member(engine: Engine, name: str) -> None:
    await engine.handle(MemberJoined(uuid.uuid4().hex, "example", ref(name)))
    await run(engine, name, "/stop")


async def report(engine: Engine, name: str = "ana", identity: str = "2") -> None:
    await run(engine, name, "/report")
    for answer in (
        "2",
        SECRET,
        "kim",
        "Yesterday, voice channel",
        "1",
        "https://example.org/m/1",
        identity,
        "1",
    ):
        await say(engine, name, answer)


def moderator_view(adapter: RecordingAdapter) -> list[str]:
    """Everything moderators could see: their channel and their direct messages."""
    texts = [a.text for a in adapter.sent if isinstance(a, NotifyModerators)]
    texts += [
        a.text for a in adapter.sent if isinstance(a, Say | Ask) and a.to.id in ("mod", "kai")
    ]
    return texts


async def test_pseudonymous_report_journey(engine: Engine, adapter: RecordingAdapter) -> None:
    for name in ("ana", "mod", "kai"):
        await member(engine, name)
    adapter.take()
    await report(engine)
    assert any("number 1" in t for t in adapter.texts("ana"))
    await run(engine, "mod", "/reports list")
    await run(engine, "mod", "/reports show 1")
    await run(engine, "mod", "/reports claim 1")
    await run(engine, "mod", "/reports ask 1 Did it happen before?")
    await say(engine, "ana", "Twice, last week too.")
    await run(engine, "mod", "/reports show 1")
    view = moderator_view(adapter)
    assert any(SECRET in t for t in view)
    assert any("Twice, last week too." in t for t in view)
    assert not any("test:ana" in t or "Ana" in t for t in view)  # never the reporter
    ana = adapter.texts("ana")
    assert any("in review" in t for t in ana) and any("waiting for you" in t for t in ana)
    # Revealing needs two distinct moderators; the same one twice changes nothing.
    await run(engine, "mod", "/reports reveal 1")
    await run(engine, "mod", "/reports reveal 1")
    assert "already approved" in adapter.texts("mod")[-1]
    assert not any("test:ana" in t for t in moderator_view(adapter))
    await run(engine, "kai", "/reports reveal 1")
    assert any("Ana (test:ana)" in t for t in adapter.texts("kai"))
    log = engine.services.store.cases.audit(1)
    assert [a for _, _, a, _ in log].count("reveal_approved") == 2
    assert "revealed" in [a for _, _, a, _ in log]
    await run(engine, "mod", "/reports close 1 Kim was warned.")
    assert "Kim was warned." in adapter.texts("ana")[-1]


async def test_named_report_shows_the_name(engine: Engine, adapter: RecordingAdapter) -> None:
    await member(engine, "ana")
    await report(engine, identity="1")
    notice = [a.text for a in adapter.sent if isinstance(a, NotifyModerators)][-1]
    assert "Ana (test:ana)" in notice


async def test_emergency_notifies_at_once(engine: Engine, adapter: RecordingAdapter) -> None:
    await member(engine, "ana")
    adapter.take()
    await run(engine, "ana", "/report")
    await say(engine, "ana", "1")  # one event: the choice of emergency
    contacts = [a for a in adapter.sent if isinstance(a, Say) and a.to.id == "mod"]
    assert contacts and "EMERGENCY" in contacts[0].text and "test:ana" in contacts[0].text
    assert any("emergency number" in t for t in adapter.texts("ana"))
    await say(engine, "ana", "At the meetup in the park, now.")
    assert any("added details" in t for t in adapter.texts("mod"))


REPORTS_COMMANDS = [
    "list",
    "show 1",
    "claim 1",
    "ask 1 why",
    "status 1 in_review",
    "close 1 done",
    "reveal 1",
    "mute ana",
    "unmute ana",
]


async def test_authorization_matrix(engine: Engine, adapter: RecordingAdapter) -> None:
    for name in ("ana", "sam"):
        await member(engine, name)
    await report(engine)
    before = engine.services.store.cases.load("example", 1)
    for who in ("ana", "sam"):
        for sub in REPORTS_COMMANDS:
            adapter.take()
            await run(engine, who, f"/reports {sub}")
            assert "not allowed" in adapter.texts(who)[-1], (who, sub)
            assert not any(SECRET in t for t in adapter.texts(who))
    after = engine.services.store.cases.load("example", 1)
    assert (after.status, after.data) == (before.status, before.data)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("show 42", "no report 42"),
        ("close 1", "give a reason"),
        ("status 1 exploded", "does not exist"),
        ("status 1 closed", "does not exist"),
        ("frobnicate", "/reports list"),
    ],
)
async def test_bad_moderator_input_changes_nothing(
    engine: Engine, adapter: RecordingAdapter, command: str, expected: str
) -> None:
    await member(engine, "ana")
    await report(engine)
    before = engine.services.store.cases.load("example", 1)
    adapter.take()
    await run(engine, "mod", f"/reports {command}")
    assert expected in adapter.texts("mod")[-1]
    after = engine.services.store.cases.load("example", 1)
    assert (after.status, after.data) == (before.status, before.data)


async def test_daily_limit_and_mute(engine: Engine, adapter: RecordingAdapter) -> None:
    await member(engine, "ana")
    for _ in range(3):
        await report(engine)
    adapter.take()
    await report(engine)
    assert any("as many reports as you can today" in t for t in adapter.texts("ana"))
    await member(engine, "sam")
    await run(engine, "mod", "/reports mute sam")
    adapter.take()
    await run(engine, "sam", "/report")
    assert "paused reports from you" in adapter.texts("sam")[-1]
    assert any(e["action"] == "report_muted" for e in engine.services.store.audit_log("example"))


def key_text() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


async def test_report_texts_are_encrypted_at_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONCORD_TEST_KEY", key_text())
    make_config(tmp_path)
    text = (
        (tmp_path / "concord.yaml")
        .read_text("utf-8")
        .replace("  # encryption_key_env: CONCORD_KEY", "  encryption_key_env: CONCORD_TEST_KEY")
    )
    (tmp_path / "concord.yaml").write_text(text, "utf-8")
    config = load_config(tmp_path / "concord.yaml")
    database = tmp_path / "sealed.db"
    engine = build_engine(config, database, ManualClock())
    adapter = RecordingAdapter()
    engine.add_adapter(adapter)
    await member(engine, "ana")
    await report(engine)
    await run(engine, "mod", "/reports show 1")
    assert any(SECRET in t for t in adapter.texts("mod"))  # moderators read it
    engine.services.store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("sealed.db*"))
    assert SECRET.encode() not in raw
    # A wrong key, or none, is refused at start: never silent plaintext or garbage.
    monkeypatch.setenv("CONCORD_TEST_KEY", key_text())
    with pytest.raises(ConcordError, match="does not match"):
        build_engine(load_config(tmp_path / "concord.yaml"), database, ManualClock())
    plain = load_config(tmp_path / "concord.yaml")
    from dataclasses import replace

    from bot.config.reports import Privacy

    with pytest.raises(ConcordError, match="set the encryption key"):
        build_engine(replace(plain, privacy=Privacy()), database, ManualClock())


async def test_appeal_goes_to_another_moderator(engine: Engine, adapter: RecordingAdapter) -> None:
    await member(engine, "sam")
    await run(engine, "mod", "/sanction sam warning 1 Insults in #general.")
    assert any("Insults in #general." in t for t in adapter.texts("sam"))
    await run(engine, "sam", "/appeal")
    await say(engine, "sam", "1")
    await say(engine, "sam", "It was a joke between friends, and I apologised.")
    notice = [a.text for a in adapter.sent if isinstance(a, NotifyModerators)][-1]
    assert "other than test:mod" in notice
    await run(engine, "sam", "/appeal")
    assert "already have an open appeal" in adapter.texts("sam")[-1]
    adapter.take()
    await run(engine, "mod", "/appeals decide 1 lifted It was a joke.")
    assert "another moderator must decide" in adapter.texts("mod")[-1]
    await run(engine, "kai", "/appeals decide 1 lifted")
    assert "then the reason" in adapter.texts("kai")[-1]
    await run(engine, "kai", "/appeals decide 1 lifted Friends joking; apology given.")
    assert "decision is lifted" in adapter.texts("sam")[-1]
    await run(engine, "sam", "/appeal")
    await say(engine, "sam", "1")
    await say(engine, "sam", "Again, please.")
    assert "reviewed recently" in adapter.texts("sam")[-1], adapter.texts("sam")


async def test_safety_exit_deletes_recent_messages_where_possible(
    engine: Engine, adapter: RecordingAdapter
) -> None:
    await member(engine, "ana")
    await run(engine, "ana", "/report")
    adapter.take()
    await run(engine, "ana", "/clear")
    assert "does not let me delete" in adapter.texts("ana")[-1]  # this platform cannot
    assert engine.services.store.load_conversation("example", "test:ana") is None


async def test_emergency_contact_reads_the_emergencies_they_are_told_about(
    tmp_path: Path, adapter: RecordingAdapter
) -> None:
    """An emergency contact who is not a moderator is pointed to /reports show N: they
    may read emergencies (list and show), and nothing else of the reports."""
    config = make_config(tmp_path)
    config = replace(config, reports=replace(config.reports, emergency_contacts=("test:eve",)))
    engine = build_engine(config, tmp_path / "e.db", ManualClock())
    engine.add_adapter(adapter)
    try:
        for name in ("ana", "bo", "eve"):
            await member(engine, name)
        await report(engine, "bo")  # report 1: not an emergency
        await run(engine, "ana", "/report")
        await say(engine, "ana", "1")
        await say(engine, "ana", "At the meetup in the park, now.")
        told = adapter.texts("eve")[-1]
        assert "/reports show 2" in told
        adapter.take()
        await run(engine, "eve", "/reports show 2")
        assert "At the meetup in the park, now." in adapter.texts("eve")[-1]
        await run(engine, "eve", "/reports list")
        listing = adapter.texts("eve")[-1]
        assert "#2" in listing and "#1" not in listing
        for sub in ("show 1", "claim 2", "close 2 done", "reveal 1", "mute bo", "status 2 waiting"):
            adapter.take()
            await run(engine, "eve", f"/reports {sub}")
            assert "not allowed" in adapter.texts("eve")[-1], sub
            assert not any(SECRET in t for t in adapter.texts("eve"))
        assert engine.services.store.cases.load("example", 2).status == "received"
    finally:
        engine.services.store.close()


async def test_reports_are_numbered_from_one_after_a_mediation(
    engine: Engine, adapter: RecordingAdapter
) -> None:
    """A mediation took case 1; the first report is still report 1 (alias reporter-1),
    and moderators reach it as report 1."""
    from tests.test_mediation import request

    for name in ("ana", "sam"):
        await member(engine, name)
    await request(engine, "ana", "sam")
    adapter.take()
    await report(engine, "sam")
    assert any("Your report is number 1." in t for t in adapter.texts("sam"))
    new = [a.text for a in adapter.sent if isinstance(a, NotifyModerators)]
    assert any("New report 1." in t and "reporter-1" in t for t in new), new
    await run(engine, "mod", "/reports show 1")
    assert any(SECRET in t for t in adapter.texts("mod"))
    await run(engine, "mod", "/reports close 1 Handled.")
    assert "report 1 is closed" in adapter.texts("sam")[-1].lower()
    await run(engine, "mod", "/reports close 1 Again.")
    assert adapter.texts("mod")[-1] == "Report 1 is already closed."  # the kind named
    await report(engine, "ana")
    assert any("Your report is number 2." in t for t in adapter.texts("ana"))


def test_numbers_given_before_per_kind_numbering_keep_working(
    tmp_path: Path, config: Config
) -> None:
    """A database where report 2 followed mediation case 1: report 2 is still report 2,
    and the next report is 3."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(old_database(path, 4), isolation_level=None)
    for case_id, kind in ((1, "mediation"), (2, "report")):
        conn.execute(
            "INSERT INTO cases (id, community, kind, status, opened_by, created_at, updated_at,"
            " data) VALUES (?, 'example', ?, 'received', 'test:ana', ?, ?, ?)",
            (
                case_id,
                kind,
                "2026-01-01T00:00:00.000000Z",
                "2026-01-01T00:00:00.000000Z",
                '{"alias": "reporter-2"}' if kind == "report" else "{}",
            ),
        )
    conn.execute("INSERT INTO counters VALUES ('example:case', 2)")
    conn.close()
    store = SQLiteStore(path)
    try:
        found = store.cases.find("example", "report", 2)
        assert found is not None and found.id == 2 and found.shown == 2
        assert store.cases.find("example", "report", 1) is None
        assert store.cases.peek_numbers("example", "report") == (3, 3)
        assert store.cases.peek_numbers("example", "mediation") == (3, 2)
    finally:
        store.close()


async def test_an_emergency_contact_reads_the_reporters_language_in_their_own(
    engine: Engine, adapter: RecordingAdapter
) -> None:
    """The notice reaches the contact in their language, and so does the name of the
    language the reporter writes in."""
    await engine.handle(MemberJoined(uuid.uuid4().hex, "example", ref("mod"), locale="es"))
    await run(engine, "mod", "/stop")
    await member(engine, "ana")
    await run(engine, "ana", "/report")
    await say(engine, "ana", "1")
    [notice] = [t for t in adapter.texts("mod") if "(test:ana)" in t]
    assert "EMERGENCIA" in notice and "Su idioma: inglés." in notice, notice
