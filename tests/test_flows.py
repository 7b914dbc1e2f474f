"""Several flows at once, end to end with a real SQLite file: each place has one
question standing; an answer goes only to the flow whose question the member saw last
in that place; a flow Concord begins while another waits is queued and says so;
"talk to a person" is understood at every question."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import build_engine
from bot.config.community import Config
from bot.core.actions import Ask, Capabilities, NotifyModerators
from bot.core.clock import ManualClock
from bot.core.errors import ConfigError
from bot.core.events import ChoiceMade, MemberJoined, Place, PlaceKind, TextSaid
from bot.core.state import conversation_from_dict
from bot.dialogs.loader import DialogRules, load_dialog_file
from bot.engine.engine import Engine
from bot.features import all_features
from bot.store.types import Changes
from tests.test_mediation import (
    REQUEST,
    RelayAdapter,
    case,
    eid,
    join,
    ref,
    request,
    run,
    say,
    to_joint_session,
)
from tests.test_mediation import config as config  # the mediation community, on "test"

ACTIONS, CHOICE_SOURCES = all_features().actions, all_features().choice_sources

# The rest of the example onboarding after the language: four walkthrough parts, the
# check question, agreement, interests, no mentor.
ONBOARDING_AFTER_LANGUAGE = ["1", "1", "1", "1", "1", "1", "1 3", "2"]


def engine_on(config: Config, tmp_path: Path, clock: ManualClock, adapter: RelayAdapter) -> Engine:
    engine = build_engine(config, tmp_path / "flows.db", clock)
    engine.add_adapter(adapter)
    return engine


def questions(adapter: RelayAdapter, name: str) -> list[Ask]:
    return [a for a in adapter.sent if isinstance(a, Ask) and a.to.id == name]


def press(name: str, key: str) -> ChoiceMade:
    who = ref(name)
    return ChoiceMade(eid(), "example", who, place=Place.direct(who), choice=key)


def key_of(question: Ask, bare: str) -> str:
    """The key a button of ``question`` carries for the answer ``bare``."""
    return next(c.key for c in question.choices if c.key.partition("~")[0] == bare)


def talked_to_person(adapter: RelayAdapter) -> int:
    return len([a for a in adapter.sent if isinstance(a, NotifyModerators)])


# An answer taken by the wrong flow ---------------------------------------------------


@pytest.mark.parametrize("restart", [False, True], ids=["same-run", "restart-between"])
async def test_an_invitation_during_onboarding_waits_its_turn(
    config: Config, tmp_path: Path, restart: bool
) -> None:
    clock, adapter = ManualClock(), RelayAdapter()
    engine = engine_on(config, tmp_path, clock, adapter)
    await join(engine, "ana")
    await engine.handle(MemberJoined(eid(), "example", ref("sam")))  # sam stays in onboarding
    adapter.clear()
    await request(engine)  # ana asks for mediation with sam while sam is at step 1
    told = adapter.to("sam")
    assert any("another question for you" in text for text in told)
    assert "which language" in told[-1]  # the one question standing for sam
    assert not any("Would you like to take part?" in text for text in told)
    if restart:
        engine.services.store.close()
        engine = engine_on(config, tmp_path, clock, adapter)
    await say(engine, "sam", "1")  # meant for the language
    stored = engine.services.store.load_profile("example", "test:sam")
    assert stored is not None and stored["chosen_locale"] == "en"
    assert case(engine).member("test:sam").state["consent"] == "pending"
    for answer in ONBOARDING_AFTER_LANGUAGE:
        await say(engine, "sam", answer)
    stored = engine.services.store.load_profile("example", "test:sam")
    assert stored is not None and stored["onboarded"] is True
    # Onboarding is over: now the invitation, alone.
    assert "Would you like to take part?" in questions(adapter, "sam")[-1].text
    adapter.clear()
    await say(engine, "sam", "1")  # accepts
    statement = ["Pages were changed.", "I felt ignored.", "Ask first.", "2"]
    for answer in statement:
        await say(engine, "sam", answer)
    asked = [q.text for q in questions(adapter, "sam")]
    assert not any("which language" in text for text in asked)
    assert len([t for t in asked if "Step 1 of 3" in t]) == 1  # what happened, asked once
    texts = [t.text for t in engine.services.store.cases.texts(1) if t.author == "test:sam"]
    assert "Pages were changed." in texts and "1" not in texts
    engine.services.store.close()


async def test_a_queued_invitation_says_its_deadline_as_it_stands_when_shown(
    config: Config, tmp_path: Path
) -> None:
    """Queued behind onboarding for two days, the invitation says "in 1 day", the time
    truly left, not the "in 3 days" it had when it queued."""
    clock, adapter = ManualClock(), RelayAdapter()
    engine = engine_on(config, tmp_path, clock, adapter)
    await join(engine, "ana")
    await engine.handle(MemberJoined(eid(), "example", ref("sam")))  # sam stays in onboarding
    await request(engine)
    clock.advance(timedelta(days=2))
    for answer in ["1", *ONBOARDING_AFTER_LANGUAGE]:
        await say(engine, "sam", answer)
    invitation = questions(adapter, "sam")[-1].text
    assert "Would you like to take part?" in invitation
    assert "If I do not hear from you in 1 day," in invitation, invitation
    engine.services.store.close()


async def test_an_invitation_that_expires_unseen_is_not_named(
    config: Config, tmp_path: Path
) -> None:
    """Still queued when it expires: the member, who was told only that another question
    would follow, hears that it is no longer needed; never about an invitation they did
    not see. Nothing is asked later."""
    clock, adapter = ManualClock(), RelayAdapter()
    engine = engine_on(config, tmp_path, clock, adapter)
    await join(engine, "ana")
    await engine.handle(MemberJoined(eid(), "example", ref("sam")))  # sam stays in onboarding
    await request(engine)
    clock.advance(timedelta(days=3, minutes=1))
    adapter.clear()
    await engine.fire_due_timers()
    told = adapter.to("sam")
    assert any("other question I had for you is no longer needed" in t for t in told), told
    assert not any("invitation" in t.lower() or "case 1" in t for t in told), told
    assert any("declined or not answered" in t for t in adapter.to("ana"))
    for answer in ["1", *ONBOARDING_AFTER_LANGUAGE]:
        await say(engine, "sam", answer)
    assert not any("take part" in q.text for q in questions(adapter, "sam"))
    engine.services.store.close()


async def test_a_question_in_a_channel_takes_no_words_from_elsewhere(
    config: Config, tmp_path: Path
) -> None:
    class SpaceAdapter(RelayAdapter):
        capabilities = Capabilities(native_choices=True, private_spaces=True)

    clock, adapter = ManualClock(), SpaceAdapter()
    engine = engine_on(config, tmp_path, clock, adapter)
    await to_joint_session(engine)  # ana and sam talk in the private space "case-1"
    await run(engine, "ana", "/coc 1", channel="general")
    assert "another part" in adapter.to("general")[-1]
    adapter.clear()
    await say(engine, "ana", "1", space="case-1")  # said to the people in the session
    assert adapter.sent == []
    await say(engine, "ana", "someone keeps insulting me")  # a question of her own, in DM
    assert adapter.to("ana") and not adapter.to("general")
    adapter.clear()
    await engine.handle(press("ana", "done"))  # a button in her DM: the DM's own question
    assert not adapter.to("general")
    await say(engine, "ana", "2", space="case-1")
    await run(engine, "ana", "/coc", channel="general")  # the channel's question still stands
    assert "Which part would you like to read?" in adapter.to("general")[-1]
    engine.services.store.close()


async def test_a_button_under_an_older_question_is_not_taken_by_the_newer(
    config: Config, tmp_path: Path
) -> None:
    clock, adapter = ManualClock(), RelayAdapter()
    engine = engine_on(config, tmp_path, clock, adapter)
    await engine.handle(MemberJoined(eid(), "example", ref("ana")))
    await say(engine, "ana", "1")
    part_one = questions(adapter, "ana")[-1]
    await engine.handle(press("ana", key_of(part_one, "next")))
    assert any("Part 2 of 4" in text for text in adapter.to("ana"))
    engine.services.store.close()  # a restart: which question stands is stored
    engine = engine_on(config, tmp_path, clock, adapter)
    await engine.handle(press("ana", key_of(part_one, "next")))  # the same button again
    assert not any("Part 3 of 4" in text for text in adapter.to("ana"))
    assert "earlier question" in adapter.to("ana")[-2]
    assert "Shall we go on?" in adapter.to("ana")[-1]
    await run(engine, "ana", "/stop")

    # Across flows: the "Send" of a mediation request, pressed while a report asks.
    await join(engine, "sam")
    await run(engine, "ana", "/mediate sam")
    for answer in REQUEST[:-1]:
        await say(engine, "ana", answer)
    send_invitation = questions(adapter, "ana")[-1]
    assert "Shall I send the invitation?" in send_invitation.text
    await run(engine, "ana", "/report")
    for answer in ["2", "Insults.", "bo", "Today", "1", "Screenshots.", "2"]:
        await say(engine, "ana", answer)
    adapter.clear()
    await engine.handle(press("ana", key_of(send_invitation, "send")))
    assert "earlier question" in adapter.to("ana")[0]
    assert not any("Your report is number" in text for text in adapter.to("ana"))
    assert case(engine).status == "screening"  # sam was not invited
    await engine.handle(press("ana", key_of(questions(adapter, "ana")[-1], "send")))
    assert any("Your report is number" in text for text in adapter.to("ana"))
    # The report is done: the mediation request asks its question again.
    assert "Shall I send the invitation?" in questions(adapter, "ana")[-1].text
    engine.services.store.close()


async def test_a_conversation_stored_as_one_stack_still_loads(
    config: Config, tmp_path: Path
) -> None:
    clock, adapter = ManualClock(), RelayAdapter()
    engine = engine_on(config, tmp_path, clock, adapter)
    general = Place("test", PlaceKind.CHANNEL, "general")
    old = {  # as stored when a conversation was one stack of frames
        "member": {"platform": "test", "id": "ana", "name": "ana"},
        "frames": [
            {
                "dialog": "onboarding",
                "step": "walkthrough",
                "values": {"walk": "1", "walk_section": "be-kind"},
                "waiting": True,
                "invalid_count": 0,
            },
            {
                "dialog": "coc",
                "step": "more",
                "place": {"platform": "test", "kind": "channel", "id": "general"},
                "values": {},
                "waiting": True,
                "invalid_count": 0,
            },
        ],
    }
    loaded = conversation_from_dict("example", old)
    assert [f.place for f in loaded.frames] == [Place.direct(ref("ana")), general]
    engine.services.store.apply(
        Changes(at=clock.now(), conversations={("example", "test:ana"): old})
    )
    await say(engine, "ana", "1")  # in the DM: the onboarding's question takes it
    assert any("Part 2 of 4" in text for text in adapter.to("ana"))
    assert not adapter.to("general")
    await engine.handle(TextSaid(eid(), "example", ref("ana"), place=general, text="2"))
    assert "/coc" in adapter.to("general")[-1]  # "No, that is all", answered where asked
    engine.services.store.close()


# Talk to a person, at every question ---------------------------------------------------


async def test_talk_to_a_person_at_the_language_question_and_in_typed_words(
    config: Config, tmp_path: Path
) -> None:
    clock, adapter = ManualClock(), RelayAdapter()
    engine = engine_on(config, tmp_path, clock, adapter)
    await join(engine, "ana")
    await run(engine, "ana", "/language")
    language = questions(adapter, "ana")[-1]
    assert language.choices[-1].label == "Talk to a person"
    await engine.handle(press("ana", key_of(language, "other")))  # "Another language"
    await say(engine, "ana", "talk to a person")  # at the free-text language search
    assert talked_to_person(adapter) == 1
    assert not any("could not find" in text for text in adapter.to("ana"))
    assert "Which language" in adapter.to("ana")[-1] or "name" in adapter.to("ana")[-1]


async def test_a_request_for_a_person_in_a_sentence_and_in_the_members_language(
    config: Config, tmp_path: Path
) -> None:
    clock, adapter = ManualClock(), RelayAdapter()
    engine = engine_on(config, tmp_path, clock, adapter)
    await engine.handle(MemberJoined(eid(), "example", ref("ana")))
    await say(engine, "ana", "1")
    await say(engine, "ana", "I would like to talk to a person please")  # at the walkthrough
    assert talked_to_person(adapter) == 1
    assert "Shall we go on?" in adapter.to("ana")[-1]  # and the question stands
    await engine.handle(MemberJoined(eid(), "example", ref("eva"), locale="es"))
    await say(engine, "eva", "1")
    await say(engine, "eva", "Quiero hablar con una persona, por favor")
    assert talked_to_person(adapter) == 2
    # Inside a long account at a free-text question, the words are the account.
    await run(engine, "ana", "/stop")
    await run(engine, "ana", "/mediate eva")
    account = "We argued for weeks and I wanted to talk to a person I trust about the reviews"
    await say(engine, "ana", account)
    assert talked_to_person(adapter) == 2
    assert "Step 2 of 5" in adapter.to("ana")[-1]


RULES = DialogRules({"m.q", "m.a"}, set(ACTIONS), set(CHOICE_SOURCES))
OPTED_OUT = """\
dialog: demo
talk_to_person: false
start: q
steps:
  q:
    ask:
      message: m.q
      choices:
        - {key: a, label: m.a, next: end}
