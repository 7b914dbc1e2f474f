"""The IRC adapter against a real InspIRCd on loopback (tests/irc_server.py), members on
real sockets: the bot's realname and channels, onboarding and a report by private
message, control codes and long texts, pacing, faults (nick in use, a channel that
refuses the bot, a server restart) and SASL PLAIN and EXTERNAL against the stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.irc.adapter import IrcAdapter, create
from adapters.irc.settings import parse
from bot.app import build_engines
from bot.config.community import Config, load_config
from bot.core.clock import ManualClock
from bot.core.errors import ConcordError
from bot.engine.engine import Engine
from bot.engine.host import AdapterHost
from tests.irc_server import InspIRCd, Member, SaslStandIn, certificate, tls_server_context

ROOT = Path(__file__).parents[1]
COMMUNITY = "#community"
MODS = "#mods"
OPERATOR = "Ops Team (ops@example.org)"
# Quick pacing for dialog tests; the pacing test sets its own.
QUICK = {"send_rate": 1000, "send_burst": 1000}


@pytest.fixture
def ircd(tmp_path: Path) -> Iterator[InspIRCd]:
    server = InspIRCd(tmp_path / "ircd")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def write_config(tmp_path: Path, port: int, **irc: Any) -> Config:
    """The example community, its members and moderators named by IRC nick."""
    text = (ROOT / "community" / "concord.yaml").read_text("utf-8")
    text = re.sub(r"console:(\w+)", r"irc:\1", text)
    coc = ROOT / "community" / "code-of-conduct.yaml"
    text = text.replace("# code_of_conduct: code-of-conduct.yaml", f"code_of_conduct: {coc}")
    section = {
        "host": "127.0.0.1",
        "port": port,
        "tls": False,
        "operator": OPERATOR,
        "channels": [COMMUNITY],
        "moderators_channel": MODS,
        "channel_names": {"welcome": COMMUNITY},
        **QUICK,
        **irc,
    }
    text += "\nplatforms:\n  irc: " + json.dumps(section) + "\n"
    path = tmp_path / "concord.yaml"
    path.write_text(text, "utf-8")
    return load_config(path)


@contextlib.asynccontextmanager
async def running(
    config: Config, database: Path, *, retry_every: float = 0.2
) -> AsyncIterator[tuple[IrcAdapter, Engine]]:
    """Concord with its IRC adapter, as ``concord run`` wires it, until it is ready
    (registered, channels joined); stopped afterwards."""
    engines = build_engines(config, database, ManualClock())  # a deployment's: them all
    engine = engines[0]
    adapter = create(parse(config.platforms["irc"]), AdapterHost.of(engines))
    engine.add_adapter(adapter, ready=False)
    ready = asyncio.Event()
    real_ready = adapter.host.ready

    def on_ready(platform: str) -> None:
        real_ready(platform)
        ready.set()

    adapter.host.ready = on_ready  # type: ignore[method-assign]
    tasks = [
        asyncio.create_task(adapter.run()),
        asyncio.create_task(engine.retry_outbox(timedelta(seconds=retry_every))),
    ]
    try:
        waiting = asyncio.create_task(ready.wait())
        await asyncio.wait([waiting, tasks[0]], return_when=asyncio.FIRST_COMPLETED)
        if tasks[0].done():
            tasks[0].result()
        yield adapter, engine
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        await adapter.close()
        engine.services.store.close()


def catalog(engine: Engine, message: str, locale: str = "en") -> str:
    return engine.services.catalogs.translator(locale).gettext(message)


def start_of(engine: Engine, message: str, locale: str = "en") -> str:
    """The fixed beginning of a catalog text (up to its first placeholder or command)."""
    return re.split(r"[{/]", catalog(engine, message, locale))[0].strip()


async def members(port: int, *nicks: str) -> list[Member]:
    return list(await asyncio.gather(*(Member(n, port).connect() for n in nicks)))


async def test_the_bot_is_labelled_joins_only_its_channels_and_onboards_by_private_message(
    tmp_path: Path, ircd: InspIRCd
) -> None:
    config = write_config(tmp_path, ircd.port)
    async with asyncio.timeout(30), running(config, tmp_path / "db") as (_, engine):
        (ana,) = await members(ircd.port, "ana")
        await ana.join(COMMUNITY)
        await ana.wait_for(lambda: bool(ana.texts("Concord", "ana")))
        await ana.join("#elsewhere")
        await ana.send("INVITE Concord #elsewhere")  # the bot joins only its channels
        await ana.settle()
        whois = await ana.whois("Concord")
        (user,) = [n for n in whois if n[0] == "311"]
        assert user[-1] == f"Concord community bot, run by {OPERATOR}"
        assert any(n[0] == "335" for n in whois), whois
        (channels,) = [n for n in whois if n[0] == "319"]
        assert sorted(c.lstrip("@") for c in channels[-1].split()) == [COMMUNITY, MODS]

        welcome = ana.texts("Concord", "ana")[0]
        assert welcome.startswith(start_of(engine, "onboarding.welcome"))
        assert ana.texts(target=COMMUNITY) == [], "the welcome is private"
        await ana.wait_for(lambda: any("1." in t for t in ana.texts("Concord")))
        await ana.quit()


async def stop_onboarding(member: Member) -> None:
    """The member joins and stops the welcome dialog, to do something else."""
    await member.join(COMMUNITY)
    await member.wait_for(lambda: bool(member.texts("Concord")))
    await member.settle()
    before = len(member.texts("Concord"))
    await member.say("Concord", "stop")
    await member.wait_for(lambda: len(member.texts("Concord")) > before)
    await member.settle()


async def dialog(member: Member, answers: list[str]) -> None:
    """Each answer once the bot said something after the previous one."""
    for answer in answers:
        before = len(member.texts("Concord"))
        await member.say("Concord", answer)
        await member.wait_for(lambda b=before: len(member.texts("Concord")) > b)
        await member.settle(0.1)


async def test_onboarding_answers_by_private_message(tmp_path: Path, ircd: InspIRCd) -> None:
    config = write_config(tmp_path, ircd.port)
    async with asyncio.timeout(30), running(config, tmp_path / "db") as (_, engine):
        (bia,) = await members(ircd.port, "bia")
        await bia.join(COMMUNITY)
        question = start_of(engine, "onboarding.choose_language")
        await bia.wait_for(lambda: any(question in t for t in bia.texts("Concord")))
        number = next(
            t.split(".")[0].strip("» ")
            for t in bia.texts("Concord")
            if re.match(r"^\d+\. Français", t)
        )
        await bia.say("Concord", number)  # answering by the number the question lists
        walk = start_of(engine, "onboarding.walk_question", "fr")
        await bia.wait_for(lambda: any(walk in t for t in bia.texts("Concord")))
        assert bia.texts(target=COMMUNITY) == []
        await bia.quit()


async def test_a_report_typed_in_the_channel_is_answered_by_private_message(
    tmp_path: Path, ircd: InspIRCd
) -> None:
    config = write_config(tmp_path, ircd.port)
    async with asyncio.timeout(40), running(config, tmp_path / "db") as (_, engine):
        rhea, kai, bob = await members(ircd.port, "rhea", "kai", "bob")
        await kai.join(MODS)
        await bob.join(COMMUNITY)
        await stop_onboarding(rhea)
        start = len(rhea.texts("Concord"))
        await rhea.say(COMMUNITY, "!concord report")
        await rhea.wait_for(lambda: len(rhea.texts("Concord", "rhea")) > start + 1)
        told = rhea.texts("Concord", "rhea")[start]
        assert told.startswith(start_of(engine, "common.answered_privately"))
        assert "!concord report" in told, "IRC clients keep '/': commands are !concord ..."

        secret = "\x02Bold\x02 \x0304red\x03 \x01ACTION waves\x01 !kick bob " + "ünïcödé " * 34
        await dialog(rhea, ["2", secret, "bob", "yesterday", "1", "none", "2"])
        await rhea.say("Concord", "1")  # send it
        await kai.wait_for(lambda: bool(kai.texts("Concord", MODS)))
        notice = kai.texts("Concord", MODS)[0]
        assert notice.startswith(start_of(engine, "report.new"))
        assert "!concord reports show 1" in notice
        assert bob.texts("Concord", COMMUNITY) == [], "the channel heard nothing of it"

        # The moderator reads it in the moderators' channel: no control codes, no line
        # starting with a command character, every line within 512 bytes, whole UTF-8.
        start = len(kai.received)
        await kai.say(MODS, "!concord reports show 1")
        await kai.wait_for(lambda: any("ünïcödé" in h.text for h in kai.received[start:]))
        await kai.settle()
        shown = [h for h in kai.received[start:] if h.source == "Concord"]
        assert all(h.size <= 512 for h in shown), [h.size for h in shown]
        text = " ".join(h.text for h in shown)
        assert not re.search(r"[\x00-\x1f\x7f]", text)
        assert "\ufffd" not in text, "no UTF-8 sequence was cut"
        assert "Bold red ACTION waves" in text
        assert not any(h.text[0] in "!./@#$%&*+,-:;=?\\^~`|<>'\"" for h in shown)
        assert text.count("ünïcödé") == 34
        assert len([h for h in shown if "ünïcödé" in h.text]) > 1, "split over lines"
        for member in (rhea, kai, bob):
            await member.quit()


def heard_lines(member: Member) -> list[str]:
    return member.texts("Concord", member.nick)


async def test_lines_go_out_paced_and_in_bursts_no_larger_than_configured(
    tmp_path: Path, ircd: InspIRCd
) -> None:
    rate, burst = 5.0, 2
    config = write_config(tmp_path, ircd.port, send_rate=rate, send_burst=burst)
    async with asyncio.timeout(30), running(config, tmp_path / "db"):
        (ana,) = await members(ircd.port, "ana")
        await ana.say("Concord", "help")
        await ana.wait_for(lambda: len(heard_lines(ana)) >= 8)
        await ana.settle(0.5)
        times = [h.at for h in ana.received if h.source == "Concord"]
        # In any stretch of w seconds at most burst + rate*w lines (one line of slack
        # for the clock's grain).
        for i in range(len(times)):
            for j in range(i, len(times)):
                assert j - i + 1 <= burst + rate * (times[j] - times[i]) + 1, (i, j, times)
        assert times[-1] - times[0] >= (len(times) - burst - 1) / rate
        await ana.quit()


async def test_a_server_restart_loses_and_repeats_no_reply(
    tmp_path: Path, ircd: InspIRCd, caplog: pytest.LogCaptureFixture
) -> None:
    config = write_config(tmp_path, ircd.port, send_rate=10, send_burst=1)
    async with asyncio.timeout(60), running(config, tmp_path / "db"):
        ana, bob = await members(ircd.port, "ana", "bob")
        await bob.say("Concord", "help")  # what the answer is, told without trouble
        await bob.wait_for(lambda: bool(heard_lines(bob)))
        await bob.settle(1.0)
        expected = heard_lines(bob)
        assert len(expected) > 6
        await ana.say("Concord", "help")
        await ana.wait_for(lambda: len(heard_lines(ana)) >= 3)
        caplog.clear()
        # The link dies silently while the reply goes out: what the bot sends meanwhile
        # is never read, then the server is gone and comes back.
        ircd.freeze()
        await asyncio.sleep(0.6)
        before = heard_lines(ana)
        assert len(before) < len(expected)
        ircd.crash_and_start()
        await ana.quit()
        ana = await Member("ana", ircd.port).connect()  # back before the bot
        await ana.wait_for(lambda: len(before) + len(heard_lines(ana)) >= len(expected), 30)
        await ana.settle(0.5)  # a line sent twice would come now
        assert before + heard_lines(ana) == expected, "every line once, in order"
        disconnects = [r for r in caplog.records if "disconnected from" in r.getMessage()]
        assert len(disconnects) == 1, "one clear line for the lost connection"
        for member in (ana, bob):
            await member.quit()


async def test_a_nick_in_use_is_logged_once_and_taken_back_when_free(
    tmp_path: Path,
    ircd: InspIRCd,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("adapters.irc.adapter.NICK_RETRY", 0.3)
    (squatter,) = await members(ircd.port, "Concord")
    config = write_config(tmp_path, ircd.port)
    async with asyncio.timeout(30), running(config, tmp_path / "db") as (adapter, _):
        assert adapter.client is not None and adapter.client.nickname == "Concord_"
        in_use = [r for r in caplog.records if "nick Concord is in use" in r.getMessage()]
        assert len(in_use) == 1
        (ana,) = await members(ircd.port, "ana")
        await ana.say("Concord_", "help")  # still reachable under the other nick
        await ana.wait_for(lambda: bool(ana.texts("Concord_", "ana")))
        await squatter.quit()
        async with asyncio.timeout(10):
            while adapter.client.nickname != "Concord":
                await asyncio.sleep(0.1)
        await ana.say("Concord", "help")
        await ana.wait_for(lambda: bool(ana.texts("Concord", "ana")))
        await ana.quit()


async def test_a_channel_that_refuses_the_bot_is_logged_and_tried_again(
    tmp_path: Path,
    ircd: InspIRCd,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("adapters.irc.adapter.JOIN_BACKOFF", (0.3, 1.0))
    (op,) = await members(ircd.port, "op")
    await op.join("#closed")
    await op.send("MODE #closed +i")
    await op.send("MODE #closed +b Concord!*@*")
    config = write_config(tmp_path, ircd.port, channels=[COMMUNITY, "#closed"])
    async with asyncio.timeout(30), running(config, tmp_path / "db"):
        async with asyncio.timeout(10):
            while not any("cannot join #closed" in r.getMessage() for r in caplog.records):
                await asyncio.sleep(0.05)
        (line,) = [r.getMessage() for r in caplog.records if "cannot join" in r.getMessage()]
        assert "invite-only (473)" in line or "banned from the channel (474)" in line
        await op.send("MODE #closed -ib Concord!*@*")
        await op.wait_for(lambda: ("Concord", "#closed") in op.joins)
        await op.quit()


@pytest.fixture
async def standin(tmp_path: Path) -> AsyncIterator[SaslStandIn]:
    server = SaslStandIn()
    server.accounts["concord"] = "right horse battery"
    await server.start()
    yield server
    await server.stop()


async def test_sasl_plain_logs_in_before_joining(
    tmp_path: Path, standin: SaslStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONCORD_IRC_PASSWORD", "right horse battery")
    config = write_config(
        tmp_path,
        standin.port,
        sasl_username="concord",
        password_env="CONCORD_IRC_PASSWORD",
    )
    async with asyncio.timeout(20), running(config, tmp_path / "db"):
        assert standin.logins == [("PLAIN", "concord")]
        assert standin.realnames == [f"Concord community bot, run by {OPERATOR}"]
        assert sorted(standin.joined) == [COMMUNITY, MODS]
        assert standin.unknown == []


async def test_rejected_sasl_credentials_stop_the_platform_with_one_clear_line(
    tmp_path: Path,
    standin: SaslStandIn,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("CONCORD_IRC_PASSWORD", "wrong")
    config = write_config(
        tmp_path, standin.port, sasl_username="concord", password_env="CONCORD_IRC_PASSWORD"
    )
    with pytest.raises(ConcordError, match="rejected the SASL PLAIN login as concord"):
        async with asyncio.timeout(20), running(config, tmp_path / "db"):
            pass
    assert standin.failures == ["PLAIN"], "no retry with credentials that cannot work"
    assert standin.joined == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and "SASL" in r.getMessage()]
    assert len(errors) == 1


async def test_sasl_external_logs_in_with_the_client_certificate(tmp_path: Path) -> None:
    cert, key, fingerprint = certificate(tmp_path, "concord")
    server = SaslStandIn(tls_server_context(tmp_path, cert))
    server.fingerprints[fingerprint] = "concord"
    await server.start()
    try:
        config = write_config(
            tmp_path,
            server.port,
            tls=True,
            tls_verify=False,  # the stand-in's own certificate is self-signed
            sasl="external",
            client_cert=str(cert),
            client_key=str(key),
        )
        async with asyncio.timeout(20), running(config, tmp_path / "db"):
            assert server.logins == [("EXTERNAL", "concord")]
            assert sorted(server.joined) == [COMMUNITY, MODS]
    finally:
        await server.stop()


class Typist:
    """Members typing, each line awaited until the bot handled it (its replies confirmed
    by the server) and every member's connection was read up to then."""

    def __init__(self, engine: Engine, people: list[Member]) -> None:
        self.people = people
        self.handled = 0
        handle = engine.handle

        async def counted(event: Any, **options: Any) -> bool:
            try:
                return await handle(event, **options)
            finally:
                self.handled += 1

        engine.handle = counted  # type: ignore[method-assign]

    async def type(self, member: Member, target: str, *texts: str) -> None:
        for text in texts:
            await self.handling(member.say(target, text))

    async def handling(self, act: Awaitable[None]) -> None:
        """``act``, then until one more event was handled, then every member read."""
        before = self.handled
        await act
        async with asyncio.timeout(10):
            while self.handled <= before:
                await asyncio.sleep(0.005)
        await self.read_all()

    async def read_all(self) -> None:
        await asyncio.gather(*(m.sync() for m in self.people))


