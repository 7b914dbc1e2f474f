"""python-telegram-bot's ConversationHandler, driven offline with raw Bot API updates."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

from bot_api import PTB_TOKEN, bot_api_update, offline_request
from measuring import Timings, proc_status, result, timed_loop
from workload import WARM_MEMBERS

PTB_TEXTS = ("Choose your language: en / fr", "Do you accept the rules? yes / no", "Welcome!")


def ptb_update(k: int, uid: int, step: int) -> dict[str, Any]:
    return bot_api_update(k, uid, ("/start", "en", "yes")[step])


async def run_ptb(n: int) -> dict[str, Any]:
    """N members walk the peers' 3-step dialog (start, language, rules)."""
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