"""


def test_a_dialog_opts_out_of_talk_to_a_person_only_saying_why(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(OPTED_OUT, "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_dialog_file(path, RULES)
    assert caught.value.key == "talk_to_person" and "no_person_because" in str(caught.value)
    path.write_text(
        OPTED_OUT.replace("start:", "no_person_because: it would name the member\nstart:"),
        "utf-8",
    )
    assert load_dialog_file(path, RULES).talk_to_person is False


# Words members use ---------------------------------------------------------------------


async def test_continue_and_yes_go_on_and_no_gets_a_reply(config: Config, tmp_path: Path) -> None:
    clock, adapter = ManualClock(), RelayAdapter()
    engine = engine_on(config, tmp_path, clock, adapter)
    await engine.handle(MemberJoined(eid(), "example", ref("ana")))
    await say(engine, "ana", "1")
    await say(engine, "ana", "continue")
    assert any("Part 2 of 4" in text for text in adapter.to("ana"))
    await say(engine, "ana", "yes")
    assert any("Part 3 of 4" in text for text in adapter.to("ana"))
    await run(engine, "ana", "/stop")
    await run(engine, "ana", "/coc 1")
    adapter.clear()
    await say(engine, "ana", "no")  # "Would you like to read another part?"
    assert adapter.to("ana") == [
        "All right. You can read the code of conduct again at any time with /coc."
    ]


async def test_coc_inside_coc_lists_the_parts(config: Config, tmp_path: Path) -> None:
    clock, adapter = ManualClock(), RelayAdapter()
    engine = engine_on(config, tmp_path, clock, adapter)
    await join(engine, "ana")
    await run(engine, "ana", "/coc 2")
    assert "another part" in adapter.to("ana")[-1]
    await run(engine, "ana", "/coc")
    assert "Which part would you like to read?" in adapter.to("ana")[-1]
    assert "1. Be kind" in adapter.to("ana")[-1]


async def test_in_a_report_a_person_is_offered_and_the_reporter_is_asked_before_being_named(
    config: Config, tmp_path: Path
) -> None:
    clock, adapter = ManualClock(), RelayAdapter()
    engine = engine_on(config, tmp_path, clock, adapter)
    await join(engine, "ana")
    await run(engine, "ana", "/report")
    kind = questions(adapter, "ana")[-1]
    assert "Step 1 of 8" in kind.text and kind.choices[-1].label == "Talk to a person"
    await engine.handle(press("ana", key_of(kind, "person")))
    assert talked_to_person(adapter) == 0  # not yet: may the team know who she is?
    assert "who you are" in adapter.to("ana")[-1]
    await say(engine, "ana", "2")  # no: they hear of the request without her name
    assert talked_to_person(adapter) == 1
    unnamed = [a.text for a in adapter.sent if isinstance(a, NotifyModerators)][-1]
    assert "ana" not in unnamed and "test:ana" not in unnamed
    assert "Step 1 of 8" in adapter.to("ana")[-1]  # back to the report
    for answer in ["2", "Insults.", "bo", "Today", "1", "Screenshots."]:
        await say(engine, "ana", answer)
    identity = questions(adapter, "ana")[-1]
    assert "Step 7 of 8" in identity.text and identity.choices[-1].label == "Talk to a person"
    await run(engine, "ana", "/human")  # the command asks first too
    assert talked_to_person(adapter) == 1 and "who you are" in adapter.to("ana")[-1]
    await say(engine, "ana", "1")  # yes, tell them
    assert talked_to_person(adapter) == 2
    named = [a.text for a in adapter.sent if isinstance(a, NotifyModerators)][-1]
    assert "test:ana" in named
    assert "Step 7 of 8" in adapter.to("ana")[-1]  # and the report goes on
    await say(engine, "ana", "2")  # pseudonymous
    confirm = questions(adapter, "ana")[-1]
    assert "Step 8 of 8" in confirm.text and confirm.choices[-1].label == "Talk to a person"
    for notice in [a for a in adapter.sent if isinstance(a, NotifyModerators)]:
        assert "Insults." not in notice.text and "Screenshots." not in notice.text