async def test_mediation_relays_through_private_messages(tmp_path: Path, ircd: InspIRCd) -> None:
    config = write_config(tmp_path, ircd.port)
    async with asyncio.timeout(60), running(config, tmp_path / "db") as (_, engine):
        people = ana, sam, noor = await members(ircd.port, "ana", "sam", "noor")
        typist = Typist(engine, people)
        for member in (ana, sam):
            await member.join(COMMUNITY)
            await typist.type(member, "Concord", "stop")
        request = ["We disagree about how reviews are done.", "2", "2", "1", "1"]
        await typist.type(ana, "Concord", "/mediate sam", *request)
        await typist.type(sam, "Concord", "1")  # accepts
        await typist.type(ana, "Concord", "What happened.", "How it felt.", "What I need.", "1")
        await typist.type(sam, "Concord", "This happened.", "I felt bad.", "Respect.", "2")
        heard = {m.nick: len(m.received) for m in people}
        await typist.type(ana, "Concord", "I am \x02sorry\x02 the reviews felt harsh.")
        for member in (sam, noor):
            new = [h.text for h in member.received[heard[member.nick] :]]
            assert any("ana: I am sorry the reviews felt harsh." in t for t in new), new
        assert not any("I am sorry" in h.text for h in ana.received[heard["ana"] :])
        assert not [h for m in people for h in m.received if h.target.startswith("#")]
        for member in people:
            await member.quit()


