"""Concord's real engine on its SQLite store (plain or durable), fed neutral events."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from measuring import Timings, proc_status, result, timed_concurrent, timed_loop, top_entries
from workload import ANSWERS, LANGUAGES, STEPS, WARM_MEMBERS


def concord_updates(n: int, offset: int = 0) -> Iterator[Any]:
    """Made as they are handed in, so that the run's memory is the engine's alone."""
    from bot.core.events import MemberJoined, MemberRef, Place, TextSaid

    for step in range(STEPS):
        for index in range(n):
            name = f"m{offset + index}"
            who = MemberRef("console", name, name)
            if step == 0:
                yield MemberJoined(f"{name}:0", "example", who)
                continue
            text = str(1 + index % LANGUAGES) if step == 1 else ANSWERS[step - 2]
            yield TextSaid(f"{name}:{step}", "example", who, place=Place.direct(who), text=text)


class CountingAdapter:
    """Takes every action and keeps nothing but counts."""

    platform = "console"

    def __init__(self) -> None:
        from bot.core.actions import Capabilities

        self.capabilities = Capabilities(native_choices=False, private_spaces=True)
        self.delivered = 0

    async def deliver(self, action: object, idempotency_key: str) -> None:
        self.delivered += 1


def build_engine(folder: Path, name: str, durable: bool) -> Any:
    """The real engine on its SQLite store, with the example community; no adapter."""
    from bot.app import load_content
    from bot.config.community import load_config
    from bot.core.clock import SystemClock
    from bot.engine.engine import Engine
    from bot.engine.turn import Services
    from bot.features import all_features
    from bot.store.sqlite import SQLiteStore

    config = load_config(None)
    catalogs, coc, dialogs = load_content(config)
    services = Services(
        config=config,
        catalogs=catalogs,
        coc=coc,
        store=SQLiteStore(folder / name, durable=durable),
        clock=SystemClock(),  # time moves as in production (flood buckets expire)
        languages=config.languages or tuple(catalogs.available),
        dialogs=dialogs,
        features=all_features(),
    )
    # ``--live-conversations`` of bench/engine.py reaches the child processes this way.
    live = os.environ.get("CONCORD_BENCH_LIVE")
    return Engine(services, cache_size=int(live) if live else None)


def make_engine(folder: Path, name: str, durable: bool) -> tuple[Any, CountingAdapter]:
    engine = build_engine(folder, name, durable)
    adapter = CountingAdapter()
    engine.add_adapter(adapter)
    return engine, adapter


def check_onboarded(engine: Any, folder: Path, name: str, n: int) -> dict[str, Any]:
    """Every member finished the onboarding and nothing waits in the outbox; the store's
    size per conversation and the engine's cache entries. Closes the store."""
    store = engine.services.store
    store.flush_marks()
    done = store._conn.execute(
        "SELECT count(*) FROM profiles WHERE profile LIKE '%\"onboarded\":true%'"
    ).fetchone()[0]
    if done != n:
        raise AssertionError(f"{done} of {n} members finished the onboarding")
    pending = store._conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
    if pending.fetchone()[0]:
        raise AssertionError("undelivered replies")
    store._tidy()  # the log truncated (after a checkpoint of the store's own, if any)
    size = sum(p.stat().st_size for p in folder.glob(f"{name}*"))
    found = {"db_bytes_per_conv": size / n, "cache_entries": len(engine._cache)}
    store.close()
    return found


async def run_concord(
    n: int, folder: Path, durable: bool, profile: bool, concurrency: int = 1
) -> dict[str, Any]:
    """N members walk the onboarding through the engine, after a warm-up of its own;
    with ``concurrency`` above 1, that many updates are in flight at once (different
    members: the walk is step-major)."""
    warm, _ = make_engine(folder, "warm.db", durable)
    for event in concord_updates(WARM_MEMBERS, offset=10**7):
        await warm.handle(event)
    warm.services.store.close()
    del warm
    engine, adapter = make_engine(folder, "concord.db", durable)
    timings = Timings(n * STEPS)
    gc.collect()
    base = proc_status()["VmRSS"]
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
    if concurrency > 1:
        elapsed, cpu = await timed_concurrent(
            engine.handle, concord_updates(n), timings, concurrency
        )
    else:
        elapsed, cpu = await timed_loop(engine.handle, concord_updates(n), timings)
    extra: dict[str, Any] = {"replies": adapter.delivered, "durable": durable}
    if engine.group_sync is not None:
        extra["fsyncs"] = engine.group_sync.syncs
        extra["concurrency"] = concurrency
    if profiler is not None:
        profiler.stop()
        extra["profile"] = top_entries(profiler)
    name = "concord" + ("-durable" if durable else "")
    res = result(
        name + (f"-c{concurrency}" if concurrency > 1 else ""),
        n,
        n * STEPS,
        elapsed,
        cpu,
        base,
        timings,
        extra,
    )
    res.update(check_onboarded(engine, folder, "concord.db", n))
    return res
