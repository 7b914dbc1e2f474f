"""Two communities on one IRC connection: a real InspIRCd on loopback
(tests/irc_server.py), members on real sockets, one process, one SQLite file. The bot
joins every community's channels; each community's notices reach its own moderators'
channel only."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bot.config.community import Config, load_config
from tests.irc_server import InspIRCd
from tests.test_irc import OPERATOR, QUICK, ircd, members, running, start_of

__all__ = ["ircd"]  # the server fixture
ROOT = Path(__file__).parents[1]
LANGUAGES = {"alpha": "en", "beta": "es"}


def write_deployment(tmp_path: Path, port: int) -> Config:
    folder = tmp_path / "communities"
    folder.mkdir()
    for ident, language in LANGUAGES.items():
        (folder / f"{ident}.yaml").write_text(
            f"community:\n  id: {ident}\n  name: {ident.capitalize()}\n"
            f"  default_language: {language}\n  languages: [{language}]\n"
            f"  code_of_conduct: {ROOT / 'community' / 'code-of-conduct.yaml'}\n"
            f'moderators:\n  channel: "#{ident}-mods"\n  members: ["irc:mod{ident[0]}"]\n'
            f'spaces:\n  irc: ["#{ident}", "#{ident}-mods"]\n',
            "utf-8",
        )
    section = {
        "host": "127.0.0.1",
        "port": port,
        "tls": False,
        "operator": OPERATOR,
        "channels": [],
        **QUICK,
    }
    path = tmp_path / "concord.yaml"
    path.write_text(
        "communities: communities\nplatforms:\n  irc: " + json.dumps(section) + "\n", "utf-8"
    )
    return load_config(path)


async def test_two_communities_share_one_connection_and_keep_their_moderators(
    tmp_path: Path, ircd: InspIRCd
) -> None:
    config = write_deployment(tmp_path, ircd.port)
    async with asyncio.timeout(60), running(config, tmp_path / "db") as (adapter, _):
        assert adapter.host.router is not None
        alpha, beta = adapter.host.router.engines.values()
        ana, moda, modb = await members(ircd.port, "ana", "moda", "modb")
        await moda.join("#alpha-mods")
        await modb.join("#beta-mods")
        whois = await ana.whois("Concord")
        (channels,) = [n for n in whois if n[0] == "319"]
        joined = sorted(c.lstrip("@") for c in channels[-1].split())
        assert joined == ["#alpha", "#alpha-mods", "#beta", "#beta-mods"]
        # Each channel's welcome is its own community's, in its language.
        await ana.join("#alpha")
        english = start_of(alpha, "onboarding.welcome")
        await ana.wait_for(lambda: any(t.startswith(english) for t in ana.texts("Concord")))
        await ana.join("#beta")
        spanish = start_of(beta, "onboarding.welcome", "es")
        await ana.wait_for(lambda: any(t.startswith(spanish) for t in ana.texts("Concord")))
        # Both wait for her private answer: she is asked which community first.
        await ana.settle()
        before = len(ana.texts("Concord"))
        await ana.say("Concord", "human")
        await ana.wait_for(lambda: any("2. Beta" in t for t in ana.texts("Concord")[before:]))
        assert any("1. Alpha" in t for t in ana.texts("Concord")[before:])
        await ana.settle()
        before = len(ana.texts("Concord"))
        await ana.say("Concord", "1")  # Alpha
        await ana.wait_for(lambda: len(ana.texts("Concord")) > before)
        await ana.settle()
        await ana.say("Concord", "human")
        await moda.wait_for(lambda: bool(moda.texts(target="#alpha-mods")))
        assert "irc:ana" in moda.texts(target="#alpha-mods")[0]
        await modb.settle()
        assert modb.texts(target="#beta-mods") == []
        assert beta.services.store.load_profile("beta", "irc:ana") is not None
        for member in (ana, moda, modb):
            await member.quit()