async def test_ctcp_requests_are_neither_answered_nor_taken_for_text(
    tmp_path: Path, ircd: InspIRCd
) -> None:
    config = write_config(tmp_path, ircd.port)
    async with asyncio.timeout(30), running(config, tmp_path / "db") as (_, engine):
        (ana,) = await members(ircd.port, "ana")
        typist = Typist(engine, [ana])
        for _ in range(20):
            await ana.say("Concord", "\x01VERSION\x01")
        await typist.type(ana, "Concord", "help")  # handled after the requests
        assert typist.handled == 1, "a CTCP request is no message for Concord"
        assert [h for h in ana.notices if h.source == "Concord"] == [], "no CTCP reply"
        await ana.quit()


async def test_a_server_that_stops_answering_is_left_for_a_new_connection(
    tmp_path: Path, ircd: InspIRCd, caplog: pytest.LogCaptureFixture
) -> None:
    config = write_config(tmp_path, ircd.port, send_rate=10, send_burst=1)
    async with asyncio.timeout(60), running(config, tmp_path / "db") as (adapter, _):
        adapter.sender.confirm_timeout = 0.5
        (ana,) = await members(ircd.port, "ana")
        await ana.say("Concord", "help")
        await ana.wait_for(lambda: len(heard_lines(ana)) >= 3)
        caplog.clear()
        ircd.freeze()  # the socket stays open; nothing answers
        async with asyncio.timeout(10):
            while not any("stopped answering" in r.getMessage() for r in caplog.records):
                await asyncio.sleep(0.05)
        ircd.crash_and_start()
        await ana.quit()
        ana = await Member("ana", ircd.port).connect()
        await ana.wait_for(lambda: bool(heard_lines(ana)), 20)
        await ana.quit()
