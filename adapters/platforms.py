"""The platforms: found by name, their settings checked, and ``concord run CONFIG``
running every configured one in one process, each supervised on its own; or, with
``--platforms telegram,matrix`` (and ``--discord-shard N/COUNT``), the ones this process
of a deployment on one PostgreSQL database runs (its ``Role``). Every process handles
events and delivers for the platforms it runs; an action for another platform is left
in the outbox for a process that runs it.

Each platform is a package ``adapters/<name>/`` with two entry modules:
``adapters/<name>/settings.py`` validates its config section and reads its token from
the environment (no platform library needed, so ``concord check`` can run anywhere), and
``adapters/<name>/adapter.py`` is the adapter itself, which imports the platform library
from its optional extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from adapters.operations import Operations
from bot.app import build_engines
from bot.config.community import Config, community_configs, load_config
from bot.config.fields import Section
from bot.config.keys import PLATFORM_NAMES
from bot.core.errors import ConcordError, ConfigError, StoreUnavailable, UsageError
from bot.engine.delivery import Adapter
from bot.engine.engine import Engine
from bot.engine.host import AdapterHost
from bot.store.postgres import is_postgres_url

log = logging.getLogger("concord")

# The top-level module each platform's library installs, to tell a missing extra apart
# from any other import error.
LIBRARIES = {"discord": "discord", "irc": "pydle", "matrix": "nio", "telegram": "telegram"}
MAX_BACKOFF = 300.0


class PlatformAdapter(Adapter, Protocol):
    """A delivery ``Adapter`` (bot/engine/delivery.py) that also connects to its platform."""

    async def run(self) -> None:
        """Connect, hand events to the host until cancelled, reconnect with backoff."""
        ...

    async def close(self) -> None: ...


def settings_module(name: str) -> ModuleType:
    return importlib.import_module(f"adapters.{name}.settings")


def platform_specs() -> dict[str, Section]:
    """Each platform's section of concord.yaml as field records (for the schema)."""
    return {name: settings_module(name).SPEC for name in PLATFORM_NAMES}


def adapter_module(name: str) -> ModuleType:
    try:
        return importlib.import_module(f"adapters.{name}.adapter")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == LIBRARIES[name]:
            raise ConcordError(
                f"the {name} platform needs its extra: pip install 'concord-bot[{name}]'"
            ) from exc
        raise


def check_platforms(config: Config, role: Role | None = None) -> dict[str, Any]:
    """Validated settings of the platforms this process runs (tokens included); the
    others' settings are checked without their tokens."""
    if not config.platforms:
        raise ConfigError(config.source, 1, "platforms", "no platform is configured")
    role = role or Role()
    running = role.selected(config)
    settings = {}
    for name, section in config.platforms.items():
        parsed = settings_module(name).parse(section, check_only=name not in running)
        if name in running:
            settings[name] = parsed
    if role.discord_shard is not None:
        if "discord" not in settings:
            raise UsageError("--discord-shard: this process runs no Discord (see --platforms)")
        settings["discord"] = settings_module("discord").with_shard(
            settings["discord"], role.discord_shard
        )
    discord = settings.get("discord")
    if discord is not None:  # with the servers a deployment's communities name
        guilds = [g for c in community_configs(config) for g in c.spaces.get("discord", ())]
        discord = settings["discord"] = settings_module("discord").with_guilds(discord, guilds)
        spaces = {c.community_id: c.spaces.get("discord", ()) for c in community_configs(config)}
        settings_module("discord").refuse_split(discord, spaces)
    if discord is not None and not role.shared_store and discord.elsewhere():
        guild = discord.elsewhere()[0]
        raise UsageError(
            f"Discord shards: server {guild} is on shard {discord.guild_shard(guild)},"
            " which this process does not run; only a postgresql:// database shared with"
            " the process that runs it allows that"
        )
    return settings


