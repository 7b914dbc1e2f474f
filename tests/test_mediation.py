"""Mediation end to end, with a recording adapter and a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
import uuid
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import build_engine
from bot.config.community import Config, load_config
from bot.core.actions import Action, Ask, Capabilities, NotifyModerators, OpenPrivateSpace, Say
from bot.core.clock import ManualClock
from bot.core.events import (
    CommandRun,
    MemberJoined,
    MemberLeft,
    MemberRef,
    Place,
    PlaceKind,
    TextSaid,
)
from bot.engine.engine import Engine
from bot.engine.people import translator_of
from bot.store.privacy import forget_member
from bot.store.types import Changes

ROOT = Path(__file__).resolve().parents[1]


class RelayAdapter:
    """A platform without private spaces (like Telegram): sessions relay through DMs."""

    platform = "test"
    capabilities = Capabilities(native_choices=True, private_spaces=False)

    def __init__(self) -> None:
        self.sent: list[Action] = []

    async def deliver(self, action: Action, idempotency_key: str) -> None:
        self.sent.append(action)

    def to(self, name: str) -> list[str]:
        return [a.text for a in self.sent if isinstance(a, Say | Ask) and a.to.id == name]

    def clear(self) -> None:
        self.sent.clear()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    text = (ROOT / "community" / "concord.yaml").read_text("utf-8").replace("console:", "test:")
    # These tests send many commands in the same instant; flood control is tested elsewhere.
    text = text.replace("messages_per_minute: 20", "messages_per_minute: 10000")
    text = text.replace("# code_of_conduct:", "code_of_conduct:")
    path = tmp_path / "concord.yaml"
    path.write_text(
        text.replace(
            "code_of_conduct: code-of-conduct.yaml",
            f"code_of_conduct: {ROOT / 'community' / 'code-of-conduct.yaml'}",
        ),
        "utf-8",
    )
    return load_config(path)


@pytest.fixture
def adapter() -> RelayAdapter:
    return RelayAdapter()


def ref(name: str) -> MemberRef:
    return MemberRef("test", name, name)


def eid() -> str:
    return uuid.uuid4().hex


async def join(engine: Engine, name: str, locale: str | None = None) -> None:
    await engine.handle(MemberJoined(eid(), "example", ref(name), locale=locale))
    await run(engine, name, "/stop")


async def say(engine: Engine, name: str, text: str, space: str | None = None) -> None:
    who = ref(name)
    place = Place("test", PlaceKind.PRIVATE, space) if space else Place.direct(who)
    await engine.handle(TextSaid(eid(), "example", who, place=place, text=text))


async def run(engine: Engine, name: str, text: str, channel: str | None = None) -> None:
    who = ref(name)
    place = Place("test", PlaceKind.CHANNEL, channel) if channel else Place.direct(who)
    words = text.lstrip("/").split()
    await engine.handle(
        CommandRun(eid(), "example", who, place=place, name=words[0], args=tuple(words[1:]))
    )


REQUEST = ["We disagree about how reviews are done.", "2", "2", "1", "1"]
STATEMENT = ["What happened.", "How it felt.", "What I need.", "1"]


async def request(engine: Engine, requester: str = "ana", target: str = "sam") -> None:
    await run(engine, requester, f"/mediate {target}")
    for answer in REQUEST:
        await say(engine, requester, answer)


async def to_joint_session(engine: Engine) -> None:
    await join(engine, "ana")
    await join(engine, "sam", "es")
    await request(engine)
    await say(engine, "sam", "1")  # accepts
    for answer in STATEMENT:
        await say(engine, "ana", answer)
    for answer in ["Pasó esto.", "Me sentí mal.", "Necesito respeto.", "2"]:
        await say(engine, "sam", answer)


def case(engine: Engine, number: int = 1):  # type: ignore[no-untyped-def]
    return engine.services.store.cases.load("example", number)


async def test_whole_mediation_through_a_relay(engine: Engine, adapter: RelayAdapter) -> None:
    await to_joint_session(engine)
    record = case(engine)
    assert record.status == "joint" and record.mediator == "test:noor"
    adapter.clear()
    await say(engine, "ana", "I am sorry the reviews felt harsh.")
    assert any("ana: I am sorry" in text for text in adapter.to("sam"))
    assert any("ana: I am sorry" in text for text in adapter.to("noor"))
    assert adapter.to("ana") == []  # not echoed back to the author
    await run(engine, "noor", "/case agreement 1 Both ask before changing pages.")
    await say(engine, "ana", "1")
    await say(engine, "sam", "1")
    record = case(engine)
    assert record.status == "closed" and record.data["closed"]["agreed"] is True
    texts = engine.services.store.cases.texts(1)
    assert not [t for t in texts if t.kind.startswith("statement")]  # deleted at close
    assert any("Both ask before changing pages." in t for t in adapter.to("sam"))


async def test_each_party_reads_the_bot_in_their_own_language(
    engine: Engine, adapter: RelayAdapter
) -> None:
    await join(engine, "ana")
    await join(engine, "sam", "es")
    await request(engine)
    spanish = engine.services.catalogs.translator("es").gettext("mediation.answer_accept")
    english = engine.services.catalogs.translator("en").gettext("mediation.answer_accept")
    sam_asks = [a for a in adapter.sent if isinstance(a, Ask) and a.to.id == "sam"]
    assert spanish in sam_asks[-1].text and (spanish == english or english not in sam_asks[-1].text)


async def test_private_space_where_the_platform_has_one(
    config: Config, tmp_path: Path, clock: ManualClock
) -> None:
    class SpaceAdapter(RelayAdapter):
        capabilities = Capabilities(native_choices=True, private_spaces=True)

    adapter = SpaceAdapter()
    engine = build_engine(config, tmp_path / "s.db", clock)
    engine.add_adapter(adapter)
    await to_joint_session(engine)
    spaces = [a for a in adapter.sent if isinstance(a, OpenPrivateSpace)]
    assert len(spaces) == 1
    assert {m.id for m in spaces[0].members} == {"ana", "sam", "noor"}
    await run(engine, "sam", "/pause")
    assert case(engine).data["paused"] is False  # /pause is for the session's own place
    await engine.handle(
        CommandRun(
            eid(),
            "example",
            ref("sam"),
            place=Place("test", PlaceKind.PRIVATE, "case-1"),
            name="pause",
        )
    )
    assert case(engine).data["paused"] is True
    engine.services.store.close()


async def test_screening_steers_harassment_to_a_report(
    engine: Engine, adapter: RelayAdapter
) -> None:
    await join(engine, "ana")
    await join(engine, "sam")
    await run(engine, "ana", "/mediate sam")
    await say(engine, "ana", "They keep messaging me after I said stop.")
    await say(engine, "ana", "2")
    await say(engine, "ana", "1")  # yes, harassment
    assert case(engine).status == "screened_out"
    assert adapter.to("sam") == [] or not any("mediation" in t.lower() for t in adapter.to("sam"))
    assert not engine.services.store.cases.texts(1)  # the description is not kept
    assert any("/human" in t for t in adapter.to("ana"))


async def test_decline_expire_and_block_all_read_the_same(
    engine: Engine, adapter: RelayAdapter, clock: ManualClock
) -> None:
    for name in ("ana", "sam", "kim", "lee"):
        await join(engine, name)
    outcomes = []
    for target, action in (("sam", "2"), ("kim", "3"), ("lee", None)):
        adapter.clear()
        await request(engine, "ana", target)
        if action:
            await say(engine, target, action)
        else:
            clock.advance(timedelta(days=3, minutes=1))
            await engine.fire_due_timers()
        outcomes.append([t for t in adapter.to("ana") if "case" in t][-1])
    neutral = [
        text.replace("case 1", "case N").replace("case 2", "case N").replace("case 3", "case N")
        for text in outcomes
    ]
    assert len(set(neutral)) == 1  # declined, blocked, no answer: the same words
    # Blocked, declined and expired targets cannot be reached again through the bot.
    for target in ("sam", "kim", "lee"):
        adapter.clear()
        await run(engine, "ana", f"/mediate {target}")
        assert "cannot send" in adapter.to("ana")[-1]


async def test_invitation_limits(engine: Engine, adapter: RelayAdapter) -> None:
    names = ["b1", "b2", "b3", "b4"]
    for name in ["ana", *names]:
        await join(engine, name)
    for name in names[:3]:
        await request(engine, "ana", name)
    adapter.clear()
    await run(engine, "ana", "/mediate b4")
    assert "as many mediation invitations" in adapter.to("ana")[-1]
    # A target invited by three members in the window cannot get a fourth invitation.
    for requester in ("r1", "r2", "r3", "r4"):
        await join(engine, requester)
    for requester in ("r1", "r2"):
        await request(engine, requester, "b1")
    adapter.clear()
    await run(engine, "r4", "/mediate b1")
    assert "cannot send" in adapter.to("r4")[-1]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("ana", "with yourself"),
        ("bot", "is a bot"),
        ("ghost", "do not know"),
        ("gone", "no longer a member"),
        ("", "/mediate"),
    ],
)
async def test_bad_mediation_requests(
    engine: Engine, adapter: RelayAdapter, words: str, expected: str
) -> None:
    await join(engine, "ana")
    await join(engine, "gone")
    await engine.handle(MemberLeft(eid(), "example", ref("gone")))
    adapter.clear()
    await run(engine, "ana", f"/mediate {words}".strip())
    assert expected in adapter.to("ana")[-1]
    assert case(engine) is None


CASE_COMMANDS = [
    "show 1",
    "note 1 x",
    "pause 1",
    "resume 1",
    "agreement 1 x",
    "close 1 r",
    "escalate 1",
    "reopen 1",
]


async def test_authorization_matrix(
    engine: Engine, adapter: RelayAdapter, clock: ManualClock
) -> None:
    await to_joint_session(engine)
    before = case(engine)
    await join(engine, "kim")
    for who in ("ana", "sam", "kim"):  # parties and a plain member
        refused = translator_of(engine.services, f"test:{who}").format(
            "common.not_allowed", command="case"
        )
        for sub in ["list", "take 1", *CASE_COMMANDS]:
            adapter.clear()
            await run(engine, who, f"/case {sub}")
            assert adapter.to(who)[-1] == refused, (who, sub)
    # A mediator who is not on the case gets the very answer a case that does not
    # exist gets: nothing tells them that case 1 exists.
    for sub in ["take 1", *CASE_COMMANDS]:
        adapter.clear()
        await run(engine, "tomas", f"/case {sub}")
        await run(engine, "tomas", f"/case {sub.replace(' 1', ' 9')}")
        on_case_1, on_no_case = adapter.to("tomas")
        assert on_case_1 == on_no_case.replace("9", "1"), sub
        assert "no mediation case 1" in on_case_1, sub
    after = case(engine)
    assert (after.status, after.data, after.mediator) == (
        before.status,
        before.data,
        before.mediator,
    )
    # Parties never read each other's statements; the mediator does.
    assert not any("Pasó esto." in t for t in adapter.to("ana"))
    adapter.clear()
    await run(engine, "noor", "/case show 1")
    assert "Pasó esto." in adapter.to("noor")[-1]
    # Each party's answer to the invitation in the mediator's words, not a stored code.
    assert "agreed to mediation" in adapter.to("noor")[-1]
    assert ": accepted" not in adapter.to("noor")[-1]
    # An admin may see every case.
    adapter.clear()
    await run(engine, "mod", "/case show 1")
    assert "Pasó esto." in adapter.to("mod")[-1]


async def test_take_needs_an_eligible_mediator_in_term(
    engine: Engine, adapter: RelayAdapter, clock: ManualClock
) -> None:
    """Noor and Tomás each take two cases (their capacity); the fifth waits for a
    mediator, and the moderators hear of it without any detail of the dispute."""
    for n in range(1, 7):
        await join(engine, f"a{n}")
        await join(engine, f"b{n}")
    for n in range(1, 6):
        await request(engine, f"a{n}", f"b{n}")
        await say(engine, f"b{n}", "1")
    assert [case(engine, n).status for n in range(1, 6)] == ["statements"] * 4 + ["waiting"]
    [notice] = [a for a in adapter.sent if isinstance(a, NotifyModerators)]
    assert "/case take 5" in notice.text and "reviews" not in notice.text
    adapter.clear()
    await run(engine, "noor", "/case take 5")
    assert "at your limit" in adapter.to("noor")[-1]
    await run(engine, "noor", "/case close 1 The parties settled it themselves.")
    await run(engine, "noor", "/case take 5")
    assert case(engine, 5).mediator == "test:noor"
    # Terms end: no new cases, but current ones stay with their mediator.
    await request(engine, "a6", "b6")
    await say(engine, "b6", "1")
    assert case(engine, 6).status == "waiting"
    clock.advance(timedelta(days=900))
    adapter.clear()
    await run(engine, "tomas", "/case take 6")
    assert "term as a mediator has ended" in adapter.to("tomas")[-1]
    await run(engine, "noor", "/case show 5")
    assert adapter.to("noor")[-1].startswith("Case 5")


async def test_nothing_about_a_case_is_said_in_public(
    engine: Engine, adapter: RelayAdapter
) -> None:
    await join(engine, "ana")
    await join(engine, "sam")
    await run(engine, "ana", "/mediate sam", channel="general")
    for answer in REQUEST:
        await say(engine, "ana", answer)
    await say(engine, "sam", "1")
    await run(engine, "noor", "/case show 1", channel="general")
    public = [
        a for a in adapter.sent if isinstance(a, Say | Ask) and a.to.kind is PlaceKind.CHANNEL
    ]
    assert public == []


async def test_wrong_case_number_and_missing_reason_change_nothing(
    engine: Engine, adapter: RelayAdapter
) -> None:
    await to_joint_session(engine)
    for sub, expected in (
        ("show 99", "no mediation case 99"),
        ("close 1", "give a reason"),
        ("show x", "no mediation case x"),
        ("frobnicate 1", "/case list"),
    ):
        adapter.clear()
        await run(engine, "noor", f"/case {sub}")
        assert expected in adapter.to("noor")[-1]
    assert case(engine).status == "joint"


async def test_restart_at_every_step_and_timers_survive(
    config: Config, tmp_path: Path, clock: ManualClock
) -> None:
    """A new engine on the same database after each step continues where it was."""
    database = tmp_path / "r.db"
    adapter = RelayAdapter()
    script = [
        ("join", "ana", ""),
        ("join", "sam", "es"),
        ("run", "ana", "/mediate sam"),
        *[("say", "ana", a) for a in REQUEST],
        ("say", "sam", "1"),
        *[("say", "ana", a) for a in STATEMENT],
        *[("say", "sam", a) for a in STATEMENT],
        ("say", "ana", "hello"),
        ("run", "noor", "/case agreement 1 Be kind."),
        ("say", "ana", "1"),
        ("say", "sam", "1"),
    ]
    engine = build_engine(config, database, clock)
    engine.add_adapter(adapter)
    for kind, name, text in script:
        engine.services.store.close()
        engine = build_engine(config, database, clock)
        engine.add_adapter(adapter)
        assert await engine.flush_outbox() == 0
        if kind == "join":
            await join(engine, name, text or None)
        elif kind == "run":
            await run(engine, name, text)
        else:
            await say(engine, name, text)
    assert case(engine).status == "closed"
    engine.services.store.close()
    clock.advance(timedelta(days=14, minutes=1))
    engine = build_engine(config, database, clock)
    engine.add_adapter(adapter)
    adapter.clear()
    assert await engine.fire_due_timers() == 2  # the follow-up of each party
    assert adapter.to("ana") and adapter.to("sam")
    engine.services.store.close()


async def test_consent_deadline_survives_a_restart(
    config: Config, tmp_path: Path, clock: ManualClock
) -> None:
    adapter = RelayAdapter()
    engine = build_engine(config, tmp_path / "d.db", clock)
    engine.add_adapter(adapter)
    await join(engine, "ana")
    await join(engine, "sam")
    await request(engine)
    engine.services.store.close()
    clock.advance(timedelta(days=3, minutes=1))
    engine = build_engine(config, tmp_path / "d.db", clock)
    engine.add_adapter(adapter)
    adapter.clear()
    await engine.fire_due_timers()
    assert case(engine).status == "declined"
    assert any("declined or not answered" in t for t in adapter.to("ana"))
    engine.services.store.close()


async def test_relay_leave_is_told_to_the_mediator_and_the_other_party(
    engine: Engine, adapter: RelayAdapter
) -> None:
    """Without a private space nobody sees a member go: the mediator and the other
    party are told who left and that the case is closed."""
    await to_joint_session(engine)
    adapter.clear()
    await run(engine, "ana", "/leave")
    assert case(engine).status == "closed"
    assert any("ana has left" in t and "case 1" in t for t in adapter.to("noor"))
    sam = translator_of(engine.services, "test:sam").format(
        "mediation.left_session", case="1", name="ana"
    )
    assert sam in adapter.to("sam")
    assert not any("has left" in t for t in adapter.to("ana"))
    adapter.clear()
    await say(engine, "sam", "Are you still there?")
    assert not any("Are you still there?" in t for t in adapter.to("noor"))  # relay ended


async def test_the_last_statement_is_not_told_to_wait(
    engine: Engine, adapter: RelayAdapter
) -> None:
    """Once the joint session opened, nobody is told it starts "when everyone has
    answered": the last party hears that it starts now."""
    await to_joint_session(engine)
    english, spanish = (
        translator_of(engine.services, "test:ana"),
        translator_of(engine.services, "test:sam"),
    )
    # ana answered first: the session had not started yet.
    assert english.gettext("mediation.statement_saved") in adapter.to("ana")
    assert spanish.gettext("mediation.statement_saved") not in adapter.to("sam")
    assert spanish.gettext("mediation.statement_saved_last") in adapter.to("sam")


