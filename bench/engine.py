"""How fast is Concord's engine, and how does it compare with the floor and a peer?

``python bench/engine.py`` (from the repository root) runs, each in a fresh child
process so that peak RSS belongs to that run alone:

* concord: N members walk the example onboarding (join, language, four walkthrough
  parts, the check question, agreement, interests, no mentor: 10 updates and about
  20 replies per member) through the real engine and its SQLite store (WAL,
  synchronous=NORMAL), with an adapter that only counts what it is given. Updates are
  interleaved step-major (every member's join, then every member's first answer, ...)
  so that all N conversations are live at once.
* floor: the same 10-step walk as a dict state machine writing one SQLite UPSERT per
  step (WAL, synchronous=NORMAL, autocommit) and appending one reply string: what
  persisting every step costs when nothing else is done.
* ptb (when python-telegram-bot is installed): its ConversationHandler driven offline,
  as the published peer benchmarks measured it: raw Bot API update dicts parsed with
  ``Update.de_json`` and fed to ``Application.process_update``; replies go through
  ``reply_text`` to a request object that answers without any network. Its dialog is
  the peers' 3-step one (start, language, rules), one reply per update.
* aiogram (when aiogram 3 is installed): its Dispatcher, Router and FSM (StatesGroup,
  MemoryStorage) driven offline the way the peer benchmarks measured it: raw Bot
  API update dicts validated with ``Update.model_validate`` and fed to
  ``Dispatcher.feed_update``; replies go through ``message.answer`` to a session whose
  ``make_request`` builds the form data as for the POST and validates a canned answer
  with the real ``check_response``. It walks the same 10 steps as concord (/start, then
  the same nine answers), one handler per state and one reply per update, in two rows:
  ``aiogram`` with the documented filter idiom (the State object and ``F.text``: plain
  callables, which aiogram runs through ``asyncio.to_thread``, one thread-pool hop per
  filter evaluated) and ``aiogram-async`` with the same checks as async filters
  (``StateFilter`` and an async text filter: no hop; aiogram at its fastest).
* telegram (when python-telegram-bot is installed): concord end to end through its
  Telegram adapter, offline. The same raw Bot API update dicts (/start in the private
  chat, then the nine answers) go through the adapter's own hand-in
  (``TelegramAdapter._hand_in``: a plain text message read from its JSON by
  adapters/telegram/plain.py, any other shape through ``Update.de_json``; ``translate``
  into neutral events, the real engine and its SQLite store), and the replies through
  its ``Delivery``, ``Sender`` and ``SentHistory`` into sendMessage requests encoded and
  posted by PTB's ``Bot`` (``TelegramBot.send_plain``) to a request object answering
  locally (the adapter's ``JsonRequest`` is replaced inside the child process: the
  HTTP layer only, the adapter is unchanged). Telegram's flood limits are
  lifted (the pacer still runs, it never waits), and the update offset is not saved
  per update (the adapter saves it once per getUpdates batch of up to 100).
* durable: concord in strict durability (``durability: strict``: every step's commit
  is on disk before its replies go out) at --durable-n members, once with one update
  at a time (every commit waits for its own fsync) and once with --concurrency updates
  in flight (different members; their commits share fsyncs, see
  bot/store/group_sync.py); and the floor with synchronous=FULL (an fsync per step).
* whatif (only when asked for): concord with ``bot.i18n.locales.text_direction``
  wrapped in an lru_cache inside the child: not a change to Concord, an estimate of
  what caching that pure function (the top entry of the profile) would give.
* footprint: the fixed RSS of a process that built the engine on the example community
  with only the console adapter, and with the Discord, Matrix and Telegram adapters
  created (not connected): bench/footprint.py.
* startup: seconds from starting ``concord check`` to its answer (every catalog,
  dialog and the code of conduct loaded and validated), and from starting ``concord
  chat`` to its first prompt and to the answer to a first "joins".

Per update: median, p99, p99.9 and the worst of each update's own time (a rare stall,
as a checkpoint's, shows in the last two), and the mean (wall time over
updates); updates per second; peak RSS (VmHWM); RSS per conversation
((peak - RSS before the first update) / N); store size per conversation; replies sent
per update (concord: actions handed to the adapter; the others: messages sent).

Options: ``--ns 1000,10000`` (default 1000,10000,100000), ``--runs 3`` (medians of
runs, made in rounds: every system runs once in each round, so that a machine whose
speed drifts over the minutes of a bench slows the systems compared alike; ratios are
also printed round by round),
``--systems concord,floor,ptb,durable,startup,footprint[,whatif,aiogram,telegram]``,
``--profile N`` (pyinstrument over the concord run at N, top entries printed;
``--profile-system concord-telegram`` profiles the run through the Telegram adapter),
``--durable-n 1000``, ``--concurrency 100``, ``--live-conversations N`` (Concord's
``limits.live_conversations``, default 10,000; with two Ns above it, the RSS per
conversation stored past the working set is printed). The peers come with
``pip install -e '.[bench]'``; a system whose library is missing is skipped with a line
saying so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from aiogram_peer import run_aiogram
from concord_runs import run_concord
from concord_telegram import run_concord_telegram
from floor import run_floor
from footprint import report as report_footprint
from ptb_peer import run_ptb
from startup import run_startup

# Run as a script, this folder is already first on sys.path, so the sibling modules above
# import; the repository root is added for ``bot`` and ``adapters``, which they import
# only inside their functions, after this has run.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def child(system: str, n: int, profile: bool) -> dict[str, Any]:
    import logging

    logging.disable(logging.CRITICAL)
    folder = Path(tempfile.mkdtemp(prefix="concord-bench-"))
    try:
        if system == "concord":
            return asyncio.run(run_concord(n, folder, durable=False, profile=profile))
        if system == "concord-whatif":
            # Not a change to Concord: what caching text_direction (a pure function of
            # the locale tag, 40% of the time in the profile) would give.
            import functools

            import bot.i18n.locales as locales

            locales.text_direction = functools.lru_cache(maxsize=256)(locales.text_direction)
            found = asyncio.run(run_concord(n, folder, durable=False, profile=False))
            return {**found, "system": system}
        if system.startswith("concord-durable"):
            _, _, width = system.partition("-c")
            concurrency = int(width or 1)
            return asyncio.run(run_concord(n, folder, True, False, concurrency))
        if system == "floor-sqlite":
            return run_floor(n, folder, full=False)
        if system == "floor-sqlite-full":
            return run_floor(n, folder, full=True)
        if system == "ptb":
            return asyncio.run(run_ptb(n))
        if system == "concord-telegram":
            return asyncio.run(run_concord_telegram(n, folder, profile))
        if system in ("aiogram", "aiogram-async"):
            return asyncio.run(run_aiogram(n, async_filters=system == "aiogram-async"))
        raise SystemExit(f"unknown system {system}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def spawn(system: str, n: int, profile: bool = False) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", system, str(n)]
    if profile:
        command.append("--profile-child")
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        return {"system": system, "n": n, "error": done.stderr.strip().splitlines()[-1:]}
    parsed: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return parsed


def median_run(rows: list[dict[str, Any]]) -> dict[str, Any]:
    good = [r for r in rows if "error" not in r]
    if not good:
        return rows[0]
    chosen = dict(sorted(good, key=lambda r: r["ups"])[len(good) // 2])
    times = ("median_us", "p99_us", "p999_us", "max_us", "mean_us")
    for key in (*times, "peak_rss", "rss_per_conv", "cpu_seconds"):
        chosen[key] = statistics.median(r[key] for r in good)
    chosen["runs"] = len(good)
    return chosen


def installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# What each optional system needs: (--systems name, module, distribution).
NEEDS = (
    ("ptb", "telegram", "python-telegram-bot"),
    ("telegram", "telegram", "python-telegram-bot"),
    ("aiogram", "aiogram", "aiogram"),
)


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "system",
        "N",
        "µs/update median",
        "p99",
        "p99.9",
        "worst",
        "mean",
        "CPU µs/update",
        "updates/s",
        "peak RSS MB",
        "RSS/conv B",
        "DB/conv B",
        "replies/update",
    )
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['system']} | {r['n']} | error: {r['error']} |")
            continue
        db = f"{r['db_bytes_per_conv']:,.0f}" if "db_bytes_per_conv" in r else "-"
        replies = f"{r['replies'] / r['updates']:.1f}" if "replies" in r else "-"
        lines.append(
            f"| {r['system']} | {r['n']:,} | {r['median_us']:.0f} | {r['p99_us']:.0f}"
            f" | {r.get('p999_us', 0):.0f} | {r.get('max_us', 0):.0f} | {r['mean_us']:.0f}"
            f" | {r['cpu_seconds'] / r['updates'] * 1e6:.0f}"
            f" | {r['ups']:,.0f} | {r['peak_rss'] / 2**20:.0f}"
            f" | {r['rss_per_conv']:,.0f} | {db} | {replies} |"
        )
    return "\n".join(lines)


Runs = dict[tuple[str, int], list[dict[str, Any]]]  # each system's runs, by round


def by_round(runs: Runs, ours: tuple[str, int], other: tuple[str, int]) -> str:
    """The two systems' mean times set against each other within each round (drift
    between rounds cancels out), as ``; round by round: 1.02x, 0.98x, 1.05x``."""
    pairs = zip(runs.get(ours, []), runs.get(other, []), strict=False)
    ratios = [a["mean_us"] / b["mean_us"] for a, b in pairs if "error" not in a | b]
    if len(ratios) < 2:
        return ""
    return "; round by round: " + ", ".join(f"{r:.2f}x" for r in ratios)


def ratio_line(
    n: int, name: str, system: str, peer: str, by: dict[tuple[str, int], dict[str, Any]], runs: Runs
) -> None:
    ours, other = by.get((system, n)), by.get((peer, n))
    if ours and other:
        print(
            f"N={n:,}: {name}/{peer} = {ours['mean_us'] / other['mean_us']:.1f}x"
            f" per update (mean), {ours['median_us'] / other['median_us']:.1f}x (median)"
            + by_round(runs, (system, n), (peer, n))
        )


def past_working_set(rows: list[dict[str, Any]], live: int | None) -> None:
    """RSS per conversation stored past the working set: between the smallest and the
    largest N above it, how much more the run's memory grew, per conversation more.
    The working set: the live conversations kept (``--live-conversations``) and the
    rate limit's members of the last minute (at most 10,000; the bench's members all
    write within a minute), so the Ns should be above both."""
    if not live:
        return
    runs = sorted(
        (r for r in rows if r["system"] == "concord" and "error" not in r and r["n"] > live),
        key=lambda r: r["n"],
    )
    if len(runs) < 2:
        return
    low, high = runs[0], runs[-1]
    grew = (high["peak_rss"] - high["rss_base"]) - (low["peak_rss"] - low["rss_base"])
    print(
        f"concord, {live:,} live conversations: RSS per conversation stored past the"
        f" working set {grew / (high['n'] - low['n']):,.0f} B"
        f" (N={low['n']:,} to {high['n']:,})"
    )


def strict_against_normal(
    by: dict[tuple[str, int], dict[str, Any]], runs: Runs, n: int, width: int
) -> None:
    """Strict durability's cost per step against the normal mode's, at the same N."""
    normal = by.get(("concord", n))
    for name in ("concord-durable", f"concord-durable-c{width}"):
        strict = by.get((name, n))
        if strict and normal:
            print(
                f"{name} N={n:,}: {strict['mean_us'] / normal['mean_us']:.2f}x the normal"
                " mode's time per update" + by_round(runs, (name, n), ("concord", n))
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ns", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--systems", default="concord,floor,ptb,durable,startup,footprint")
    parser.add_argument("--durable-n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument(
        "--live-conversations", type=int, help="Concord's limits.live_conversations"
    )
    parser.add_argument("--profile", type=int, metavar="N", help="profile concord at N")
    parser.add_argument(
        "--profile-system",
        default="concord",
        choices=("concord", "concord-telegram"),
        help="the system --profile runs (concord-telegram: through the Telegram adapter)",
    )
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--child", nargs=2, metavar=("SYSTEM", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--profile-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), args.profile_child)))
        return 0

    if args.live_conversations:
        os.environ["CONCORD_BENCH_LIVE"] = str(args.live_conversations)
    systems = set(args.systems.split(","))
    for name, module, distribution in NEEDS:
        if name in systems and not installed(module):
            systems.discard(name)
            print(
                f"{name}: skipped, {distribution} is not installed (pip install -e '.[bench]')",
                file=sys.stderr,
                flush=True,
            )
    ns = [int(n) for n in args.ns.split(",") if n]
    plan: list[tuple[str, int]] = []
    for n in ns:
        if "concord" in systems:
            plan.append(("concord", n))
        if "whatif" in systems:
            plan.append(("concord-whatif", n))
        if "floor" in systems:
            plan.append(("floor-sqlite", n))
        if "ptb" in systems:
            plan.append(("ptb", n))
        if "telegram" in systems:
            plan.append(("concord-telegram", n))
        if "aiogram" in systems:
            plan += [("aiogram", n), ("aiogram-async", n)]
    if "durable" in systems:
        grouped = f"concord-durable-c{args.concurrency}"
        plan += [
            ("concord-durable", args.durable_n),
            (grouped, args.durable_n),
            ("floor-sqlite-full", args.durable_n),
        ]
    runs: Runs = {key: [] for key in plan}
    for round_number in range(1, args.runs + 1):
        for system, n in plan:
            run = spawn(system, n)
            runs[(system, n)].append(run)
            shown = run.get("error") or f"{run['mean_us']:.0f} µs/update, {run['ups']:,.0f}/s"
            print(f"{round_number}: {system:18s} N={n:<7,d} {shown}", file=sys.stderr, flush=True)
    rows = [median_run(runs[key]) for key in runs]
    print(table(rows))
    by = {(r["system"], r["n"]): r for r in rows if "error" not in r}
    print()
    for n in ns:
        for peer in ("floor-sqlite", "ptb", "aiogram", "aiogram-async"):
            ratio_line(n, "Concord", "concord", peer, by, runs)
        for peer in ("ptb", "aiogram", "aiogram-async", "concord"):
            ratio_line(n, "Concord via Telegram adapter", "concord-telegram", peer, by, runs)
    full = by.get(("floor-sqlite-full", args.durable_n))
    for name in ("concord-durable", f"concord-durable-c{args.concurrency}"):
        durable = by.get((name, args.durable_n))
        if durable and full:
            rounds = [r for r in runs[(name, args.durable_n)] if "error" not in r]
            each = ", ".join(f"{r['ups']:,.0f}" for r in rounds)
            print(
                f"{name} N={args.durable_n:,}: {durable['ups']:,.0f} steps/s"
                + (f" (rounds: {each})" if len(rounds) > 1 else "")
                + ","
                f" {durable['updates'] / max(durable['fsyncs'], 1):.1f} steps per fsync;"
                f" per step {durable['mean_us'] / full['mean_us']:.2f}x the floor's fsync per step"
            )
    strict_against_normal(by, runs, args.durable_n, args.concurrency)
    past_working_set(rows, args.live_conversations)
    extra: dict[str, Any] = {}
    if "startup" in systems:
        extra = run_startup(max(args.runs, 3), ROOT)
        print(
            f"\nstartup: concord check {extra['check_s']:.2f} s; concord chat: first prompt"
            f" {extra['chat_prompt_s']:.2f} s, first reply {extra['chat_first_reply_s']:.2f} s"
        )
    if "footprint" in systems:
        print()
        extra.update(report_footprint())
    if args.profile:
        profiled = spawn(args.profile_system, args.profile, profile=True)
        print(
            f"\nprofile of {args.profile_system} at N={args.profile:,}"
            " (pyinstrument; % of the timed loop)"
        )
        print("| function | own % | total % |\n|---|---|---|")
        for entry in profiled.get("profile", []):
            print(f"| {entry['function']} | {entry['own_pct']:.1f} | {entry['total_pct']:.1f} |")
    if args.json_out:
        args.json_out.write_text(json.dumps({"rows": rows, "startup": extra}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
