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
  as /work/shared/peer-benchmarks.md measured it: raw Bot API update dicts parsed with
  ``Update.de_json`` and fed to ``Application.process_update``; replies go through
  ``reply_text`` to a request object that answers without any network. Its dialog is
  the peers' 3-step one (start, language, rules), one reply per update.
* aiogram (when aiogram 3 is installed): its Dispatcher, Router and FSM (StatesGroup,
  MemoryStorage) driven offline the way /work/shared/bench/peers.py measured it: raw Bot
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
  (``TelegramAdapter._hand_in``: ``Update.de_json``, ``translate`` into neutral events,
  the real engine and its SQLite store), and the replies through its ``Delivery``,
  ``Sender`` and ``SentHistory`` into PTB ``send_message`` calls that reach a request
  object answering locally (the adapter's ``HTTPXRequest`` is replaced inside the child
  process: the HTTP layer only, the adapter is unchanged). Telegram's flood limits are
  lifted (the pacer still runs, it never waits), and the update offset is not saved
  per update (the adapter saves it once per getUpdates batch of up to 100).
* durable: concord again with ``SQLiteStore(durable=True)`` (synchronous=FULL: an
  fsync per commit), and the floor with synchronous=FULL, at --durable-n members.
* whatif (only when asked for): concord with ``bot.i18n.locales.text_direction``
  wrapped in an lru_cache inside the child: not a change to Concord, an estimate of
  what caching that pure function (the top entry of the profile) would give.
* startup: seconds from starting ``concord check`` to its answer (every catalog,
  dialog and the code of conduct loaded and validated), and from starting ``concord
  chat`` to its first prompt and to the answer to a first "joins".

Per update: median and p99 of each update's own time, and the mean (wall time over
updates); updates per second; peak RSS (VmHWM); RSS per conversation
((peak - RSS before the first update) / N); store size per conversation; replies sent
per update (concord: actions handed to the adapter; the others: messages sent).

Options: ``--ns 1000,10000`` (default 1000,10000,100000), ``--runs 3`` (medians of
runs), ``--systems concord,floor,ptb,durable,startup[,whatif,aiogram,telegram]``,
``--profile N`` (pyinstrument over the concord run at N, top entries printed),
``--durable-n 1000``. The peers come with ``pip install -e '.[bench]'``; a system whose
library is missing is skipped with a line saying so.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WARM_MEMBERS = 200
STEPS = 10  # updates per member in the onboarding walk
# After the language: four walkthrough parts, the check, agreement, interests, no mentor.
ANSWERS = ("1", "1", "1", "1", "1", "1", "1 3", "2")
LANGUAGES = 6  # the language question lists six, then "another language"


# --- measuring ---------------------------------------------------------------------------


