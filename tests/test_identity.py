"""Linked identities: one member's accounts on two platforms joined at their request,
private by default, and every way it can go wrong off the happy path."""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_engine
from bot.config.community import Config
from bot.core.actions import Ask, Capabilities, GrantRole, RemoveMessage, Restrict, Say
from bot.core.clock import ManualClock
from bot.core.events import (
    CommandRun,
    MemberJoined,
    MemberRef,
    Place,
    PlaceKind,
    TextSaid,
)
from bot.core.state import Profile, profile_to_dict
from bot.engine.engine import Engine
from bot.features.identity.codes import code_hash
from bot.features.identity.shared import shared_values, stored_shared_values
from tests.conftest import RecordingAdapter
from tests.test_reports import make_config

C = "example"


class ChatAdapter(RecordingAdapter):
    """A second platform, holding newcomers silent until they agree (as Telegram)."""

    platform = "chat"
    capabilities = Capabilities(native_choices=True, restricts_newcomers=True)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path)


@pytest.fixture
def adapters() -> tuple[RecordingAdapter, ChatAdapter]:
    return RecordingAdapter(), ChatAdapter()


def start(config: Config, path: Path, clock: ManualClock, adapters: Any) -> Engine:
    built = build_engine(config, path, clock)
    for adapter in adapters:
        built.add_adapter(adapter)
    return built


@pytest.fixture
def engine(config: Config, tmp_path: Path, clock: ManualClock, adapters: Any) -> Iterator[Engine]:
    built = start(config, tmp_path / "i.db", clock, adapters)
    yield built
    built.services.store.close()


def who(account: str) -> MemberRef:
    platform, _, name = account.partition(":")
    return MemberRef(platform, name, name.capitalize())


async def run(
    engine: Engine, account: str, text: str, channel: str | None = None, locale: str | None = None
) -> None:
    member = who(account)
    place = Place(member.platform, PlaceKind.CHANNEL, channel) if channel else Place.direct(member)
    words = text.lstrip("/").split()
    event = CommandRun(
        uuid.uuid4().hex,
        C,
        member,
        locale=locale,
        place=place,
        name=words[0],
        args=tuple(words[1:]),
    )
    await engine.handle(event)


async def say(engine: Engine, account: str, text: str, locale: str | None = None) -> None:
    member = who(account)
    await engine.handle(
        TextSaid(uuid.uuid4().hex, C, member, locale=locale, place=Place.direct(member), text=text)
    )


ONBOARDING = ["English", "1", "1", "1", "1", "1", "1", "1 3", "1"]


async def onboarded(engine: Engine, account: str) -> None:
    await engine.handle(MemberJoined(uuid.uuid4().hex, C, who(account)))
    for answer in ONBOARDING:
        await say(engine, account, answer)


def texts(adapter: RecordingAdapter) -> list[str]:
    return [a.text for a in adapter.take() if isinstance(a, Say | Ask)]


async def ask_code(engine: Engine, account: str, adapter: RecordingAdapter) -> str:
    adapter.take()
    await run(engine, account, "/link")
    [reply] = texts(adapter)
    found = re.search(r"\b([A-Z2-9]{6})\b", reply)
    assert found, reply
    return found.group(1)


def profile(engine: Engine, account: str) -> dict[str, Any]:
    stored = engine.services.store.load_profile(C, account)
    assert stored is not None
    return stored


def linked(engine: Engine, account: str) -> list[str]:
    return [a.member for a in engine.services.store.links.accounts(C, account)]


async def link(
    engine: Engine, adapters: Any, issuer: str = "test:ana", claimer: str = "chat:ana"
) -> None:
    """``issuer`` asks for a code, ``claimer`` sends it back; both say yes."""
    by_platform = {a.platform: a for a in adapters}
    code = await ask_code(engine, issuer, by_platform[issuer.split(":")[0]])
    await run(engine, claimer, f"/link {code}")
    await say(engine, claimer, "1")
    await say(engine, issuer, "1")


