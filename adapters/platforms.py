"""The platforms: found by name, their settings checked, and ``concord run CONFIG``
running every configured one in one process, each supervised on its own.

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
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from adapters.operations import Operations
from bot.app import build_engine
from bot.config.community import Config, load_config
from bot.config.fields import Section
from bot.config.keys import PLATFORM_NAMES
from bot.core.errors import ConcordError, ConfigError
from bot.engine.delivery import Adapter
from bot.engine.host import AdapterHost

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


def check_platforms(config: Config) -> dict[str, Any]:
    """Validated settings of every configured platform (tokens included)."""
    if not config.platforms:
        raise ConfigError(config.source, 1, "platforms", "no platform is configured")
    return {
        name: settings_module(name).parse(section) for name, section in config.platforms.items()
    }


async def run_platforms(
    config_path: Path, database: Path | str | None = None, operations: Operations | None = None
) -> int:
    config = load_config(config_path)
    settings = check_platforms(config)
    modules = {name: adapter_module(name) for name in settings}
    observer = operations.start(config) if operations is not None else None
    engine = build_engine(config, database)
    if observer is not None:
        engine.observe(observer)
    host = AdapterHost(engine)
    adapters: list[PlatformAdapter] = []
    for name, module in modules.items():
        adapter = module.create(settings[name], host)
        # Nothing is delivered to an adapter before it reports ready (host.ready).
        engine.add_adapter(adapter, ready=False)
        adapters.append(adapter)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # What a crash left in the outbox goes out (by retry_outbox) as each adapter
    # reports ready.
    engine.schedule_reacknowledgements()
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
        engine.services.store.close()
        if operations is not None:
            operations.stop()


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
        except ConcordError as exc:
            log.error("%s stopped: %s", adapter.platform, exc)
            return
        except Exception:
            log.exception("%s failed; starting it again in %.0f s", adapter.platform, backoff)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, MAX_BACKOFF)