def proc_status() -> dict[str, int]:
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
            return {"median_us": 0.0, "p99_us": 0.0}
        return {
            "median_us": ordered[len(ordered) // 2] / 1000,
            "p99_us": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1000,
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


# --- concord -----------------------------------------------------------------------------


def concord_updates(n: int, offset: int = 0) -> Iterator[Any]:
    from bot.events import MemberJoined, MemberRef, Place, TextSaid

    members = [MemberRef("console", f"m{offset + i}", f"m{offset + i}") for i in range(n)]
    for who in members:
        yield MemberJoined(f"{who.id}:0", "example", who)
    answers_of = [(str(1 + i % LANGUAGES), *ANSWERS) for i in range(n)]
    for step in range(1, STEPS):
        for index, who in enumerate(members):
            text = answers_of[index][step - 1]
            yield TextSaid(f"{who.id}:{step}", "example", who, place=Place.direct(who), text=text)


class CountingAdapter:
    """Takes every action and keeps nothing but counts."""

    platform = "console"

    def __init__(self) -> None:
        from bot.actions import Capabilities

        self.capabilities = Capabilities(native_choices=False, private_spaces=True)
        self.delivered = 0

    async def deliver(self, action: object) -> None:
        self.delivered += 1


def build_engine(folder: Path, name: str, durable: bool) -> Any:
    """The real engine on its SQLite store, with the example community; no adapter."""
    from bot.app import load_content
    from bot.clock import ManualClock
    from bot.config import load_config
    from bot.engine import Engine
    from bot.services import Services
    from bot.store.sqlite import SQLiteStore

    config = load_config(None)
    catalogs, coc, dialogs = load_content(config)
    services = Services(
        config=config,
        catalogs=catalogs,
        coc=coc,
        store=SQLiteStore(folder / name, durable=durable),
        clock=ManualClock(),
        languages=config.languages or tuple(catalogs.available),
        dialogs=dialogs,
    )
    return Engine(services)


def make_engine(folder: Path, name: str, durable: bool) -> tuple[Any, CountingAdapter]:
    engine = build_engine(folder, name, durable)
    adapter = CountingAdapter()
    engine.add_adapter(adapter)
    return engine, adapter


def check_onboarded(engine: Any, folder: Path, name: str, n: int) -> dict[str, Any]:
    """Every member finished the onboarding and nothing waits in the outbox; the store's
    size per conversation and the engine's cache entries. Closes the store."""
    store = engine.services.store
    done = store._conn.execute(
        "SELECT count(*) FROM profiles WHERE profile LIKE '%\"onboarded\": true%'"
    ).fetchone()[0]
    if done != n:
        raise AssertionError(f"{done} of {n} members finished the onboarding")
    pending = store._conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
    if pending.fetchone()[0]:
        raise AssertionError("undelivered replies")
    store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = sum(p.stat().st_size for p in folder.glob(f"{name}*"))
    found = {"db_bytes_per_conv": size / n, "cache_entries": len(engine._cache)}
    store.close()
    return found


async def run_concord(n: int, folder: Path, durable: bool, profile: bool) -> dict[str, Any]:
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
    elapsed, cpu = await timed_loop(engine.handle, concord_updates(n), timings)
    extra: dict[str, Any] = {"replies": adapter.delivered, "durable": durable}
    if profiler is not None:
        profiler.stop()
        extra["profile"] = top_entries(profiler)
    res = result(
        "concord" + ("-durable" if durable else ""),
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
    # And Concord's own functions by total time: where the time goes, top down.
    ours = [name for name in total if "(bot/" in name and name not in by_own]
    by_total = sorted(ours, key=lambda name: -total[name])[:limit]
    return [
        {
            "function": name,
            "own_pct": 100 * own[name] / whole,
            "total_pct": 100 * total[name] / whole,
        }
        for name in [*by_own, *by_total]
    ]


# --- the floor ---------------------------------------------------------------------------


def run_floor(n: int, folder: Path, full: bool) -> dict[str, Any]:
    import sqlite3

    replies = [f"reply {step}" for step in range(STEPS)]
    sent: list[str] = []

    def setup(path: Path) -> tuple[sqlite3.Connection, dict[int, int], Callable[[Any], None]]:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={'FULL' if full else 'NORMAL'}")
        conn.execute("CREATE TABLE conv (member INTEGER PRIMARY KEY, step INTEGER, data TEXT)")
        upsert = (
            "INSERT INTO conv VALUES (?, ?, ?) ON CONFLICT(member) DO UPDATE"
            " SET step = excluded.step, data = excluded.data"
        )
        states: dict[int, int] = {}
        dumps = json.dumps

        def feed(update: tuple[int, str]) -> None:
            member, text = update
            step = states.get(member, -1) + 1
            states[member] = step
            conn.execute(upsert, (member, step, dumps({"last": text})))
            sent.append(replies[step])

        return conn, states, feed

    def updates(count: int, offset: int = 0) -> Iterator[tuple[int, str]]:
        for step in range(STEPS):
            text = "join" if step == 0 else "1"
            for member in range(offset, offset + count):
                yield member, text

    conn, _, warm_feed = setup(folder / "warm-floor.db")
    for update in updates(WARM_MEMBERS):
        warm_feed(update)
    conn.close()
    sent.clear()
    conn, states, feed = setup(folder / "floor.db")
    timings = Timings(n * STEPS)
    gc.collect()
    base = proc_status()["VmRSS"]

    async def afeed(update: tuple[int, str]) -> None:
        feed(update)

    elapsed, cpu = asyncio.run(timed_loop(afeed, updates(n), timings))
    assert len(sent) == n * STEPS and all(s == STEPS - 1 for s in states.values())
    res = result(
        "floor-sqlite" + ("-full" if full else ""),
        n,
        n * STEPS,
        elapsed,
        cpu,
        base,
        timings,
        {"replies": len(sent)},
    )
    conn.close()
    return res


# --- raw Bot API updates (ptb, aiogram and concord through its Telegram adapter) ----------

PTB_TOKEN = "123456:benchBENCHbenchBENCHbenchBENCHbench12"
PTB_TEXTS = ("Choose your language: en / fr", "Do you accept the rules? yes / no", "Welcome!")
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "bench", "username": "bench_bot"}
DATE = 1700000000


def bot_api_update(k: int, uid: int, text: str) -> dict[str, Any]:
    """A private-chat message update, as getUpdates (or a webhook) decodes to."""
    message: dict[str, Any] = {
        "message_id": k,
        "date": DATE,
        "chat": {"id": uid, "type": "private", "first_name": "u"},
        "from": {"id": uid, "is_bot": False, "first_name": "u"},
        "text": text,
    }
    if text.startswith("/"):
        length = len(text.split()[0])
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"update_id": k, "message": message}


def ptb_update(k: int, uid: int, step: int) -> dict[str, Any]:
    return bot_api_update(k, uid, ("/start", "en", "yes")[step])


def walk_updates(count: int, offset: int = 0) -> Iterator[dict[str, Any]]:
    """Concord's 10-step walk as Bot API updates, step-major: /start in the private
    chat, then the same nine answers as ``concord_updates`` (language 1-6, ...)."""
    k = offset
    texts = [("/start", str(1 + i % LANGUAGES), *ANSWERS) for i in range(count)]
    for step in range(STEPS):
        for index in range(count):
            k += 1
            yield bot_api_update(k, offset + index + 1, texts[index][step])


def offline_request() -> tuple[type[Any], dict[str, int]]:
    """A PTB request type that answers locally, and its count of messages sent."""
    from telegram.request import BaseRequest, RequestData

    counter = {"sent": 0}
    me = json.dumps({"ok": True, "result": BOT_USER}).encode()

    class OfflineRequest(BaseRequest):
        """Answers getMe and sendMessage with canned JSON, as Telegram would (the message
        with its keyboard echoed); never opens a socket. Takes HTTPXRequest's arguments,
        so the Telegram adapter can build it in HTTPXRequest's place."""

        def __init__(self, **_: Any) -> None:
            pass

        @property
        def read_timeout(self) -> float:
            return 5.0

        async def initialize(self) -> None:
            return None

        async def shutdown(self) -> None:
            return None

        async def do_request(
            self,
            url: str,
            method: str,
            request_data: RequestData | None = None,
            read_timeout: Any = None,
            write_timeout: Any = None,
            connect_timeout: Any = None,
            pool_timeout: Any = None,
        ) -> tuple[int, bytes]:
            endpoint = url.rsplit("/", 1)[-1]
            if endpoint == "getMe":
                return 200, me
            if endpoint == "sendMessage" and request_data is not None:
                params = request_data.json_parameters
                counter["sent"] += 1
                answer = {
                    "message_id": counter["sent"],
                    "date": DATE,
                    "chat": {"id": int(params["chat_id"]), "type": "private", "first_name": "u"},
                    "from": BOT_USER,
                    "text": params["text"],
                }
                if "reply_markup" in params:
                    answer["reply_markup"] = json.loads(params["reply_markup"])
                return 200, json.dumps({"ok": True, "result": answer}).encode()
            raise RuntimeError(f"unexpected Bot API call {endpoint}")

    return OfflineRequest, counter


# --- python-telegram-bot -----------------------------------------------------------------


async def run_ptb(n: int) -> dict[str, Any]:
    from telegram import Update
    from telegram.ext import Application, CommandHandler, ConversationHandler, MessageHandler
    from telegram.ext import filters as ptb_filters

    request, counter = offline_request()

    async def start(update: Any, context: Any) -> int:
        await update.message.reply_text(PTB_TEXTS[0])
        return 1

    async def language(update: Any, context: Any) -> int:
        context.user_data["lang"] = update.message.text
        await update.message.reply_text(PTB_TEXTS[1])
        return 2

    async def rules(update: Any, context: Any) -> int:
        context.user_data["rules"] = update.message.text
        await update.message.reply_text(PTB_TEXTS[2])
        return ConversationHandler.END

    def build() -> Any:
        app = (
            Application.builder()
            .token(PTB_TOKEN)
            .request(request())
            .get_updates_request(request())
            .updater(None)
            .build()
        )
        text = ptb_filters.TEXT & ~ptb_filters.COMMAND
        app.add_handler(
            ConversationHandler(
                entry_points=[CommandHandler("start", start)],
                states={1: [MessageHandler(text, language)], 2: [MessageHandler(text, rules)]},
                fallbacks=[],
            )
        )
        return app

    def updates(count: int, offset: int = 0) -> Iterator[dict[str, Any]]:
        k = offset
        for step in range(3):
            for uid in range(offset + 1, offset + count + 1):
                k += 1
                yield ptb_update(k, uid, step)

    warm = build()
    await warm.initialize()
    for raw in updates(WARM_MEMBERS, offset=10**7):
        await warm.process_update(Update.de_json(raw, warm.bot))
    await warm.shutdown()
    counter["sent"] = 0
    app = build()
    await app.initialize()
    timings = Timings(n * 3)
    gc.collect()
    base = proc_status()["VmRSS"]

    async def feed(raw: dict[str, Any]) -> None:
        await app.process_update(Update.de_json(raw, app.bot))

    elapsed, cpu = await timed_loop(feed, updates(n), timings)
    assert counter["sent"] == 3 * n, counter
    res = result("ptb", n, 3 * n, elapsed, cpu, base, timings, {"replies": counter["sent"]})
    await app.shutdown()
    return res


# --- concord through its Telegram adapter ------------------------------------------------


async def run_concord_telegram(n: int, folder: Path) -> dict[str, Any]:
    import adapters.telegram as telegram_adapter
    from adapters.telegram_send import Limits
    from adapters.telegram_settings import TelegramSettings
    from bot.host import AdapterHost

    request, counter = offline_request()
    # The HTTP layer only: the adapter builds its Bot with this in place of HTTPXRequest.
    telegram_adapter.HTTPXRequest = request  # type: ignore[attr-defined]
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

    elapsed, cpu = await timed_loop(feed, walk_updates(n), timings)
    res = result(
        "concord-telegram",
        n,
        n * STEPS,
        elapsed,
        cpu,
        base,
        timings,
        {"replies": counter["sent"]},
    )
    res.update(check_onboarded(engine, folder, "concord.db", n))
    await adapter.close()
    return res


# --- aiogram -----------------------------------------------------------------------------

AIOGRAM_REPLIES = tuple(f"Onboarding, step {step + 1} of {STEPS}: reply" for step in range(STEPS))


async def run_aiogram(n: int, async_filters: bool) -> dict[str, Any]:
    from aiogram import Bot, Dispatcher, F, Router
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.filters import CommandStart, Filter, StateFilter
    from aiogram.fsm.context import FSMContext
    from aiogram.fsm.state import State, StatesGroup
    from aiogram.fsm.storage.memory import MemoryStorage
    from aiogram.types import Message, Update

    counter = {"sent": 0}
    me = json.dumps({"ok": True, "result": BOT_USER})

    class OfflineSession(AiohttpSession):
        """AiohttpSession minus the HTTP round trip: the form is built as for the POST,
        and a canned answer goes through the real check_response (JSON decoding and
        validation into aiogram's types); no aiohttp session is ever opened."""

        async def make_request(self, bot: Any, method: Any, timeout: int | None = None) -> Any:
            self.build_form_data(bot=bot, method=method)
            api = method.__api_method__
            if api == "sendMessage":
                counter["sent"] += 1
                answer = {
                    "message_id": counter["sent"],
                    "date": DATE,
                    "chat": {"id": method.chat_id, "type": "private", "first_name": "u"},
                    "from": BOT_USER,
                    "text": method.text,
                }
                content = json.dumps({"ok": True, "result": answer})
            elif api == "getMe":
                content = me
            else:
                raise RuntimeError(f"unexpected Bot API call {api}")
            return self.check_response(
                bot=bot, method=method, status_code=200, content=content
            ).result

    class Walk(StatesGroup):
        language = State()
        part1 = State()
        part2 = State()
        part3 = State()
        part4 = State()
        check = State()
        agreement = State()
        interests = State()
        mentor = State()
        done = State()

    order = list(Walk.__states__)  # in the order declared
    assert len(order) == STEPS and order[0] is Walk.language and order[-1] is Walk.done

    class HasText(Filter):
        async def __call__(self, message: Message) -> bool:
            return message.text is not None

    def filters(state: Any) -> tuple[Any, ...]:
        # The documented idiom: the State object and F.text, plain callables that
        # aiogram runs through asyncio.to_thread. Or the same checks as async filters.
        if async_filters:
            return StateFilter(state), HasText()
        return state, F.text

    def answer_handler(index: int) -> Any:
        name, following = str(order[index].state), order[index + 1]

        async def answered(message: Message, state: FSMContext) -> None:
            await state.update_data({name: message.text})
            await state.set_state(following)
            await message.answer(AIOGRAM_REPLIES[index + 1])

        return answered

    def build() -> tuple[Any, Any, Any]:
        router = Router()

        @router.message(CommandStart())
        async def start(message: Message, state: FSMContext) -> None:
            await state.set_state(order[0])
            await message.answer(AIOGRAM_REPLIES[0])

        for index in range(STEPS - 1):  # one handler per state, as aiogram's docs do
            router.message.register(answer_handler(index), *filters(order[index]))
        storage = MemoryStorage()
        dispatcher = Dispatcher(storage=storage)
        dispatcher.include_router(router)
        return Bot(token=PTB_TOKEN, session=OfflineSession()), dispatcher, storage

    validate = Update.model_validate
    bot, dispatcher, _ = build()
    await bot.me()
    for raw in walk_updates(WARM_MEMBERS, offset=10**7):
        await dispatcher.feed_update(bot, validate(raw, context={"bot": bot}))
    await bot.session.close()
    counter["sent"] = 0
    bot, dispatcher, storage = build()
    await bot.me()  # getMe through the session, cached afterwards
    feed_update = dispatcher.feed_update
    timings = Timings(n * STEPS)
    gc.collect()
    base = proc_status()["VmRSS"]

    async def feed(raw: dict[str, Any]) -> None:
        await feed_update(bot, validate(raw, context={"bot": bot}))

    elapsed, cpu = await timed_loop(feed, walk_updates(n), timings)
    name = "aiogram-async" if async_filters else "aiogram"
    res = result(name, n, n * STEPS, elapsed, cpu, base, timings, {"replies": counter["sent"]})
    if counter["sent"] != n * STEPS:
        raise AssertionError(f"{counter['sent']} replies, not {n * STEPS}")
    records = storage.storage
    finished = sum(
        1 for r in records.values() if r.state == Walk.done.state and len(r.data) == STEPS - 1
    )
    if finished != n or len(records) != n:
        raise AssertionError(f"{finished} of {n} members finished the walk")
    await bot.session.close()
    return res


# --- startup -----------------------------------------------------------------------------


def run_startup(runs: int) -> dict[str, Any]:
    python = sys.executable
    check_times, prompt_times, reply_times = [], [], []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [python, "-m", "adapters.cli", "check"], cwd=ROOT, check=True, capture_output=True
        )
        check_times.append(time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            chat = subprocess.Popen(
                [python, "-u", "-m", "adapters.cli", "chat", "--db", f"{folder}/c.db"],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert chat.stdin is not None and chat.stdout is not None
            chat.stdout.readline()  # "Concord console: ..."
            prompt_times.append(time.perf_counter() - start)
            chat.stdout.readline()  # the help line
            chat.stdin.write("ana joins\n")
            chat.stdin.flush()
            chat.stdout.readline()  # the welcome
            reply_times.append(time.perf_counter() - start)
            chat.stdin.close()
            chat.wait(timeout=60)
    return {
        "system": "startup",
        "check_s": statistics.median(check_times),
        "chat_prompt_s": statistics.median(prompt_times),
        "chat_first_reply_s": statistics.median(reply_times),
        "runs": runs,
    }


# --- orchestration -----------------------------------------------------------------------


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
        if system == "concord-durable":
            return asyncio.run(run_concord(n, folder, durable=True, profile=False))
        if system == "floor-sqlite":
            return run_floor(n, folder, full=False)
        if system == "floor-sqlite-full":
            return run_floor(n, folder, full=True)
        if system == "ptb":
            return asyncio.run(run_ptb(n))
        if system == "concord-telegram":
            return asyncio.run(run_concord_telegram(n, folder))
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
    for key in ("median_us", "p99_us", "mean_us", "peak_rss", "rss_per_conv", "cpu_seconds"):
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
            f" | {r['mean_us']:.0f} | {r['cpu_seconds'] / r['updates'] * 1e6:.0f}"
            f" | {r['ups']:,.0f} | {r['peak_rss'] / 2**20:.0f}"
            f" | {r['rss_per_conv']:,.0f} | {db} | {replies} |"
        )
    return "\n".join(lines)


def ratio_line(
    n: int, name: str, ours: dict[str, Any] | None, peer: str, other: dict[str, Any] | None
) -> None:
    if ours and other:
        print(
            f"N={n:,}: {name}/{peer} = {ours['mean_us'] / other['mean_us']:.1f}x"
            f" per update (mean), {ours['median_us'] / other['median_us']:.1f}x (median)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ns", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--systems", default="concord,floor,ptb,durable,startup")
    parser.add_argument("--durable-n", type=int, default=1000)
    parser.add_argument("--profile", type=int, metavar="N", help="profile concord at N")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--child", nargs=2, metavar=("SYSTEM", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--profile-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), args.profile_child)))
        return 0

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
        plan += [("concord-durable", args.durable_n), ("floor-sqlite-full", args.durable_n)]
    rows = []
    for system, n in plan:
        runs = [spawn(system, n) for _ in range(args.runs)]
        row = median_run(runs)
        rows.append(row)
        shown = row.get("error") or f"{row['mean_us']:.0f} µs/update, {row['ups']:,.0f}/s"
        print(f"{system:18s} N={n:<7,d} {shown}", file=sys.stderr, flush=True)
    print(table(rows))
    by = {(r["system"], r["n"]): r for r in rows if "error" not in r}
    print()
    for n in ns:
        concord = by.get(("concord", n))
        for peer in ("floor-sqlite", "ptb", "aiogram", "aiogram-async"):
            ratio_line(n, "Concord", concord, peer, by.get((peer, n)))
        telegram = by.get(("concord-telegram", n))
        for peer in ("ptb", "aiogram", "aiogram-async", "concord"):
            ratio_line(n, "Concord via Telegram adapter", telegram, peer, by.get((peer, n)))
    durable, full = (
        by.get(("concord-durable", args.durable_n)),
        by.get(("floor-sqlite-full", args.durable_n)),
    )
    if durable and full:
        print(
            f"durable N={args.durable_n:,}: Concord/floor = "
            f"{durable['mean_us'] / full['mean_us']:.1f}x"
        )
    extra: dict[str, Any] = {}
    if "startup" in systems:
        extra = run_startup(max(args.runs, 3))
        print(
            f"\nstartup: concord check {extra['check_s']:.2f} s; concord chat: first prompt"
            f" {extra['chat_prompt_s']:.2f} s, first reply {extra['chat_first_reply_s']:.2f} s"
        )
    if args.profile:
        profiled = spawn("concord", args.profile, profile=True)
        print(f"\nprofile of concord at N={args.profile:,} (pyinstrument; % of the timed loop)")
        print("| function | own % | total % |\n|---|---|---|")
        for entry in profiled.get("profile", []):
            print(f"| {entry['function']} | {entry['own_pct']:.1f} | {entry['total_pct']:.1f} |")
    if args.json_out:
        args.json_out.write_text(json.dumps({"rows": rows, "startup": extra}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