async def test_two_accounts_link_after_both_confirm_each_in_their_language(
    engine: Engine, adapters: Any, tmp_path: Path
) -> None:
    test, chat = adapters
    await onboarded(engine, "test:ana")
    await run(engine, "chat:ana", "/help", locale="de")  # a German Telegram account
    chat.take(), test.take()
    code = await ask_code(engine, "chat:ana", chat)
    with sqlite3.connect(tmp_path / "i.db") as db:
        [stored] = db.execute("SELECT * FROM link_codes").fetchall()
    assert code_hash(C, code) in stored and not any(code in str(value) for value in stored)
    await run(engine, "test:ana", f"/link {code}")
    question = texts(test)
    assert "came from your Chat account" in question[0]
    assert "Do you want to link the two accounts?" in question[1]
    assert linked(engine, "test:ana") == []  # nothing before both said yes
    await say(engine, "test:ana", "1")
    assert "asked your Chat account to confirm" in texts(test)[0]
    asked = texts(chat)
    assert "von einem Test-Konto zurückgeschickt" in asked[0]
    assert "Möchtest du die beiden Konten verknüpfen?" in asked[1]
    assert linked(engine, "test:ana") == []
    await say(engine, "chat:ana", "1")
    # Linked, the language Ana chose on her first account (English) is hers here too.
    assert "this account and your Test account are linked" in texts(chat)[0]
    assert "this account and your Chat account are linked" in texts(test)[0]
    assert linked(engine, "chat:ana") == ["chat:ana", "test:ana"]
    # Agreeing once is enough everywhere; the language chosen is shared.
    shared = profile(engine, "chat:ana")
    assert shared["acknowledged_version"] == profile(engine, "test:ana")["acknowledged_version"]
    assert shared["onboarded"] and shared["chosen_locale"] == "en"
    # Joining the group on the other platform: no welcome again, not held silent.
    await engine.handle(
        MemberJoined(
            uuid.uuid4().hex, C, who("chat:ana"), place=Place("chat", PlaceKind.CHANNEL, "g")
        )
    )
    sent = chat.take()
    assert not any(isinstance(a, Restrict) for a in sent) and not sent
    # Once used, not even the code's hash is kept.
    with sqlite3.connect(tmp_path / "i.db") as db:
        assert db.execute("SELECT count(*) FROM link_codes").fetchone() == (0,)
    assert engine.services.store.links.code(C, code_hash(C, code)) is None


async def test_a_held_newcomer_is_let_in_when_they_link_an_account_that_agreed(
    engine: Engine, adapters: Any
) -> None:
    _test, chat = adapters
    await onboarded(engine, "test:ana")
    await engine.handle(
        MemberJoined(
            uuid.uuid4().hex, C, who("chat:ana"), place=Place("chat", PlaceKind.CHANNEL, "g")
        )
    )
    assert any(isinstance(a, Restrict) for a in chat.take())
    await link(engine, adapters, issuer="chat:ana", claimer="test:ana")
    sent = chat.take()
    assert GrantRole(who("chat:ana"), "member") in sent
    assert profile(engine, "chat:ana")["onboarded"]
    # The welcome that waited there is over.
    state = engine.services.store.load_conversation(C, "chat:ana")
    assert state is None or not [f for f in state["frames"] if f["dialog"] == "onboarding"]


async def test_wrong_expired_reused_and_own_codes_are_refused_plainly(
    engine: Engine, adapters: Any, clock: ManualClock
) -> None:
    test, chat = adapters
    await run(engine, "chat:bob", "/link ABCDEF")
    assert "That code is not valid" in texts(chat)[0]
    code = await ask_code(engine, "test:ana", test)
    await run(engine, "test:ana", f"/link {code}")
    assert "came from this same account" in texts(test)[0]
    await run(engine, "test:other", f"/link {code}")
    assert "another account on this same platform" in texts(test)[0]
    clock.advance(timedelta(minutes=5, seconds=1))
    await run(engine, "chat:ana", f"/link {code.lower()}")
    assert "That code has expired" in texts(chat)[0]
    code = await ask_code(engine, "test:ana", test)
    await run(engine, "chat:ana", f"/link {code}")
    await say(engine, "chat:ana", "3")  # no
    assert "Nothing was linked" in texts(chat)[-1]
    await run(engine, "chat:ana", f"/link {code}")
    assert "That code is not valid" in texts(chat)[0]  # gone once refused
    code = await ask_code(engine, "test:ana", test)
    await run(engine, "chat:ana", f"/link {code}")
    await run(engine, "chat:eve", f"/link {code}")
    assert "already used" in texts(chat)[-1]
    assert linked(engine, "test:ana") == []


async def test_codes_are_rate_limited_per_member(
    engine: Engine, adapters: Any, clock: ManualClock
) -> None:
    test, _ = adapters
    for _ in range(3):
        await ask_code(engine, "test:ana", test)
    await run(engine, "test:ana", "/link")
    assert "several codes in a short time" in texts(test)[0]
    clock.advance(timedelta(minutes=16))
    assert await ask_code(engine, "test:ana", test)


