"""Two communities on one Discord bot, each with its own server (guild): discord.py,
unmodified except its REST base and gateway URL, over real HTTP and a real websocket
to the loopback stand-in (tests/discord_standin.py), one process, one SQLite file.
Each server's events are its own community's; a role, a moderators' notice and the
slash commands stay in the server of the community they belong to."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import discord
import pytest

from adapters.discord.adapter import DiscordAdapter
from adapters.platforms import Role, check_platforms
from bot.app import build_engines
from bot.config.community import Config, load_config
from bot.core.clock import ManualClock
from bot.core.errors import UsageError
from bot.core.events import MemberLeft
from bot.engine.engine import Engine
from bot.engine.routing import Router
from tests.discord_standin import DiscordStandIn
from tests.test_discord import (
    NO_PINGS,
    REPORT_ANSWERS,
    TOKEN,
    TOKEN_ENV,
    act,
    catalog,
    prepare_environment,
    recorded,
)
from tests.test_discord import running as discord_running

ROOT = Path(__file__).parents[1]
# Per community: its server, the server's system channel, moderators' channel,
# general channel and member role; its language and its moderator.
SERVERS = {
    "alpha": {"guild": 900, "system": 901, "mods": 902, "general": 904, "role": 950},
    # (on shard 1 of 2, where Alpha's is on shard 0: (guild_id >> 22) % 2)
    "beta": {"guild": 1 << 22 | 1900, "system": 1901, "mods": 1902, "general": 1904, "role": 1950},
}
LANGUAGES = {"alpha": "en", "beta": "es"}
MODERATOR = {"alpha": 3001, "beta": 3002}


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    prepare_environment(monkeypatch)
    yield


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    server = DiscordStandIn(TOKEN, SERVERS["alpha"]["guild"])
    beta = SERVERS["beta"]
    server.add_guild(beta["guild"], beta["system"], "Beta")
    for ident, ids in SERVERS.items():
        server.add_channel(ids["mods"], "moderators", ids["guild"])
        server.add_channel(ids["general"], "general", ids["guild"])
        server.add_role(ids["role"], "member", ids["guild"])
        server.user(MODERATOR[ident], f"mod-{ident}", guild_id=ids["guild"])
    await server.start()
    yield server
    await server.stop()
    assert all(s.payload.get("allowed_mentions") == NO_PINGS for s in server.sent)


def mediators(member: int) -> str:
    """A community file's mediation section with one mediator."""
    return (
        "mediation:\n  mediators:\n"
        f'    - {{member: "discord:{member}", name: Med{member}, languages: [en, es],'
        " capacity: 2, term_start: 2026-01-01, term_end: 2027-12-31}\n"
    )


def write_deployment(
    tmp_path: Path, standin: DiscordStandIn, more: dict[str, str] | None = None, **settings: Any
) -> Config:
    folder = tmp_path / "communities"
    folder.mkdir()
    for ident, ids in SERVERS.items():
        language = LANGUAGES[ident]
        (folder / f"{ident}.yaml").write_text(
            f"community:\n  id: {ident}\n  name: {ident.capitalize()}\n"
            f"  default_language: {language}\n  languages: [{language}]\n"
            f"  code_of_conduct: {ROOT / 'community' / 'code-of-conduct.yaml'}\n"
            "onboarding:\n  role: member\n"
            f'moderators:\n  channel: "{ids["mods"]}"\n'
            f'  members: ["discord:{MODERATOR[ident]}"]\n'
            f'spaces:\n  discord: ["{ids["guild"]}"]\n' + (more or {}).get(ident, ""),
            "utf-8",
        )
    section = {
        "token_env": TOKEN_ENV,
        "roles": {"member": [SERVERS["alpha"]["role"], SERVERS["beta"]["role"]]},
        "api_base": standin.base,
        "gateway": standin.gateway,
        "guild_ready_timeout": 0.05,
        "requests_per_second": 2000,
        **settings,
    }
    path = tmp_path / "concord.yaml"
    path.write_text(
        "communities: communities\nplatforms:\n  discord: " + json.dumps(section) + "\n", "utf-8"
    )
    return load_config(path)


@contextlib.asynccontextmanager
async def running(
    config: Config, database: Path, standin: DiscordStandIn, servers: int = 2
) -> AsyncIterator[tuple[DiscordAdapter, list[Engine]]]:
    """The deployment with its Discord adapter, as ``concord run`` starts it, until
    the slash commands of ``servers`` servers are published."""
    engines = build_engines(config, database, ManualClock())
    async with discord_running(config, database, standin, engines[0], Router(engines)) as (
        adapter,
        _,
    ):
        await standin.wait_for(lambda: len(standin.guild_commands) == servers)
        yield adapter, engines


