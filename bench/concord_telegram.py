"""Concord end to end through its Telegram adapter, offline (its parsing, PTB's requests)."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from bot_api import PTB_TOKEN, offline_request, walk_updates
from concord_runs import build_engine, check_onboarded
from measuring import Timings, proc_status, result, timed_loop, top_entries
from workload import STEPS, WARM_MEMBERS


async def run_concord_telegram(n: int, folder: Path, profile: bool = False) -> dict[str, Any]:
    """N members walk the onboarding as Bot API updates through the adapter's hand-in."""
    import adapters.telegram.adapter as telegram_adapter
    from adapters.telegram.send import Limits, read_answer
    from adapters.telegram.settings import TelegramSettings
    from bot.engine.host import AdapterHost

    request, counter = offline_request(read_answer)
    # The HTTP layer only: the adapter builds its Bot with this in place of its
    # JsonRequest (PTB's HTTPXRequest reading answers with ``read_answer``).
    telegram_adapter.JsonRequest = request  # type: ignore[misc]
    settings = TelegramSettings(token_env="CONCORD_BENCH_TOKEN", token=PTB_TOKEN)
    # Telegram's limits would hold the walk to about 18 messages a second: lifted, so
    # the pacer's bookkeeping runs on every send but never waits.
    unpaced = Limits(
        messages_per_second=1e9,
        per_chat_per_second=1e9,
        per_chat_burst=10**9,
        per_group_per_minute=10**9,
    )

    async def build(name: str) -> tuple[Any, Any]:
        engine = build_engine(folder, name, durable=False)
        adapter = telegram_adapter.create(settings, AdapterHost(engine), unpaced)
        engine.add_adapter(adapter)
        await adapter._connect()  # getMe, as before the adapter's first poll
        return engine, adapter

    warm_engine, warm = await build("warm.db")
    for raw in walk_updates(WARM_MEMBERS, offset=10**7):
        await warm._hand_in([raw], 0)
    await warm.close()
    warm_engine.services.store.close()
    del warm, warm_engine
    counter["sent"] = 0
    engine, adapter = await build("concord.db")
    hand_in = adapter._hand_in
    timings = Timings(n * STEPS)
    gc.collect()
    base = proc_status()["VmRSS"]

    async def feed(raw: dict[str, Any]) -> None:
        # What the poll loop does with a batch, here a batch of one update.
        await hand_in([raw], 0)

    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
    elapsed, cpu = await timed_loop(feed, walk_updates(n), timings)
    extra: dict[str, Any] = {"replies": counter["sent"]}
    if profiler is not None:
        profiler.stop()
        extra["profile"] = top_entries(profiler)
    res = result(
        "concord-telegram",
        n,
        n * STEPS,
        elapsed,
        cpu,
        base,
        timings,
        extra,
    )
    res.update(check_onboarded(engine, folder, "concord.db", n))
    await adapter.close()
    return res