async def test_a_code_typed_in_a_channel_is_refused_burnt_and_removed(
    engine: Engine, adapters: Any
) -> None:
    test, chat = adapters
    code = await ask_code(engine, "test:ana", test)
    await run(engine, "chat:ana", f"/link {code}", channel="general")
    sent = chat.take()
    removed = [a for a in sent if isinstance(a, RemoveMessage)]
    assert removed and removed[0].to == Place("chat", PlaceKind.CHANNEL, "general")
    replies = [a for a in sent if isinstance(a, Say)]
    assert [r.to.kind for r in replies] == [PlaceKind.DIRECT]  # nothing said in public
    assert "only in a direct message" in replies[0].text
    await run(engine, "chat:ana", f"/link {code}")
    assert "seen in a public place" in texts(chat)[0]
    # /link alone in a channel burns the sender's own codes too.
    code = await ask_code(engine, "test:ana", test)
    await run(engine, "test:ana", "/link", channel="general")
    await run(engine, "chat:ana", f"/link {code}")
    assert "seen in a public place" in texts(chat)[0]
    assert linked(engine, "test:ana") == []


async def test_two_members_racing_for_one_code_only_one_wins(
    engine: Engine, adapters: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eve's turn read the code while it was still free; Bob's claim committed first.
    Her commit writes nothing, her turn runs again, and she is told it was used."""
    test, chat = adapters
    code = await ask_code(engine, "test:ana", test)
    links = engine.services.store.links
    seen_free = links.code(C, code_hash(C, code))
    await run(engine, "chat:bob", f"/link {code}")
    assert "Do you want to link" in texts(chat)[-1]
    real, reads = links.code, []

    def racing(community: str, hashed: str) -> Any:
        reads.append(hashed)
        return seen_free if len(reads) == 1 else real(community, hashed)

    monkeypatch.setattr(links, "code", racing)
    await run(engine, "chat:eve", f"/link {code}")
    assert len(reads) == 2  # the turn ran again after its commit met Bob's claim
    [told] = texts(chat)
    assert "already used" in told
    stored = real(C, code_hash(C, code))
    assert stored is not None and stored.claimed_by == "chat:bob"


async def test_a_restart_between_the_two_confirmations_loses_nothing(
    config: Config, tmp_path: Path, clock: ManualClock, adapters: Any
) -> None:
    test, _chat = adapters
    first = start(config, tmp_path / "r.db", clock, adapters)
    code = await ask_code(first, "test:ana", test)
    await run(first, "chat:ana", f"/link {code}")
    await say(first, "chat:ana", "2")  # yes, and follow my cases from both
    assert "Do you want to link" in texts(test)[-1]
    first.services.store.close()
    again = start(config, tmp_path / "r.db", clock, adapters)
    try:
        await say(again, "test:ana", "1")
        assert "are linked" in texts(test)[0]
        accounts = again.services.store.links.accounts(C, "test:ana")
        assert [(a.member, a.share_cases) for a in accounts] == [
            ("chat:ana", True),
            ("test:ana", False),
        ]
    finally:
        again.services.store.close()


async def test_accounts_linked_elsewhere_are_not_linked_again(
    engine: Engine, adapters: Any
) -> None:
    test, chat = adapters
    await link(engine, adapters)
    await link(engine, adapters, issuer="test:bob", claimer="chat:bob")
    code = await ask_code(engine, "test:ana", test)
    await run(engine, "chat:bob", f"/link {code}")
    assert "already linked with other accounts" in texts(chat)[-1]
    code = await ask_code(engine, "test:ana", test)
    await run(engine, "chat:ana", f"/link {code}")
    assert "already linked" in texts(chat)[-1]
    assert linked(engine, "test:ana") == ["chat:ana", "test:ana"]


async def test_unlink_is_immediate_and_mydata_shows_links(engine: Engine, adapters: Any) -> None:
    test, chat = adapters
    await link(engine, adapters)
    chat.take(), test.take()
    await run(engine, "test:ana", "/mydata")
    assert '"chat:ana"' in "\n".join(texts(test))
    await run(engine, "test:ana", "/unlink")
    assert "no longer linked with your other accounts" in texts(test)[0]
    assert "Your Test account is no longer linked" in texts(chat)[0]
    assert linked(engine, "chat:ana") == [] and linked(engine, "test:ana") == []
    await run(engine, "chat:ana", "/unlink")
    assert "not linked with any other account" in texts(chat)[0]


async def test_a_language_chosen_on_one_account_follows_on_the_other(
    engine: Engine, adapters: Any
) -> None:
    _test, chat = adapters
    await link(engine, adapters)
    await run(engine, "test:ana", "/language")
    await say(engine, "test:ana", "Deutsch")
    assert profile(engine, "chat:ana")["chosen_locale"] == "de"
    chat.take()
    await run(engine, "chat:ana", "/unlink")
    assert "nicht mehr" in texts(chat)[0]


def test_the_shared_values_read_from_a_stored_profile_are_the_profiles_own() -> None:
    """After each turn, what linked accounts share is compared with the profile as
    stored without making it again: both readings must agree, or a change would not
    follow (or an unchanged one would be sent again)."""
    profiles = [
        Profile("ana"),
        Profile("bo", chosen_locale="de", acknowledged_version="2", onboarded=True),
        Profile("cy", chosen_locale="ar", onboarded=False),
    ]
    for each in profiles:
        assert stored_shared_values(profile_to_dict(each)) == shared_values(each)
    assert stored_shared_values({}) == shared_values(Profile())
    assert shared_values(profiles[1]) == {"locale": "de", "version": "2", "onboarded": True}
    assert shared_values(profiles[0]) == {"locale": None, "version": None, "onboarded": False}


async def test_cases_are_followed_from_the_other_account_only_when_shared(
    engine: Engine, adapters: Any
) -> None:
    _test, chat = adapters
    await run(engine, "test:ana", "/report")
    for answer in ("1", "someone was rude to me in #general", "2", "1"):
        await say(engine, "test:ana", answer)
    assert engine.services.store.cases.of_member(C, "test:ana")
    await link(engine, adapters)  # plain "yes" on both sides: cases stay apart
    chat.take()
    await run(engine, "chat:ana", "/mycases")
    assert texts(chat) == ["You have no cases."]
    await run(engine, "chat:ana", "/unlink")
    code = await ask_code(engine, "chat:ana", chat)
    await run(engine, "test:ana", f"/link {code}")
    await say(engine, "test:ana", "2")  # and let me follow my cases from both
    await say(engine, "chat:ana", "1")
    chat.take()
    await run(engine, "chat:ana", "/mycases")
    [listing] = texts(chat)
    assert "Report 1" in listing and "(on your Test account)" in listing


async def test_forget_asks_about_linked_accounts_and_can_forget_them_too(
    engine: Engine, adapters: Any
) -> None:
    test, chat = adapters
    await link(engine, adapters)
    await link(engine, adapters, issuer="test:bob", claimer="chat:bob")
    await run(engine, "test:ana", "/forget")
    await say(engine, "test:ana", "1")
    assert "Shall I forget those too?" in texts(test)[-1]
    await say(engine, "test:ana", "1")
    assert "Your data is erased" in texts(test)[-1]
    assert "Your data is erased" in texts(chat)[-1]
    store = engine.services.store
    assert store.load_profile(C, "test:ana") is None and store.load_profile(C, "chat:ana") is None
    assert linked(engine, "chat:ana") == [] and linked(engine, "chat:bob") == [
        "chat:bob",
        "test:bob",
    ]
    # Only this account: the linked one stays, unlinked.
    await run(engine, "chat:bob", "/forget")
    await say(engine, "chat:bob", "1")
    await say(engine, "chat:bob", "2")
    assert store.load_profile(C, "chat:bob") is None
    assert store.load_profile(C, "test:bob") is not None and linked(engine, "test:bob") == []


async def test_link_unlink_and_mycases_are_in_help(engine: Engine, adapters: Any) -> None:
    test, _ = adapters
    await run(engine, "test:ana", "/help")
    shown = "\n".join(texts(test))
    for line in ("/link –", "/unlink –", "/mycases –"):
        assert line in shown


async def test_link_typed_as_plain_text_in_a_channel_is_burnt_and_removed_too(
    engine: Engine, adapters: Any
) -> None:
    """Where a platform passes ``/link CODE`` in a channel on as text (Discord)."""
    test, chat = adapters
    code = await ask_code(engine, "test:ana", test)
    member = who("chat:ana")
    general = Place("chat", PlaceKind.CHANNEL, "general")
    await engine.handle(TextSaid("m1", C, member, place=general, text=f"/link {code}"))
    sent = chat.take()
    assert RemoveMessage(general, member, "m1") in sent
    await run(engine, "chat:ana", f"/link {code}")
    assert "seen in a public place" in texts(chat)[0]