async def test_two_servers_two_communities_one_bot(tmp_path: Path, standin: DiscordStandIn) -> None:
    config = write_deployment(tmp_path, standin)
    alpha_ids, beta_ids = SERVERS["alpha"], SERVERS["beta"]
    async with asyncio.timeout(60), running(config, tmp_path / "db", standin) as (adapter, engines):
        alpha, beta = engines
        # Each server has its own commands, described in its community's language;
        # the global ones are for direct messages only (none listed twice in a server).
        for engine, ids in ((alpha, alpha_ids), (beta, beta_ids)):
            language = LANGUAGES[engine.community]
            coc = {c["name"]: c for c in standin.guild_commands[ids["guild"]]}["coc"]
            expected = engine.services.catalogs.translator(language).gettext("command.coc")
            assert coc["description"] == expected
        assert "es-ES" not in {c["name"]: c for c in standin.guild_commands[alpha_ids["guild"]]}[
            "coc"
        ].get("description_localizations", {})
        assert standin.commands and all(c.get("contexts") == [1] for c in standin.commands)

        # Ana is in Beta's server already, then joins Alpha's: welcomed in English.
        ana = standin.user(2001, "Ana", guild_id=beta_ids["guild"])
        await act(adapter, standin, standin.join(ana, alpha_ids["guild"]))
        assert standin.texts_to_user(2001)[0].startswith(catalog(alpha, "en", "onboarding.welcome"))
        # She agrees to Alpha's code: Alpha's role, in Alpha's server, never Beta's.
        for _ in range(10):
            if standin.role_grants:
                break
            await act(adapter, standin, standin.say(ana, "1"))
        assert standin.role_grants == [(2001, alpha_ids["role"])]
        assert standin.calls("PUT", f"/guilds/{alpha_ids['guild']}/members/2001/roles/")
        assert not standin.calls("PUT", f"/guilds/{beta_ids['guild']}/")

        # A report in Alpha's server reaches Alpha's moderators' channel only.
        await act(adapter, standin, standin.slash(ana, "report", channel_id=alpha_ids["general"]))
        for answer in REPORT_ANSWERS:
            await act(adapter, standin, standin.say(ana, answer))
        assert any("2001" in s.content for s in standin.to(alpha_ids["mods"]))
        assert standin.to(beta_ids["mods"]) == []
        assert beta.services.store.cases.listing("beta", "report") == []

        # Alpha's moderator is refused in Beta's server, in Beta's language.
        mod_a = standin.user(MODERATOR["alpha"], "mod-alpha", guild_id=beta_ids["guild"])
        await act(
            adapter,
            standin,
            standin.slash(mod_a, "reports", "list", channel_id=beta_ids["general"]),
        )
        refusal = beta.services.catalogs.translator("es").gettext("common.not_allowed")
        refusal = discord.utils.escape_markdown(refusal.split("{")[0])
        answered = [s.content for s in standin.to(beta_ids["general"])]
        assert answered and answered[0].startswith(refusal)  # (then a draft-language note)
        assert not any(REPORT_ANSWERS[1] in t for t in answered)
        await act(
            adapter,
            standin,
            standin.slash(mod_a, "reports", "list", channel_id=alpha_ids["mods"]),
        )
        assert not any(s.content.startswith(refusal) for s in standin.to(alpha_ids["mods"]))

        # Cai joins both servers and answers neither welcome: both wait for her
        # direct messages, so she is asked which community she is writing to.
        cai = standin.person(2002, "Cai")
        await act(adapter, standin, standin.join(cai, alpha_ids["guild"]))
        await act(adapter, standin, standin.join(cai, beta_ids["guild"]))
        spanish = catalog(beta, "es", "onboarding.welcome")
        assert any(t.startswith(spanish) for t in standin.texts_to_user(2002))
        await act(adapter, standin, standin.say(cai, "hola"))
        question = standin.to_user(2002)[-1]
        keys = [str(b["custom_id"]).partition("~")[0] for b in question.buttons]
        assert keys == ["concord:community:alpha", "concord:community:beta"]
        # She leaves Beta's server: Beta's to know, not Alpha's (nor a question to her).
        left_alpha, left_beta = recorded(alpha), recorded(beta)
        await act(adapter, standin, standin.leave(cai, beta_ids["guild"]))
        assert [type(e) for e in left_beta] == [MemberLeft] and left_alpha == []
        assert standin.unknown == []