def timers_of(database: Path, name: str) -> list[str]:
    with closing(sqlite3.connect(database)) as conn:
        rows = conn.execute("SELECT kind FROM timers WHERE member = ?", (f"test:{name}",))
        return [kind for (kind,) in rows]


async def forget(engine: Engine, name: str) -> None:
    await run(engine, name, "/forget")
    await say(engine, name, "1")


async def test_forget_ends_a_pending_invitation_kindly(
    engine: Engine, adapter: RelayAdapter, database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The requester erases themselves while the invitation waits: the invitee's
    question goes, they hear there is nothing to answer, and nothing pending names the
    requester (no question, no deadline); their "1" later opens nothing."""
    await join(engine, "dave")
    await join(engine, "lee")
    await request(engine, "dave", "lee")
    assert "case:expire:1" in timers_of(database, "lee")
    adapter.clear()
    await forget(engine, "dave")
    withdrawn = translator_of(engine.services, "test:lee").format("mediation.withdrawn", case="1")
    assert adapter.to("lee") == [withdrawn]
    state = engine.services.store.load_conversation("example", "test:lee")
    assert state is None or "dave" not in json.dumps(state)
    assert timers_of(database, "lee") == []
    assert not case(engine).is_open
    adapter.clear()
    await say(engine, "lee", "1")
    assert adapter.to("noor") == [] and not any("case" in t for t in adapter.to("lee"))
    assert "no adapter" not in caplog.text


async def test_forget_by_the_invitee_reads_like_a_decline(
    engine: Engine, adapter: RelayAdapter
) -> None:
    await join(engine, "dave")
    await join(engine, "lee")
    await request(engine, "dave", "lee")
    adapter.clear()
    await forget(engine, "lee")
    assert any("declined or not answered" in t for t in adapter.to("dave"))
    assert case(engine).status == "declined"


async def test_forget_during_statements_closes_the_case_for_everyone(
    engine: Engine, adapter: RelayAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    """The other party is not left answering questions for a mediation that cannot go
    on, and the mediator hears of it."""
    await join(engine, "ana")
    await join(engine, "sam")
    await request(engine)
    await say(engine, "sam", "1")
    await say(engine, "sam", "What happened.")  # sam is half-way through the statement
    adapter.clear()
    await forget(engine, "ana")
    assert case(engine).status == "closed"
    assert any("ana has left" in t for t in adapter.to("noor"))
    assert any("ana has left" in t for t in adapter.to("sam"))
    state = engine.services.store.load_conversation("example", "test:sam")
    assert state is None or not state["frames"]
    assert "no adapter" not in caplog.text


async def test_an_invitation_whose_requester_is_gone_ends_kindly(
    engine: Engine, adapter: RelayAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    """Records erased without the invitation being withdrawn (as a database from an
    older version holds): accepting ends kindly and opens nothing."""
    await join(engine, "dave")
    await join(engine, "lee")
    await request(engine, "dave", "lee")
    engine.services.store.apply(
        Changes(
            at=engine.services.clock.now(), writes=[forget_member("example", "test:dave", True)]
        )
    )
    adapter.clear()
    await say(engine, "lee", "1")
    gone = translator_of(engine.services, "test:lee").gettext("mediation.case_gone")
    assert adapter.to("lee") == [gone]
    assert adapter.to("noor") == [] and not case(engine).is_open
    assert "no adapter" not in caplog.text


async def test_forget_by_the_mediator_closes_their_cases_without_dangling_names(
    engine: Engine, adapter: RelayAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    await to_joint_session(engine)
    adapter.clear()
    await forget(engine, "noor")
    assert case(engine).status == "closed" and case(engine).mediator != "test:noor"
    assert any("Noor has left" in t for t in adapter.to("ana"))
    adapter.clear()
    await say(engine, "ana", "Hello?")
    assert adapter.to("sam") == []  # the relay ended
    assert "no adapter" not in caplog.text


async def test_forget_says_first_that_an_open_mediation_would_end(
    engine: Engine, adapter: RelayAdapter
) -> None:
    await join(engine, "dave")
    await join(engine, "lee")
    await join(engine, "kim")
    await request(engine, "dave", "lee")
    warning = translator_of(engine.services, "test:lee").gettext("privacy.forget_mediation")
    for name, warned in (("lee", True), ("dave", True), ("kim", False)):
        adapter.clear()
        await run(engine, name, "/forget")
        assert (warning in adapter.to(name)) is warned, name
        await say(engine, name, "2")  # keep everything
    assert case(engine).status == "consent"


async def test_moderators_read_the_parties_languages_by_name(
    engine: Engine, adapter: RelayAdapter, clock: ManualClock
) -> None:
    """No mediator in term: the moderators hear which languages the parties speak,
    named in the community's language rather than as codes."""
    await join(engine, "ana", "sw")
    await join(engine, "sam", "es")
    clock.advance(timedelta(days=900))  # every mediator's term has ended
    await request(engine)
    await say(engine, "sam", "1")
    [notice] = [a.text for a in adapter.sent if isinstance(a, NotifyModerators)]
    assert "languages: Spanish, Swahili)" in notice, notice
