"""Two communities, each with its own Discord server on its own shard, and two Concord
processes on one PostgreSQL database (the suite's own cluster), one per shard, as
``concord run --discord-shard 0/2`` and ``1/2`` start them: discord.py, unmodified
except its REST base and gateway URL, against the loopback stand-in
(tests/discord_standin.py), which sends each server's events through its shard's
connection and direct messages through shard 0's. Each community's Discord actions
(a role needs its server's cache) go out from the process whose shard carries its
server: none is taken, failed and retried by the other."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.discord.adapter import DiscordAdapter, create
from adapters.discord.guilds import delivers_for
from adapters.platforms import Role, check_platforms
from bot.app import build_engines
from bot.config.community import Config, load_config
from bot.core.clock import ManualClock
from bot.core.errors import UsageError
from bot.engine.delivery import DELIVERING
from bot.engine.host import AdapterHost
from bot.engine.routing import Router
from tests.discord_standin import DiscordStandIn
from tests.test_communities_discord import (
    SERVERS,
    write_deployment,
)
from tests.test_communities_discord import _environment as _environment  # (fixtures)
from tests.test_communities_discord import standin as standin
from tests.test_discord import CountingHost, act


@contextlib.asynccontextmanager
async def process(
    config: Config, url: str, standin: DiscordStandIn, shard: str, delivered: list[Any]
) -> AsyncIterator[DiscordAdapter]:
    """One process of the deployment running one Discord shard, as ``concord run``
    starts it (its outbox delivering, and looking for what other processes left it);
    ``delivered`` gets each action it delivers, with its community."""
    settings = check_platforms(config, Role(discord_shard=shard))["discord"]
    engines = build_engines(config, url, ManualClock())
    adapter = create(settings, CountingHost(engines[0], Router(engines)))
    deliver = adapter.deliver

    async def recording(action: Any, key: str) -> None:
        delivered.append((type(action).__name__, DELIVERING.get()))
        await deliver(action, key)

    adapter.deliver = recording  # type: ignore[method-assign]
    engines[0].add_adapter(adapter)
    tasks = [
        asyncio.create_task(adapter.run()),
        asyncio.create_task(engines[0].outbox.retry_forever()),
    ]
    try:
        await standin.wait_for(lambda: adapter.client.is_ready())
        yield adapter
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await adapter.close()
        engines[0].outbox.leases.close()
        engines[0].services.store.close()


async def test_each_process_delivers_the_actions_of_the_communities_of_its_shards(
    tmp_path: Path, standin: DiscordStandIn, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    config = write_deployment(tmp_path, standin, shard_count=2)
    alpha, beta = SERVERS["alpha"], SERVERS["beta"]  # on shards 0 and 1
    first: list[Any] = []
    second: list[Any] = []
    async with (
        asyncio.timeout(90),
        process(config, postgres_url, standin, "0/2", first) as zero,
        process(config, postgres_url, standin, "1/2", second) as one,
    ):
        ana = standin.person(2001, "Ana")
        bea = standin.person(2002, "Bea")
        await act(zero, standin, standin.join(ana, alpha["guild"]))
        await act(one, standin, standin.join(bea, beta["guild"]))
        # Both agree in direct messages, which reach the process of shard 0 only.
        for member, role in ((ana, alpha["role"]), (bea, beta["role"])):
            for _ in range(10):
                if (int(member["id"]), role) in standin.role_grants:
                    break
                await act(zero, standin, standin.say(member, "1"))
                with contextlib.suppress(TimeoutError):
                    await standin.wait_for(
                        lambda: (int(member["id"]), role) in standin.role_grants,  # noqa: B023
                        timeout=1,
                    )
        assert sorted(standin.role_grants) == [(2001, alpha["role"]), (2002, beta["role"])]
        # Each role went out from the process whose shard carries its server.
        assert ("GrantRole", "alpha") in first and ("GrantRole", "beta") in second
        assert {c for _, c in first} == {"alpha"} and {c for _, c in second} == {"beta"}
    assert "will retry" not in caplog.text and "undeliverable" not in caplog.text
    assert standin.unknown == []


def test_a_process_carrying_part_of_one_communitys_servers_is_refused(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    """A community whose servers sit on two shards is delivered by one process that
    runs both: run as one of them, ``concord run`` says so in one line."""
    write_deployment(tmp_path, standin, shard_count=2)
    alpha = tmp_path / "communities" / "alpha.yaml"
    guild, elsewhere = SERVERS["alpha"]["guild"], 1 << 22 | 2900  # shards 0 and 1
    text = alpha.read_text("utf-8").replace(f'"{guild}"', f'"{guild}", "{elsewhere}"')
    alpha.write_text(text, "utf-8")
    config = load_config(tmp_path / "concord.yaml")
    with pytest.raises(UsageError, match=r"community alpha's servers are on shards 0, 1"):
        check_platforms(config, Role(discord_shard="0/2"))
    check_platforms(config, Role())  # one process running every shard: as before


def test_a_community_without_a_server_is_delivered_by_any_discord_process(
    tmp_path: Path, standin: DiscordStandIn
) -> None:
    """Its Discord actions are direct messages, which need no server's data: every
    Discord process may deliver them (as with one process); a server's community's
    only the process of its shard."""
    write_deployment(tmp_path, standin, shard_count=2)
    alpha = (tmp_path / "communities" / "alpha.yaml").read_text("utf-8")
    gamma = alpha.replace("id: alpha", "id: gamma").replace("Alpha", "Gamma")
    gamma = gamma.split("spaces:")[0].replace('"902"', '"903"')
    (tmp_path / "communities" / "gamma.yaml").write_text(gamma, "utf-8")
    config = load_config(tmp_path / "concord.yaml")
    host = AdapterHost.of(build_engines(config, tmp_path / "db", ManualClock()))
    served = {
        shard: delivers_for(check_platforms(config, Role(discord_shard=shard))["discord"], host)
        for shard in ("0/2", "1/2")
    }
    assert served == {"0/2": {"alpha", "gamma"}, "1/2": {"beta", "gamma"}}
    assert delivers_for(check_platforms(config, Role())["discord"], host) is None  # every shard
    host.engine.services.store.close()
