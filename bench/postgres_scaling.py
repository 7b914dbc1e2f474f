"""How Concord scales on PostgreSQL: updates a second with 1, 2 and 4 processes sharing one
database, against one process on its embedded SQLite store, in one run.

``python bench/postgres_scaling.py [--members 300] [--processes 1,2,4]`` (from the
repository root) starts a throwaway PostgreSQL cluster on loopback (Debian's server
binaries, as the tests do), then for each count of processes makes a fresh database and
starts that many ``concord`` engine processes on it. Each walks its share of the members
through the example onboarding (10 updates a member, step-major so that every member's
conversation is live at once); members are spread over the processes as a platform's
members are spread over shards. A process reports each update's latency; the run's rate
is all updates over the time from the first process starting its walk to the last one
ending. The SQLite row is the same walk in one process on a file.

The cluster is the tests' own (tests/postgres_server.py: ``fsync=off``, as SQLite's
normal durability does not sync each commit either). Processes, the server and the
client share the machine's cores: on a machine of two cores, more processes cannot add
throughput, and the figures say how much each costs, not how far a real cluster scales.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from concord_runs import concord_updates  # noqa: E402

WORKER = """
import asyncio, json, sys, time
sys.path[:0] = [{root!r}, {bench!r}]
from concord_runs import CountingAdapter, concord_updates
from bot.app import build_engine
from bot.config.community import load_config
from bot.core.clock import SystemClock

async def walk():
    engine = build_engine(load_config(None), {database!r}, SystemClock())
    engine.add_adapter(CountingAdapter())
    updates = [u for u in concord_updates({members}) if int(u.member.id[1:]) % {count} == {index}]
    print("ready", flush=True)
    sys.stdin.readline()  # every process starts its walk together
    started = time.perf_counter()
    latencies = []
    for update in updates:
        before = time.perf_counter()
        await engine.handle(update)
        latencies.append(time.perf_counter() - before)
    ended = time.perf_counter()
    engine.services.store.close()
    print(json.dumps({{"start": started, "end": ended, "latencies": latencies}}), flush=True)

asyncio.run(walk())
"""


def run_processes(database: str, members: int, count: int) -> dict[str, float]:
    """``count`` engine processes on ``database``, walking their share of ``members``."""
    workers = []
    for index in range(count):
        code = WORKER.format(
            root=str(ROOT),
            bench=str(ROOT / "bench"),
            database=database,
            members=members,
            count=count,
            index=index,
        )
        workers.append(
            subprocess.Popen(
                [sys.executable, "-c", code],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
        )
    for worker in workers:  # built, migrated, warm: nothing of start-up is timed
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    results = []
    for worker in workers:
        out, _ = worker.communicate(timeout=3600)
        results.append(json.loads(out.strip().splitlines()[-1]))
    latencies = sorted(x for r in results for x in r["latencies"])
    elapsed = max(r["end"] for r in results) - min(r["start"] for r in results)
    return {
        "updates": len(latencies),
        "per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--processes", default="1,2,4")
    args = parser.parse_args()
    from tests.postgres_server import missing_reason, start_cluster

    missing = missing_reason()
    if missing:
        print(f"postgres_scaling: {missing}", file=sys.stderr)
        return 1
    assert sum(1 for _ in concord_updates(1)) == 10
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        sqlite = run_processes(str(Path(folder) / "bench.db"), args.members, 1)
        rows.append(("SQLite", 1, sqlite))
    cluster = start_cluster()
    try:
        for count in (int(n) for n in args.processes.split(",")):
            rows.append(
                ("PostgreSQL", count, run_processes(cluster.new_database(), args.members, count))
            )
    finally:
        cluster.stop()
    print(f"{args.members} members x 10 updates; {time.strftime('%Y-%m-%d')}")
    print("| store | processes | updates/s | p50 ms | p99 ms | vs SQLite |")
    print("|---|---|---|---|---|---|")
    for store, count, row in rows:
        ratio = row["per_second"] / sqlite["per_second"]
        print(
            f"| {store} | {count} | {row['per_second']:,.0f} | {row['p50_ms']:.2f}"
            f" | {row['p99_ms']:.2f} | {ratio:.2f}x |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
