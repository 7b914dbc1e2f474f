"""Telegram's webhook: updates POSTed to this process instead of polled.

Behind a load balancer any process of a deployment may receive any update, and
Telegram sends an update again until it is answered 2xx, possibly to another process.
So the endpoint answers 200 only once the update is committed (or found committed
before: the inbox drops the second copy), and 503 when the store cannot take it now,
so that Telegram sends it again. A request without the secret token set with
``setWebhook`` (header ``X-Telegram-Bot-Api-Secret-Token``, compared in constant time)
is refused with 403 and handles nothing. The server is aiohttp's, which the Telegram
extra installs.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from adapters.telegram.settings import Webhook

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024  # an update is a few kilobytes; Telegram sends one per request


class NotTakenIn(Exception):
    """The update could not be committed now (the store failed): Telegram retries."""


class WebhookServer:
    """Takes each POSTed update with ``take`` (which returns once it is committed)."""

    def __init__(self, settings: Webhook, take: Callable[[dict[str, Any]], Awaitable[None]]):
        self.settings = settings
        self.take = take
        self._runner: web.AppRunner | None = None
        self.port = settings.port
        self.listening = asyncio.Event()

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self.settings.path, self._post)
        # handler_cancellation off: a closed request still finishes its commit.
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self.listening.set()
        log.info(
            "telegram: webhook endpoint on %s:%s%s",
            self.settings.host,
            self.port,
            self.settings.path,
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _post(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.settings.secret.encode()):
            log.warning("telegram: a webhook request without the secret token was refused")
            return web.Response(status=403)
        try:
            update = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400)
        if not isinstance(update, dict):
            return web.Response(status=400)
        try:
            await self.take(update)
        except NotTakenIn as exc:
            log.warning("telegram: a webhook update was not taken in (%s); Telegram retries", exc)
            return web.Response(status=503)
        return web.Response(status=200)
