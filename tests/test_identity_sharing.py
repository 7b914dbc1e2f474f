"""A member shows the moderators of one of their cases that their linked accounts are
theirs (``/share``), withdraws it (``/unshare``, ``/unlink``, ``/forget``), and a
moderator extends a sanction to the accounts so shared, and to no others."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from bot.config.community import Config, load_config
from bot.core.clock import ManualClock
from bot.core.events import CommandRun, MemberRef, Place, TextSaid
from bot.engine.engine import Engine
from tests import test_identity
from tests.conftest import RecordingAdapter
from tests.test_identity import C, link, run, say, start, texts, who
from tests.test_reports import ROOT, SECRET


def two_platform_config(tmp_path: Path) -> Config:
    """The example community, its moderators on Discord (for the two-platform transcript)."""
    text = (ROOT / "community" / "concord.yaml").read_text("utf-8").replace("console:", "discord:")
    path = tmp_path / "concord.yaml"
    path.write_text(text, "utf-8")
    return load_config(path)


# The linking tests' community, platforms and engine.
config, adapters, engine = test_identity.config, test_identity.adapters, test_identity.engine


async def report(engine: Engine, account: str, identity: str = "1") -> None:
    """A behaviour report, named (``1``) or with a report code (``2``)."""
    await run(engine, account, "/report")
    answers = ("2", SECRET, "kim", "Yesterday", "1", "https://example.org/m/1", identity, "1")
    for answer in answers:
        await say(engine, account, answer)


async def moderator(engine: Engine, adapter: Any, text: str, name: str = "mod") -> str:
    """What a moderator (``test:mod`` in the config) is answered (and what members on
    the same platform are told with it)."""
    adapter.take()
    await run(engine, f"test:{name}", text)
    return "\n".join(texts(adapter))


async def share(engine: Engine, adapter: Any, account: str, case: str) -> list[str]:
    adapter.take()
    await run(engine, account, f"/share {case}")
    asked = texts(adapter)
    await say(engine, account, "1")
    return asked + texts(adapter)


LINE = "Linked accounts that Ana (test:ana) shared for this case: Chat: Ana (chat:ana)"


async def test_a_shared_link_shows_on_that_case_to_moderators_and_nowhere_else(
    engine: Engine, adapters: Any
) -> None:
    test, _chat = adapters
    await link(engine, adapters)
    await report(engine, "test:ana")
    await report(engine, "test:ana")
    assert LINE not in await moderator(engine, test, "/reports show 1")  # private by default
    adapter_said = await share(engine, test, "test:ana", "report 1")
    assert "will see that these accounts are yours too: Chat: Ana (chat:ana)" in adapter_said[0]
    assert "the moderators of Report 1 now see your linked accounts" in adapter_said[-1]
    assert LINE in await moderator(engine, test, "/reports show 1")
    await run(engine, "test:ana", "/mydata")
    assert '"shared_with_moderators": [\n  {\n   "account": "chat:ana"' in "\n".join(texts(test))
    for elsewhere in ("/reports show 2", "/reports list", "/appeals list"):
        assert "chat:ana" not in await moderator(engine, test, elsewhere), elsewhere
    # The member is not a moderator: /reports stays refused, and shows nothing.
    assert "chat:ana" not in await moderator(engine, test, "/reports show 1", name="ana")


async def test_nobody_shares_a_case_that_is_not_theirs_and_the_answer_says_nothing_of_it(
    engine: Engine, adapters: Any
) -> None:
    test, _ = adapters
    await link(engine, adapters)
    await link(engine, adapters, issuer="test:bob", claimer="chat:bob")
    await report(engine, "test:ana")
    test.take()
    await run(engine, "test:bob", "/share report 1")
    theirs = texts(test)
    await run(engine, "test:bob", "/share report 7")
    missing = texts(test)
    assert theirs == [t.replace("7", "1") for t in missing]
    assert "I found no case of yours called report 1" in theirs[0]
    await run(engine, "test:bob", "/share")
    assert "You have no report, mediation or appeal" in texts(test)[0]
    assert "chat:bob" not in await moderator(engine, test, "/reports show 1")
    # Not linked at all: nothing to share.
    await run(engine, "test:eve", "/share report 1")
    assert "not linked with any other account" in texts(test)[0]


async def test_a_report_made_with_a_report_code_is_not_shared(
    engine: Engine, adapters: Any
) -> None:
    test, _ = adapters
    await link(engine, adapters)
    await report(engine, "test:ana", identity="2")
    test.take()
    await run(engine, "test:ana", "/share report 1")
    assert "would tell the moderators who you are" in texts(test)[0]
    assert engine.services.store.links.disclosures(C, 1) == []


async def test_unshare_unlink_and_forget_each_withdraw_what_was_shared(
    engine: Engine, adapters: Any
) -> None:
    test, chat = adapters
    await link(engine, adapters)
    await report(engine, "test:ana")
    await share(engine, test, "test:ana", "1")
    test.take()
    await run(engine, "test:ana", "/unshare report 1")
    assert "no longer see your linked accounts on Report 1" in texts(test)[0]
    assert LINE not in await moderator(engine, test, "/reports show 1")
    await run(engine, "test:ana", "/unshare")
    assert "not shared for that case, or for any case" in texts(test)[0]
    # Withdrawn from another account: everything shared for the case goes.
    other = RecordingAdapter()
    other.platform = "other"
    engine.add_adapter(other)
    await link(engine, adapters, issuer="test:ana", claimer="other:ana")
    await share(engine, test, "test:ana", "1")
    assert "Other: Ana (other:ana)" in await moderator(engine, test, "/reports show 1")
    await run(engine, "chat:ana", "/unshare report 1")
    assert "Linked accounts" not in await moderator(engine, test, "/reports show 1")

    await share(engine, test, "test:ana", "1")
    chat.take()
    await run(engine, "chat:ana", "/unlink")
    assert LINE not in await moderator(engine, test, "/reports show 1")
    await link(engine, adapters)  # linked again: what was shared stays withdrawn
    assert LINE not in await moderator(engine, test, "/reports show 1")

    await share(engine, test, "test:ana", "1")
    assert LINE in await moderator(engine, test, "/reports show 1")
    await run(engine, "chat:ana", "/forget")
    await say(engine, "chat:ana", "1")
    await say(engine, "chat:ana", "2")  # only this account
    assert "chat:ana" not in await moderator(engine, test, "/reports show 1")
    assert engine.services.store.links.disclosures_of(C, "chat:ana") == []


async def test_a_restart_between_the_share_request_and_the_yes_keeps_it_consistent(
    config: Config, tmp_path: Path, clock: ManualClock, adapters: Any
) -> None:
    test, _ = adapters
    first = start(config, tmp_path / "s.db", clock, adapters)
    await link(first, adapters)
    await report(first, "test:ana")
    await report(first, "test:ana")
    await run(first, "test:ana", "/share report 1")
    await run(first, "test:ana", "/share report 2")  # a second request replaces the first
    assert "Do you want to share them?" in texts(test)[-1]
    first.services.store.close()
    again = start(config, tmp_path / "s.db", clock, adapters)
    try:
        await say(again, "test:ana", "1")
        assert "the moderators of Report 2 now see" in texts(test)[-1]
        shown = await moderator(again, test, "/reports show 2")
        assert LINE in shown
        assert LINE not in await moderator(again, test, "/reports show 1")
        # Asked, then unlinked before the yes: the yes shares nothing.
        await run(again, "test:ana", "/share report 1")
        await run(again, "chat:ana", "/unlink")
        test.take()
        await say(again, "test:ana", "1")
        assert "changed in the meantime, so nothing was shared" in texts(test)[-1]
        assert again.services.store.links.disclosures(C, 1) == []
    finally:
        again.services.store.close()


async def sanction(engine: Engine, adapter: Any, account: str) -> str:
    return await moderator(engine, adapter, f"/sanction {account} warning 1 Insults in #general.")


async def test_a_sanction_is_extended_only_to_accounts_the_member_shared(
    engine: Engine, adapters: Any
) -> None:
    test, chat = adapters
    await link(engine, adapters)
    await run(engine, "test:bob", "/help")  # Bob has no linked account at all
    await sanction(engine, test, "test:ana")
    await sanction(engine, test, "test:bob")
    hidden = await moderator(engine, test, "/sanction extend 1 Same insults on Chat.")
    alone = await moderator(engine, test, "/sanction extend 2 Same insults on Chat.")
    # A link Ana kept to herself is never used, and nothing tells it exists.
    assert hidden == alone.replace("Record 2", "Record 1")
    assert "cannot be extended" in hidden
    refused = await moderator(engine, test, "/sanction extend 1 Because.", name="ana")
    assert "not allowed" in refused.lower() or "only for" in refused.lower(), refused

    await report(engine, "test:ana")
    await share(engine, test, "test:ana", "report 1")
    chat.take()
    answer = await moderator(engine, test, "/sanction extend 1 Same insults on Chat.")
    assert "now also covers these linked accounts: 3 (Chat: Ana (chat:ana))" in answer
    [notice] = texts(chat)
    assert "record 3" in notice and "Same insults on Chat." in notice and "/appeal" in notice
    assert "Record 1 about you now also covers your linked accounts" in answer  # to test:ana
    audit = engine.services.store.cases.audit(1)
    assert any(a[1:3] == ("test:mod", "extended") and "Same insults" in a[3] for a in audit)
    again = await moderator(engine, test, "/sanction extend 1 Once more.")
    assert "cannot be extended" in again

    # Appealable on the account it now covers, like any sanction.
    await run(engine, "chat:ana", "/appeal")
    await say(engine, "chat:ana", "1")
    await say(engine, "chat:ana", "That was not me on this account.")
    assert "appeal" in texts(chat)[-1].lower()
    shown = await moderator(engine, test, "/appeals show 1", name="kai")
    assert "Insults in #general." in shown and "Chat: Ana" not in shown
    # Shared for that appeal too: its view shows it there.
    await share(engine, chat, "chat:ana", "appeal 1")
    shown = await moderator(engine, test, "/appeals show 1", name="kai")
    assert "Linked accounts that Ana (chat:ana) shared for this case: Test: Ana (test:ana)" in shown


async def test_the_linked_account_is_told_in_its_own_language(
    engine: Engine, adapters: Any
) -> None:
    """The member's language (linked accounts share it), not the moderator's."""
    test, chat = adapters
    await link(engine, adapters)
    await report(engine, "test:ana")
    await share(engine, test, "test:ana", "report 1")
    await sanction(engine, test, "test:ana")
    await run(engine, "chat:ana", "/language")
    await say(engine, "chat:ana", "Deutsch")
    chat.take()
    answer = await moderator(engine, test, "/sanction extend 1 Same insults on Chat.")
    assert "now also covers these linked accounts" in answer  # the moderator's English
    [notice] = texts(chat)
    assert "/appeal" in notice and "Same insults on Chat." in notice
    assert "Eine Moderatorin" in notice or ("Moderat" in notice and "recorded" not in notice)


async def test_a_name_shown_to_moderators_cannot_reorder_or_inject(
    engine: Engine, adapters: Any
) -> None:
    test, _ = adapters
    nasty = MemberRef("chat", "ana", "Ana\u202e\u200b@everyone\x1b[1m")
    await engine.handle(
        TextSaid(uuid.uuid4().hex, C, nasty, place=Place.direct(nasty), text="hello")
    )
    await link(engine, adapters)
    await engine.handle(
        CommandRun(uuid.uuid4().hex, C, nasty, place=Place.direct(nasty), name="help")
    )
    await report(engine, "test:ana")
    await share(engine, test, "test:ana", "1")
    shown = await moderator(engine, test, "/reports show 1")
    line = next(t for t in shown.splitlines() if "Linked accounts" in t)
    assert "\u202e" not in line and "\x1b" not in line and "\u200b" not in line
    assert who("chat:ana").key in line


async def test_the_sharing_transcript_passes_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.features.identity import codes
    from tests.identity_transcript import play

    transcript = (ROOT / "tests" / "transcripts" / "two-platforms" / "sharing.txt").read_text()
    drawn = iter(re.findall(r"Your linking code is ([A-Z2-9]{6})", transcript))
    monkeypatch.setattr(codes, "draw_code", lambda: next(drawn))
    config = two_platform_config(tmp_path)
    assert await play(config, tmp_path / "sharing.db", transcript) == []


async def test_share_and_unshare_are_in_help_for_members(engine: Engine, adapters: Any) -> None:
    test, _ = adapters
    await run(engine, "test:ana", "/help")
    shown = "\n".join(texts(test))
    assert "/share –" in shown and "/unshare –" in shown
    assert "/sanction extend" not in shown  # a moderator's, in their help only


async def test_the_mediator_of_the_case_sees_it_and_another_mediator_does_not(
    engine: Engine, adapters: Any
) -> None:
    test, _ = adapters
    await link(engine, adapters)
    await run(engine, "test:sam", "/help")
    await moderator(engine, test, "/case open ana sam", name="noor")
    await share(engine, test, "test:ana", "mediation 1")
    line = "Linked accounts that Ana (test:ana) shared for this case: Chat: Ana (chat:ana)"
    assert line in await moderator(engine, test, "/case show 1", name="noor")
    assert "chat:ana" not in await moderator(engine, test, "/case show 1", name="tomas")
    assert "chat:ana" not in await moderator(engine, test, "/case list", name="noor")
