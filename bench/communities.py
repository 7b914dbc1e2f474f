"""One process hosting many communities: startup, fixed memory per community, and the
cost of an update with 1,000 communities against one.

``python bench/communities.py`` (from the repository root) runs, each in a fresh child
process so that its RSS is its own:

* ``--child K``: K community files are generated into a temporary folder (each with its
  own IRC channel as its space and its own moderators' room; the shipped code of
  conduct and catalogs), beside a deployment file naming the folder. The child times
  ``load_config`` (every file read and checked) plus ``build_engines`` (one engine per
  community on one SQLite store) and measures RSS before and after; then the same
  onboarding walk as bench/engine.py (bench/workload.py: a join in the community's
  channel, then nine answers in direct messages) for N members spread evenly over the
  K communities goes through ``AdapterHost.handle``: routed by space for the join, by
  the member's communities for the direct messages (K = 1 has no router: the plain
  path of a config of one community).

Printed: startup seconds; RSS after building minus before (and per community:
(delta with K - delta with 1) / (K - 1)); Python heap per community by tracemalloc
(a separate child, ``--tracemalloc``); per update median, p99 and mean, and the
ratio of K communities to one. Options: ``--communities 1000``, ``--members 2000``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import concord_runs
from measuring import Timings, proc_status, timed_loop
from workload import ANSWERS, LANGUAGES, STEPS

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

COMMUNITY = """community:
  id: c{i}
  name: Community {i}
  code_of_conduct: {coc}
moderators:
  channel: "#c{i}-moderators"
  members: ["irc:mod{i}"]
spaces:
  irc: ["#c{i}"]
"""
DEPLOYMENT = "database: concord.db\ncommunities: communities\n"


def write_deployment(folder: Path, k: int) -> Path:
    communities = folder / "communities"
    communities.mkdir()
    coc = ROOT / "community" / "code-of-conduct.yaml"
    for i in range(k):
        (communities / f"c{i:05d}.yaml").write_text(COMMUNITY.format(i=i, coc=coc), "utf-8")
    path = folder / "concord.yaml"
    path.write_text(DEPLOYMENT, "utf-8")
    return path


def updates(members: int, k: int) -> Iterator[Any]:
    """The onboarding walk, step-major; member m belongs to community m % k."""
    from bot.core.events import MemberJoined, MemberRef, Place, PlaceKind, TextSaid

    for step in range(STEPS):
        for index in range(members):
            community = f"c{index % k}"
            who = MemberRef("irc", f"m{index}", f"m{index}")
            if step == 0:
                channel = Place("irc", PlaceKind.CHANNEL, f"#{community}")
                yield MemberJoined(f"m{index}:0", community, who, place=channel)
                continue
            text = str(1 + index % LANGUAGES) if step == 1 else ANSWERS[step - 2]
            direct = Place.direct(who)
            yield TextSaid(f"m{index}:{step}", community, who, place=direct, text=text)


class CountingAdapter(concord_runs.CountingAdapter):
    platform = "irc"


def build(path: Path) -> tuple[list[Any], float]:
    from bot.app import build_engines
    from bot.config.community import load_config

    started = time.perf_counter()
    engines = build_engines(load_config(path))
    return engines, time.perf_counter() - started


async def child(k: int, members: int, heap: bool) -> dict[str, Any]:
    import bot.app  # noqa: F401  (imports are not the communities' memory)
    from bot.engine.host import AdapterHost

    with tempfile.TemporaryDirectory() as scratch:
        path = write_deployment(Path(scratch), k)
        gc.collect()
        before = proc_status()["VmRSS"]
        if heap:
            tracemalloc.start()
        engines, seconds = build(path)
        gc.collect()
        found: dict[str, Any] = {"communities": k, "startup_s": seconds}
        if heap:
            found["heap_bytes"] = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            engines[0].services.store.close()
            return found
        found["rss_delta"] = proc_status()["VmRSS"] - before
        adapter = CountingAdapter()
        engines[0].add_adapter(adapter)
        host = AdapterHost.of(engines)
        timings = Timings(members * STEPS)
        elapsed, _ = await timed_loop(host.handle, updates(members, k), timings)
        store = engines[0].services.store
        store.flush_marks()
        onboarded = store._conn.execute(
            "SELECT count(*) FROM profiles WHERE profile LIKE '%\"onboarded\": true%'"
        ).fetchone()[0]
        if onboarded != members:
            raise AssertionError(f"{onboarded} of {members} members finished the onboarding")
        store.close()
        found.update(timings.summary())
        found["mean_us"] = elapsed / (members * STEPS) * 1e6
        found["replies"] = adapter.delivered
        return found


def run_child(k: int, members: int, heap: bool = False) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", str(k), "--members", str(members)]
    out = subprocess.run(
        args + (["--tracemalloc"] if heap else []), check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--communities", type=int, default=1000)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--child", type=int)
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(asyncio.run(child(args.child, args.members, args.tracemalloc))))
        return
    many = args.communities
    one, lots = run_child(1, args.members), run_child(many, args.members)
    heap_one, heap_many = run_child(1, 0, heap=True), run_child(many, 0, heap=True)
    per_rss = (lots["rss_delta"] - one["rss_delta"]) / (many - 1)
    per_heap = (heap_many["heap_bytes"] - heap_one["heap_bytes"]) / (many - 1)
    print(f"members: {args.members} ({STEPS} updates each), spread over the communities")
    print(
        f"{'communities':>12} {'startup s':>10} {'RSS delta MB':>13} {'median us':>10}"
        f" {'p99 us':>8} {'mean us':>8}"
    )
    for row in (one, lots):
        print(
            f"{row['communities']:>12} {row['startup_s']:>10.2f}"
            f" {row['rss_delta'] / 2**20:>13.1f} {row['median_us']:>10.0f}"
            f" {row['p99_us']:>8.0f} {row['mean_us']:>8.0f}"
        )
    print(
        f"startup per community: {(lots['startup_s'] - one['startup_s']) / (many - 1) * 1e3:.2f} ms"
    )
    print(
        f"fixed memory per community: {per_rss / 1024:.1f} KB RSS,"
        f" {per_heap / 1024:.1f} KB Python heap (tracemalloc)"
    )
    print(
        f"per update, {many} communities / 1: median x{lots['median_us'] / one['median_us']:.2f},"
        f" p99 x{lots['p99_us'] / one['p99_us']:.2f}, mean x{lots['mean_us'] / one['mean_us']:.2f}"
    )


if __name__ == "__main__":
    main()
