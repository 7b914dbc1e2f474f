"""aiogram 3's Dispatcher, Router and FSM, driven offline with raw Bot API updates."""

from __future__ import annotations

import gc
import json
from typing import Any

from bot_api import BOT_USER, DATE, PTB_TOKEN, next_message_id, walk_updates
from measuring import Timings, proc_status, result, timed_loop
from workload import STEPS, WARM_MEMBERS

AIOGRAM_REPLIES = tuple(f"Onboarding, step {step + 1} of {STEPS}: reply" for step in range(STEPS))


async def run_aiogram(n: int, async_filters: bool) -> dict[str, Any]:
    """N members walk the same 10 steps as concord, one handler per FSM state."""
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
                    "message_id": next_message_id(int(method.chat_id)),
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