def test_each_server_is_served_by_the_process_that_runs_its_shard(tmp_path: Path) -> None:
    standin = DiscordStandIn(TOKEN)
    standin.base, standin.gateway = "http://127.0.0.1:1/api/v10", "ws://127.0.0.1:1/gateway"
    config = write_deployment(tmp_path, standin)
    settings = check_platforms(config)["discord"]
    assert settings.served_guilds() == (900, SERVERS["beta"]["guild"]) and settings.guild == 0
    # Shard of a server: (guild_id >> 22) % shard_count, with ids of different shards.
    low, high = 900, (1 << 22) + 900
    many = type(settings)(token_env=TOKEN_ENV, guilds=(low, high), shard_count=2)
    assert [many.guild_shard(g) for g in (low, high)] == [0, 1]
    first = type(many)(**{**many.__dict__, "shard_ids": (0,)})
    assert first.runs(low) and not first.runs(high) and first.elsewhere() == (high,)
    assert first.runs_guild_shard()  # it serves one of them: it delivers
    # On SQLite the one process must run every server's shard.
    text = (tmp_path / "concord.yaml").read_text("utf-8")
    shards = '"shard_count": 2, "shard_ids": [1], "token_env"'
    (tmp_path / "two.yaml").write_text(text.replace('"token_env"', shards), "utf-8")
    with pytest.raises(UsageError, match="server 900 is on shard 0"):
        check_platforms(load_config(tmp_path / "two.yaml"), Role(shared_store=False))


async def mediate(adapter: DiscordAdapter, standin: DiscordStandIn, one: int, other: int) -> None:
    """Member ``one`` asks for a mediation with ``other``; both give their statements."""
    first, second = standin.person(one, f"P{one}"), standin.person(other, f"P{other}")
    await act(adapter, standin, standin.slash(first, "mediate", f"<@{other}>"))
    for answer in ["We disagree about how reviews are done.", "2", "2", "1", "1"]:
        await act(adapter, standin, standin.say(first, answer))
    await act(adapter, standin, standin.say(second, "1"))  # accepts
    for answer in ["What happened.", "How it felt.", "What I need.", "1"]:
        await act(adapter, standin, standin.say(first, answer))
    for answer in ["This happened.", "I felt bad.", "I need respect.", "2"]:
        await act(adapter, standin, standin.say(second, answer))


async def test_each_communitys_case_1_has_its_own_thread_in_its_own_server(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    config = write_deployment(
        tmp_path, standin, {"alpha": mediators(2003), "beta": mediators(2013)}
    )
    parties = {"alpha": (2001, 2002, 2003), "beta": (2011, 2012, 2013)}
    async with asyncio.timeout(60), running(config, tmp_path / "db", standin) as (adapter, engines):
        for ident, people in parties.items():
            guild = SERVERS[ident]["guild"]
            for user_id in people:
                user = standin.person(user_id, f"P{user_id}")
                await act(adapter, standin, standin.join(user, guild))
                await act(adapter, standin, standin.say(user, "/stop"))
        for one, other, _ in parties.values():
            await mediate(adapter, standin, one, other)
        # Both communities' first case: two threads, each under its own server's
        # system channel, with that case's people only.
        threads = {int(t["guild_id"]): (i, t) for i, t in standin.threads.items()}
        assert set(threads) == {SERVERS["alpha"]["guild"], SERVERS["beta"]["guild"]}
        for ident, people in parties.items():
            thread_id, thread = threads[SERVERS[ident]["guild"]]
            assert thread["parent_id"] == str(SERVERS[ident]["system"])
            assert standin.thread_members[thread_id] == {1000, *people}
        # What is said in Beta's thread is Beta's case 1, not Alpha's.
        beta_thread = threads[SERVERS["beta"]["guild"]][0]
        leo = standin.person(2012, "P2012")
        await act(adapter, standin, standin.slash(leo, "pause", channel_id=beta_thread))
        alpha, beta = engines
        paused = beta.services.store.cases.by_space("beta", "case-beta-1")
        assert paused is not None and paused.data["paused"] is True
        untouched = alpha.services.store.cases.by_space("alpha", "case-alpha-1")
        assert untouched is not None and not untouched.data.get("paused")
        assert standin.unknown == []


async def test_a_process_receives_and_publishes_the_servers_of_its_shards(
    tmp_path: Path, standin: DiscordStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="adapters.discord.adapter")
    config = write_deployment(tmp_path, standin, shard_count=2, shard_ids=[0])
    beta = SERVERS["beta"]["guild"]
    async with (
        asyncio.timeout(30),
        running(config, tmp_path / "db", standin, servers=1) as (adapter, _),
    ):
        assert standin.identifies[0]["shard"] == [0, 2]
        assert set(standin.guild_commands) == {SERVERS["alpha"]["guild"]}  # Beta's: shard 1
        assert f"server {beta} is on shard 1, which another process runs" in caplog.text
        assert adapter.delivers  # it runs the shard of Alpha's server
