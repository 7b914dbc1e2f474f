"""Measuring one run: peak RSS, each update's own time, its percentiles, and profiles."""

from __future__ import annotations

import time
from array import array
from collections.abc import Awaitable, Callable, Iterator
from typing import Any


def proc_status() -> dict[str, int]:
    """Current and peak resident set size (VmRSS, VmHWM), in bytes."""
    found: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                found[key] = int(value.split()[0]) * 1024
    return found


class Timings:
    """Each update's own duration, in a preallocated array (no growth while timing)."""

    def __init__(self, size: int) -> None:
        self.values = array("q", bytes(8 * size))
        self.count = 0

    def add(self, nanoseconds: int) -> None:
        self.values[self.count] = nanoseconds
        self.count += 1

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.values[: self.count])
        if not ordered:
            return {"median_us": 0.0, "p99_us": 0.0, "p999_us": 0.0, "max_us": 0.0}
        last = len(ordered) - 1
        return {
            "median_us": ordered[len(ordered) // 2] / 1000,
            "p99_us": ordered[min(last, int(len(ordered) * 0.99))] / 1000,
            # The rare stalls (a checkpoint's, a collection's) show here.
            "p999_us": ordered[min(last, int(len(ordered) * 0.999))] / 1000,
            "max_us": ordered[last] / 1000,
        }


def result(
    name: str,
    n: int,
    updates: int,
    elapsed: float,
    cpu: float,
    base: int,
    timings: Timings,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    after = proc_status()
    return {
        "system": name,
        "n": n,
        "updates": updates,
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "ups": updates / elapsed,
        "mean_us": elapsed / updates * 1e6,
        **timings.summary(),
        "rss_base": base,
        "peak_rss": after["VmHWM"],
        "rss_per_conv": (after["VmHWM"] - base) / n,
        **(extra or {}),
    }


async def timed_loop(
    feed: Callable[[Any], Awaitable[object]], items: Iterator[Any], timings: Timings
) -> tuple[float, float]:
    clock = time.perf_counter_ns
    start, cpu = time.perf_counter(), time.process_time()
    for item in items:
        begun = clock()
        await feed(item)
        timings.add(clock() - begun)
    return time.perf_counter() - start, time.process_time() - cpu


async def timed_concurrent(
    feed: Callable[[Any], Awaitable[object]],
    items: Iterator[Any],
    timings: Timings,
    concurrency: int,
) -> tuple[float, float]:
    """Up to ``concurrency`` updates in flight at once, as when many members write at
    the same moment; each update's time is its own latency, from hand-in to done."""
    import asyncio

    clock = time.perf_counter_ns
    slots = asyncio.Semaphore(concurrency)
    running: set[asyncio.Task[None]] = set()

    async def one(item: Any) -> None:
        begun = clock()
        try:
            await feed(item)
        finally:
            timings.add(clock() - begun)
            slots.release()

    start, cpu = time.perf_counter(), time.process_time()
    for item in items:
        await slots.acquire()
        task = asyncio.create_task(one(item))
        running.add(task)
        task.add_done_callback(running.discard)
    await asyncio.gather(*running)
    return time.perf_counter() - start, time.process_time() - cpu


def top_entries(profiler: Any, limit: int = 15) -> list[dict[str, Any]]:
    """Own time and total time per function, from pyinstrument's frame tree."""
    root = profiler.last_session.root_frame()
    own: dict[str, float] = {}
    total: dict[str, float] = {}

    def walk(frame: Any, path: frozenset[str]) -> None:
        if frame.function.startswith("["):
            return  # pyinstrument's own "[self]" entries: counted in their parent
        name = f"{frame.function} ({frame.file_path_short}:{frame.line_no})"
        own[name] = own.get(name, 0.0) + frame.total_self_time
        if name not in path:
            total[name] = total.get(name, 0.0) + frame.time
        for child in frame.children:
            walk(child, path | {name})

    walk(root, frozenset())
    whole = root.time or 1.0
    by_own = sorted(own, key=lambda name: -own[name])[:limit]
    # And Concord's own functions (its adapters') by total time: where the time goes.
    ours = [
        name for name in total if ("(bot/" in name or "(adapters/" in name) and name not in by_own
    ]
    by_total = sorted(ours, key=lambda name: -total[name])[:limit]
    return [
        {
            "function": name,
            "own_pct": 100 * own[name] / whole,
            "total_pct": 100 * total[name] / whole,
        }
        for name in [*by_own, *by_total]
    ]