@dataclass(frozen=True)
class Role:
    """What one process of a deployment runs: ``concord run --platforms`` (default:
    every configured platform) and ``--discord-shard N/COUNT``."""

    platforms: str | None = None
    discord_shard: str | None = None
    shared_store: bool = True

    def selected(self, config: Config) -> list[str]:
        if self.platforms is None:
            return list(config.platforms)
        names = [name.strip() for name in self.platforms.split(",") if name.strip()]
        configured = ", ".join(config.platforms)
        for name in names:
            if name not in config.platforms:
                raise UsageError(
                    f"--platforms: {name!r} is not configured in {config.source}"
                    f" (configured: {configured})"
                )
        if not names:
            raise UsageError(f"--platforms: name one or more of: {configured}")
        if set(names) != set(config.platforms) and not self.shared_store:
            raise UsageError(
                "--platforms: running some platforms only needs a postgresql:// database"
                " that the processes running the others share"
            )
        return names


async def run_platforms(
    config_path: Path,
    database: Path | str | None = None,
    operations: Operations | None = None,
    role: Role | None = None,
) -> int:
    config = load_config(config_path)
    settings = check_platforms(config, _on_store(role, config, database))
    modules = {name: adapter_module(name) for name in settings}
    observer = operations.start(config) if operations is not None else None
    engines = build_engines(config, database)  # one per community; one outbox and timers
    engine = engines[0]
    for community in engines:
        community.observe(observer or community.observer)
    host = AdapterHost.of(engines)
    adapters = [
        _attach(module.create(settings[name], host), engine) for name, module in modules.items()
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # What a crash left in the outbox goes out (by retry_outbox) as each adapter
    # reports ready.
    for community in engines:
        community.schedule_reacknowledgements()
    core = [
        asyncio.create_task(engine.run_timers(), name="timers"),
        asyncio.create_task(engine.retry_outbox(), name="outbox"),
    ]
    platforms = [asyncio.create_task(supervise(a), name=a.platform) for a in adapters]
    stopper = asyncio.create_task(stop.wait(), name="stop")
    every_platform = asyncio.create_task(_all(platforms), name="platforms")
    tasks = [*core, *platforms, every_platform]
    try:
        done, _ = await asyncio.wait(
            [*core, every_platform, stopper], return_when=asyncio.FIRST_COMPLETED
        )
        if stopper in done:
            return 0
        for task in done:
            if task is not every_platform and task.exception() is not None:
                log.error("%s stopped: %s", task.get_name(), task.exception())
        if every_platform in done:
            log.error("no platform is running any more")
        return 1
    finally:
        log.info("stopping")
        for task in [*tasks, stopper]:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        for adapter in adapters:
            with contextlib.suppress(Exception):
                await adapter.close()
        engine.outbox.leases.close()  # the roles it held pass on at once
        engine.services.store.close()
        if operations is not None:
            operations.stop()


def _attach(adapter: PlatformAdapter, engine: Engine) -> PlatformAdapter:
    if getattr(adapter, "delivers", True):
        # Nothing is delivered to an adapter before it reports ready (host.ready).
        engine.add_adapter(adapter, ready=False)
    else:  # it hands events in; a process that can deliver them does (Discord shards)
        engine.services.capabilities[adapter.platform] = adapter.capabilities
    return adapter


def _on_store(role: Role | None, config: Config, database: Path | str | None) -> Role:
    """The role, knowing whether its store is shared with other processes."""
    target = database or config.database_url
    return replace(role or Role(), shared_store=is_postgres_url(str(target)))


async def _all(tasks: list[asyncio.Task[None]]) -> None:
    await asyncio.gather(*tasks, return_exceptions=True)


async def supervise(adapter: PlatformAdapter, first_backoff: float = 1.0) -> None:
    """Run one platform so that its failure never stops the others: a ``ConcordError``
    (a rejected token, a setting to fix) stops this platform only, logged with its
    reason; any other failure is logged and the platform started again with backoff.
    Returns only when the platform stopped for good."""
    backoff = first_backoff
    while True:
        try:
            await adapter.run()
            log.error("%s stopped", adapter.platform)
            return
        except StoreUnavailable as exc:  # one line: the engine logs the outage
            log.warning("%s: %s; starting it again in %.0f s", adapter.platform, exc, backoff)
        except ConcordError as exc:
            log.error("%s stopped: %s", adapter.platform, exc)
            return
        except Exception:
            log.exception("%s failed; starting it again in %.0f s", adapter.platform, backoff)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF)
