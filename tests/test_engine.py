"""The engine end to end with a recording adapter and a real SQLite file."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from bot.config.community import Config
from bot.core.actions import (
    Ask,
    Capabilities,
    GrantRole,
    NotifyModerators,
    OfferPrivateChat,
    Restrict,
    Say,
)
from bot.core.clock import ManualClock
from bot.core.errors import DeliveryError
from bot.core.events import MemberJoined, Place, PlaceKind
from bot.engine.engine import Engine
from tests.conftest import (
    RecordingAdapter,
    chooses,
    command,
    joined,
    member,
    new_engine,
    says,
)

# Answers that walk the example onboarding: language, four walkthrough parts, the
# check question, agreement, interests, mentor.
ONBOARDING_ANSWERS = ["English", "1", "1", "1", "1", "1", "1", "1 3", "1"]


async def onboard(engine: Engine, name: str, answers: list[str] | None = None) -> None:
    await engine.handle(joined(name))
    for answer in answers or ONBOARDING_ANSWERS:
        await engine.handle(says(name, answer))


def profile(engine: Engine, name: str) -> dict[str, object]:
    stored = engine.services.store.load_profile("example", f"test:{name}")
    assert stored is not None
    return stored


def step_of(engine: Engine, name: str) -> str | None:
    state = engine.services.store.load_conversation("example", f"test:{name}")
    return state["frames"][-1]["step"] if state else None


async def test_whole_onboarding_is_stored(engine: Engine, adapter: RecordingAdapter) -> None:
    await onboard(engine, "ana")
    stored = profile(engine, "ana")
    assert stored["onboarded"] is True
    assert stored["acknowledged_version"] == engine.services.coc.version
    assert stored["interests"] == ["translation", "code"]
    assert stored["mentor"] == "test:maria"
    assert step_of(engine, "ana") is None  # the dialog ended
    assert GrantRole(member("ana"), "member") in adapter.sent
    # The mentor hears about the newcomer in a direct message.
    notices = [a for a in adapter.sent if isinstance(a, Say) and a.to.id == "maria"]
    assert len(notices) == 1 and "test:ana" in notices[0].text
    acks = engine.services.store.acknowledgements("example", "test:ana")
    assert [version for version, _ in acks] == [engine.services.coc.version]
    assert any("#translation" in text for text in adapter.texts("ana"))


async def test_every_question_offers_a_person_and_numbers(
    engine: Engine, adapter: RecordingAdapter
) -> None:
    await engine.handle(joined("ana"))
    asks = [a for a in adapter.sent if isinstance(a, Ask)]
    assert asks, "the welcome asks for a language"
    assert asks[-1].choices[-1].key.partition("~")[0] == "person"
    assert "1. English" in asks[-1].text


async def test_choice_by_button_and_by_words(engine: Engine, adapter: RecordingAdapter) -> None:
    await engine.handle(joined("ana"))
    await engine.handle(chooses("ana", "es"))
    assert profile(engine, "ana")["chosen_locale"] == "es"
    adapter.take()
    await engine.handle(says("ana", "siga"))  # a word from "Sigue/Seguir"-like labels
    await engine.handle(command("ana", "/language"))
    await engine.handle(says("ana", "francais"))
    assert profile(engine, "ana")["chosen_locale"] == "fr"


async def test_same_event_twice_is_handled_once(engine: Engine, adapter: RecordingAdapter) -> None:
    event = joined("ana")
    assert await engine.handle(event) is True
    first = len(adapter.sent)
    assert await engine.handle(event) is False
    assert len(adapter.sent) == first
    answer = says("ana", "1")
    await engine.handle(answer)
    after = len(adapter.sent)
    await engine.handle(answer)
    assert len(adapter.sent) == after
    assert step_of(engine, "ana") == "walkthrough"


async def test_restart_resumes_at_the_same_step(
    config: Config, database: Path, clock: ManualClock
) -> None:
    first_adapter = RecordingAdapter()
    first = new_engine(config, database, clock, first_adapter)
    await first.handle(joined("ana"))
    await first.handle(says("ana", "1"))
    await first.handle(says("ana", "1"))
    before = step_of(first, "ana")
    first.services.store.close()

    second_adapter = RecordingAdapter()
    second = new_engine(config, database, clock, second_adapter)
    assert await second.flush_outbox() == 0  # nothing was left undelivered
    assert second_adapter.sent == []  # nothing repeated
    assert step_of(second, "ana") == before
    await second.handle(says("ana", "1"))
    texts = second_adapter.texts("ana")
    assert any("Part 3 of 4" in text for text in texts)
    second.services.store.close()


class FailingAdapter(RecordingAdapter):
    """Fails every delivery after the first ``allow`` ones, like a dropped connection."""

    def __init__(self, allow: int) -> None:
        super().__init__()
        self.allow = allow

    async def deliver(self, action, idempotency_key):  # type: ignore[no-untyped-def]
        if self.allow <= 0:
            raise DeliveryError("connection lost")
        self.allow -= 1
        await super().deliver(action, idempotency_key)


async def test_undelivered_replies_are_sent_once_after_restart(
    config: Config, database: Path, clock: ManualClock
) -> None:
    failing = FailingAdapter(allow=1)
    first = new_engine(config, database, clock, failing)
    await first.handle(joined("ana"))  # welcome delivered, the question is not
    assert len(failing.sent) == 1
    first.services.store.close()

    adapter = RecordingAdapter()
    second = new_engine(config, database, clock, adapter)
    assert await second.flush_outbox() == 1
    assert len(adapter.sent) == 1 and isinstance(adapter.sent[0], Ask)
    assert await second.flush_outbox() == 0
    second.services.store.close()


async def test_what_waited_goes_out_as_soon_as_the_platform_connects_again(
    config: Config, database: Path, clock: ManualClock
) -> None:
    """A platform that lost its connection says it is ready again (``host.ready``): the
    replies that waited go out then, not at the next retry a quarter of a minute later."""
    failing = FailingAdapter(allow=1)
    engine = new_engine(config, database, clock, failing)
    retrying = asyncio.create_task(engine.retry_outbox(every=timedelta(hours=1)))
    try:
        await engine.handle(joined("ana"))  # the welcome goes, the question waits
        assert len(failing.sent) == 1
        failing.allow = 10  # connected again
        engine.platform_ready("test")
        async with asyncio.timeout(5):
            while len(failing.sent) < 2:
                await asyncio.sleep(0.01)
        assert isinstance(failing.sent[1], Ask)
    finally:
        retrying.cancel()
        engine.services.store.close()


class KeyedAdapter(FailingAdapter):
    """Notes the idempotency key of every attempt, failed ones too."""

    def __init__(self, allow: int) -> None:
        super().__init__(allow)
        self.keys: list[tuple[str, str]] = []

    async def deliver(self, action, idempotency_key):  # type: ignore[no-untyped-def]
        self.keys.append((type(action).__name__, idempotency_key))
        await super().deliver(action, idempotency_key)


async def test_an_action_delivered_again_after_a_restart_has_the_same_key(
    config: Config, database: Path, clock: ManualClock
) -> None:
    first_adapter = KeyedAdapter(allow=1)
    first = new_engine(config, database, clock, first_adapter)
    await first.handle(joined("ana"))  # the welcome goes out, the question fails
    first.services.store.close()
    (_, welcome), (kind, question) = first_adapter.keys
    assert kind == "Ask" and welcome != question

    again = KeyedAdapter(allow=10)
    second = new_engine(config, database, clock, again)
    assert await second.flush_outbox() == 1
    assert again.keys == [("Ask", question)]  # the platform can tell it is the same
    second.services.store.close()


async def test_a_thousand_members_interleaved(engine: Engine) -> None:
    names = [f"m{i}" for i in range(1000)]
    await asyncio.gather(*(engine.handle(joined(n)) for n in names))
    for answer in ONBOARDING_ANSWERS:
        await asyncio.gather(*(engine.handle(says(n, answer)) for n in names))
    for name in names:
        assert profile(engine, name)["onboarded"] is True
        assert step_of(engine, name) is None
    assert len(engine._cache) <= engine._cache_size


async def test_cache_stays_bounded(config: Config, database: Path, clock: ManualClock) -> None:
    from dataclasses import replace

    from bot.app import build_engine

    small = build_engine(replace(config, live_conversations=10), database, clock)
    small.add_adapter(RecordingAdapter())
    for i in range(50):
        await small.handle(joined(f"m{i}"))
    assert len(small._cache) == 10
    await small.handle(says("m0", "1"))  # evicted from the cache, read from SQLite
    assert step_of(small, "m0") == "walkthrough"
    small.services.store.close()


async def test_events_of_one_member_keep_their_order(engine: Engine) -> None:
    await engine.handle(joined("ana"))
    await asyncio.gather(*(engine.handle(says("ana", "1")) for _ in range(3)))
    # language, then two walkthrough parts: in order, none lost.
    assert step_of(engine, "ana") == "walkthrough"
    state = engine.services.store.load_conversation("example", "test:ana")
    assert state is not None and state["frames"][-1]["values"]["walk"] == "3"


async def test_odd_input_gets_a_helpful_answer(engine: Engine, adapter: RecordingAdapter) -> None:
    await engine.handle(joined("ana"))
    odd = ["", "x" * 10_000, "🙂🙂🙂", "\u202eevil\u202c", "99", "-1", "0"]
    for text in odd:
        adapter.take()
        await engine.handle(says("ana", text))
        replies = adapter.texts("ana")
        assert replies, f"no answer to {text[:20]!r}"
        assert "number from 1 to" in replies[0]
        assert step_of(engine, "ana") == "choose_language"
    # After three misunderstandings a person is offered.
    assert any("/human" in text for text in adapter.texts("ana"))


async def test_platform_locale_pt_br_and_unknown(engine: Engine, adapter: RecordingAdapter) -> None:
    await engine.handle(joined("bia", locale="pt-BR"))
    greeting = adapter.texts("bia")[0]
    portuguese = engine.services.catalogs.translator("pt-BR").gettext("onboarding.welcome")
    assert greeting.startswith(portuguese.split("{")[0]) and "Example Community" in greeting
    await engine.handle(joined("kim", locale="xx-Nowhere"))
    assert adapter.texts("kim")[0].startswith("Welcome to")


async def test_explicit_choice_beats_platform_locale(
    engine: Engine, adapter: RecordingAdapter
) -> None:
    await engine.handle(joined("bia", locale="pt-BR"))
    await engine.handle(says("bia", "English", locale="pt-BR"))
    adapter.take()
    await engine.handle(command("bia", "/help"))
    assert adapter.texts("bia")[0].startswith("Here is what I can do")


async def test_reminder_when_a_newcomer_stalls(
    engine: Engine, adapter: RecordingAdapter, clock: ManualClock
) -> None:
    await engine.handle(joined("ana"))
    await engine.handle(says("ana", "1"))
    adapter.take()
    clock.advance(timedelta(days=1))
    assert await engine.fire_due_timers() == 0
    clock.advance(timedelta(days=1, minutes=1))
    assert await engine.fire_due_timers() == 1
    texts = adapter.texts("ana")
    assert "not finished" in texts[0] and "Shall we go on?" in texts[1]


async def test_no_reminder_after_agreeing_and_a_checkin_later(
    engine: Engine, adapter: RecordingAdapter, clock: ManualClock
) -> None:
    await onboard(engine, "ana")
    adapter.take()
    clock.advance(timedelta(days=3))
    await engine.fire_due_timers()
    assert adapter.texts("ana") == []
    clock.advance(timedelta(days=5))
    assert await engine.fire_due_timers() == 1
    assert "How is it going?" in adapter.texts("ana")[0]
    await engine.handle(says("ana", "1"))
    assert "good to hear" in adapter.texts("ana")[-1]


async def test_talk_to_a_person_at_any_step(engine: Engine, adapter: RecordingAdapter) -> None:
    await engine.handle(joined("ana"))
    await engine.handle(says("ana", "1"))
    await engine.handle(says("ana", "talk to a person"))
    notices = [a for a in adapter.sent if isinstance(a, NotifyModerators)]
    assert len(notices) == 1 and "test:ana" in notices[0].text
    assert step_of(engine, "ana") == "walkthrough"
    await engine.handle(command("ana", "/human"))
    assert len([a for a in adapter.sent if isinstance(a, NotifyModerators)]) == 2


async def test_coc_command_lists_explains_and_searches(
    engine: Engine, adapter: RecordingAdapter
) -> None:
    await engine.handle(command("ana", "/coc"))
    listing = adapter.texts("ana")[-1]
    assert "1. Be kind" in listing
    adapter.take()
    await engine.handle(command("ana", "/coc 4"))
    assert adapter.texts("ana")[0].startswith("4. No harassment")
    adapter.take()
    await engine.handle(says("ana", "2"))  # no more parts, thanks
    adapter.take()
    await engine.handle(says("ana", "someone keeps sending me nasty private messages"))
    assert "No harassment" in adapter.texts("ana")[0]


async def test_coc_in_the_members_language(engine: Engine, adapter: RecordingAdapter) -> None:
    await engine.handle(joined("eva", locale="es-ES"))
    adapter.take()
    await engine.handle(command("eva", "/coc 1"))
    english = engine.services.catalogs.translator("en").gettext("coc.be-kind.title")
    spanish = engine.services.catalogs.translator("es").gettext("coc.be-kind.title")
    assert spanish != english
    assert spanish in adapter.texts("eva")[0]


async def test_coc_question_during_onboarding_returns_to_it(
    engine: Engine, adapter: RecordingAdapter
) -> None:
    await engine.handle(joined("ana"))
    await engine.handle(says("ana", "1"))
    await engine.handle(command("ana", "/coc 2"))
    await engine.handle(says("ana", "no"))  # "No, that is all"
    assert "Shall we go on?" in adapter.texts("ana")[-1]
    assert step_of(engine, "ana") == "walkthrough"


async def test_new_code_of_conduct_version_asks_again(
    config: Config, database: Path, clock: ManualClock, tmp_path: Path
) -> None:
    from dataclasses import replace

    adapter = RecordingAdapter()
    first = new_engine(config, database, clock, adapter)
    await onboard(first, "ana")
    first.services.store.close()

    changed = tmp_path / "coc.yaml"
    changed.write_text(
        config.code_of_conduct.read_text("utf-8").replace(
            'version: "2026-11"', 'version: "2027-01"'
        ),
        "utf-8",
    )
    second_adapter = RecordingAdapter()
    second = new_engine(replace(config, code_of_conduct=changed), database, clock, second_adapter)
    assert second.schedule_reacknowledgements() == 1
    await second.fire_due_timers()
    texts = second_adapter.texts("ana")
    assert "2027-01" in texts[0]
    await second.handle(says("ana", "1"))
    versions = [v for v, _ in second.services.store.acknowledgements("example", "test:ana")]
    assert versions == ["2026-11", "2027-01"]
    assert second.schedule_reacknowledgements() == 0
    second.services.store.close()


async def test_channel_chatter_is_ignored_and_private_flows_stay_private(
    engine: Engine, adapter: RecordingAdapter
) -> None:
    await engine.handle(says("ana", "hello everyone", channel="general"))
    assert adapter.sent == []
    await engine.handle(joined("ana"))
    adapter.take()
    await engine.handle(says("ana", "1", channel="general"))
    assert adapter.sent == []  # the direct-message question is not answered in public
    assert step_of(engine, "ana") == "choose_language"


async def test_stop_continue_and_unknown_commands(
    engine: Engine, adapter: RecordingAdapter
) -> None:
    await engine.handle(joined("ana"))
    await engine.handle(command("ana", "/continue"))
    assert "which language" in adapter.texts("ana")[-1]
    await engine.handle(command("ana", "/stop"))
    assert step_of(engine, "ana") is None
    await engine.handle(command("ana", "/continue"))
    assert "nothing to continue" in adapter.texts("ana")[-1]
    await engine.handle(command("ana", "/frobnicate"))
    assert "/frobnicate" in adapter.texts("ana")[-1]


async def test_flood_is_slowed_down(engine: Engine, adapter: RecordingAdapter) -> None:
    await engine.handle(joined("ana"))
    for _ in range(40):
        await engine.handle(says("ana", "??"))
    warnings = [t for t in adapter.texts("ana") if "very fast" in t]
    assert len(warnings) == 1


async def test_lively_channel_talk_is_never_slowed_down_nor_told_off_in_public(
    config: Config, database: Path, clock: ManualClock
) -> None:
    """Forty messages a minute in a channel where no question of hers waits: Concord
    says nothing. Where her welcome waits in the channel, a flood is slowed down and she
    alone is told so, in a direct message, never in front of everyone."""
    adapter = RecordingAdapter()
    engine = new_engine(config, database, clock, adapter)
    await engine.handle(joined("ana"))
    for _ in range(40):
        await engine.handle(says("ana", "so true!", channel="general"))
    assert not [a for a in adapter.take() if isinstance(a, Say | Ask) and "very fast" in a.text]
    welcome = replace(config, onboarding=replace(config.onboarding, welcome="channel"))
    channel = new_engine(welcome, database.with_name("channel.db"), clock, adapter)
    await channel.handle(joined("eva"))
    for _ in range(40):
        await channel.handle(says("eva", "??", channel=welcome.onboarding.welcome_channel))
    told = [a for a in adapter.sent if isinstance(a, Say) and "very fast" in a.text]
    assert len(told) == 1 and told[0].to == Place.direct(member("eva"))
    engine.services.store.close()
    channel.services.store.close()


def test_the_flood_limit_forgets_whoever_is_quiet_and_stays_bounded() -> None:
    from bot.engine.middleware import RateLimit

    limit = RateLimit(per_minute=3, max_members=100)
    start = ManualClock().now()
    # A burst: the fourth message within the minute is refused, and warned about once.
    assert [limit.allow("ana", start) for _ in range(5)] == [(True, False)] * 3 + [
        (False, True),
        (False, False),
    ]
    # A member quiet for a minute has a full bucket again: nothing of them is kept.
    later = start + timedelta(seconds=61)
    limit.allow("bo", later)
    assert list(limit.buckets) == ["bo"]
    assert limit.allow("ana", later) == (True, False)
    # However many members write within one minute, at most max_members are kept.
    for i in range(1000):
        limit.allow(f"m{i}", later)
    assert len(limit.buckets) == 100 and "m999" in limit.buckets


async def test_welcome_in_a_channel_then_private(
    config: Config, database: Path, clock: ManualClock
) -> None:
    from dataclasses import replace

    channel_config = replace(config, onboarding=replace(config.onboarding, welcome="channel"))
    adapter = RecordingAdapter()
    engine = new_engine(channel_config, database, clock, adapter)
    await engine.handle(joined("ana"))
    assert {a.to.id for a in adapter.take() if isinstance(a, Say | Ask)} == {"welcome"}
    await engine.handle(says("ana", "1", channel="welcome"))
    assert {a.to.id for a in adapter.take() if isinstance(a, Say | Ask)} == {"welcome"}
    await engine.handle(says("ana", "1"))  # she moves to a direct message: it follows her
    assert {a.to.id for a in adapter.take() if isinstance(a, Say | Ask)} == {"ana"}
    await engine.handle(says("ana", "1", channel="welcome"))
    assert adapter.sent == []  # and never goes back to the public channel
    engine.services.store.close()


async def test_without_required_agreement_the_role_comes_at_once(
    config: Config, database: Path, clock: ManualClock
) -> None:
    from dataclasses import replace

    relaxed = replace(config, onboarding=replace(config.onboarding, acknowledgement_required=False))
    adapter = RecordingAdapter()
    engine = new_engine(relaxed, database, clock, adapter)
    await engine.handle(joined("ana"))
    await engine.handle(says("ana", "1"))
    assert GrantRole(member("ana"), "member") in adapter.sent
    clock.advance(timedelta(days=3))
    adapter.take()
    await engine.fire_due_timers()
    assert adapter.sent == []  # no reminder to agree when agreeing is not required
    engine.services.store.close()


async def test_mentors_respect_capacity_and_language(
    engine: Engine, adapter: RecordingAdapter
) -> None:
    # Maria (es, capacity 1) takes the first Spanish speaker; the next goes to Amani.
    spanish = ["Español", "1", "1", "1", "1", "1", "1", "1", "1"]
    await onboard(engine, "eva", spanish)
    await onboard(engine, "luis", spanish)
    assert profile(engine, "eva")["mentor"] == "test:maria"
    assert profile(engine, "luis")["mentor"] == "test:amani"
    notices = [a for a in adapter.sent if isinstance(a, Say) and a.to.id == "maria"]
    assert len(notices) == 1
    spanish_notice = engine.services.catalogs.translator("es").gettext("onboarding.mentor_notice")
    assert notices[0].text.startswith(spanish_notice.split("{")[0])  # in her language


class TelegramLikeAdapter(RecordingAdapter):
    """A platform where the bot may not write first to a member."""

    capabilities = Capabilities(native_choices=True, direct_first=False)


async def test_where_the_bot_may_not_write_first_it_invites_to_a_private_chat(
    config: Config, database: Path, clock: ManualClock
) -> None:
    adapter = TelegramLikeAdapter()
    engine = new_engine(config, database, clock, adapter)
    group = Place("test", PlaceKind.CHANNEL, "group")
    await engine.handle(MemberJoined("j1", "example", member("ana"), place=group))
    [offer] = adapter.take()
    assert isinstance(offer, OfferPrivateChat) and offer.to == group
    assert "ana" in offer.text.lower() and offer.button
    assert step_of(engine, "ana") is None  # nothing is asked where she cannot answer
    await engine.handle(command("ana", "/start"))
    assert step_of(engine, "ana") == "choose_language"
    assert all(
        a.to == Place.direct(member("ana")) for a in adapter.sent if isinstance(a, Say | Ask)
    )
    engine.services.store.close()


class RestrictingAdapter(RecordingAdapter):
    """A platform whose groups hold newcomers silent until they agree."""

    capabilities = Capabilities(native_choices=True, restricts_newcomers=True)


async def test_the_core_holds_a_newcomer_silent_until_they_agree(
    config: Config, database: Path, clock: ManualClock
) -> None:
    """Holding a newcomer is the core's decision, performed by the adapter: a member who
    never agreed is restricted where they joined, before anything else is sent; agreeing
    grants the role that lets them in; joining another group afterwards holds nobody."""
    adapter = RestrictingAdapter()
    engine = new_engine(config, database, clock, adapter)
    group, other = (Place("test", PlaceKind.CHANNEL, name) for name in ("group", "other"))
    await engine.handle(MemberJoined("j1", "example", member("ana"), place=group))
    sent = adapter.take()
    assert sent[0] == Restrict(group, member("ana"))
    assert [a for a in sent if isinstance(a, Restrict)] == [sent[0]]
    for answer in ONBOARDING_ANSWERS:
        await engine.handle(says("ana", answer))
    assert GrantRole(member("ana"), "member") in adapter.take()
    await engine.handle(MemberJoined("j2", "example", member("ana"), place=other))
    assert not [a for a in adapter.take() if isinstance(a, Restrict)]
    # A join the platform reports without a place, or on a platform that does not
    # restrict, holds nobody.
    await engine.handle(MemberJoined("j3", "example", member("eva")))
    assert not [a for a in adapter.take() if isinstance(a, Restrict)]
    engine.services.store.close()


async def test_without_onboarding_nobody_is_held(
    config: Config, database: Path, clock: ManualClock
) -> None:
    """Nothing would ever let a held member in: with onboarding off, nobody is held."""
    adapter = RestrictingAdapter()
    off = replace(config, onboarding=replace(config.onboarding, enabled=False))
    engine = new_engine(off, database, clock, adapter)
    group = Place("test", PlaceKind.CHANNEL, "group")
    await engine.handle(MemberJoined("j1", "example", member("ana"), place=group))
    assert not [a for a in adapter.take() if isinstance(a, Restrict)]
    engine.services.store.close()


class BuggyAdapter(RecordingAdapter):
    """An adapter that cannot deliver one kind of action (a bug, not a network error)."""

    async def deliver(self, action, idempotency_key):  # type: ignore[no-untyped-def]
        if isinstance(action, GrantRole):
            raise TypeError("unsupported action")
        await super().deliver(action, idempotency_key)


async def test_an_adapter_bug_does_not_block_later_messages(
    config: Config, database: Path, clock: ManualClock
) -> None:
    adapter = BuggyAdapter()
    engine = new_engine(config, database, clock, adapter)
    await onboard(engine, "ana", ONBOARDING_ANSWERS[:7])  # up to the agreement: a role
    for _ in range(3):
        await engine.flush_outbox()
    assert engine.services.store.pending_outbox() == []
    await engine.handle(says("ana", "1 3"))
    assert "Good places to start" in adapter.texts("ana")[-2]
    engine.services.store.close()
