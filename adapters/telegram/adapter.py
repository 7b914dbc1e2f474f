"""The Telegram adapter: long polling with an offset kept in Concord's database, or a
webhook endpoint (adapters/telegram/webhook.py), neutral events in, plain-text
messages with inline keyboards out. Polled and posted updates take one path in
(``_hand_in``).

The offset moves only after every update before it was handed in, so a restart
neither replays nor skips. Telegram bots may not write first to a member, so a
newcomer gets a message in the group with a deep link to a private chat, where
``/start`` begins onboarding. Optionally newcomers are restricted in the group
until the core grants the member role (after they agree to the code of conduct).
Files (``/mydata``) go out as documents; the ids of the bot's messages in each
private chat are kept (adapters/telegram/history.py) so ``/clear`` can delete them.
Actions are translated into Bot API calls in adapters/telegram/delivery.py, and
newcomers are restricted in adapters/telegram/restrictions.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import warnings
from collections import OrderedDict, defaultdict
from typing import Any

from telegram import BotCommand, Update, User
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBUserWarning

from adapters.telegram.delivery import Delivery
from adapters.telegram.events import (
    ALLOWED_UPDATES,
    PLATFORM,
    START_PAYLOAD,
    Context,
    Incoming,
    translate,
)
from adapters.telegram.history import SentHistory
from adapters.telegram.plain import translate_plain
from adapters.telegram.restrictions import Restrictions
from adapters.telegram.send import JsonRequest, Limits, Sender, TelegramBot, retry_seconds
from adapters.telegram.settings import TelegramSettings, Webhook
from adapters.telegram.webhook import NotTakenIn, WebhookServer
from bot.core.actions import Action, Capabilities
from bot.core.errors import ConcordError, DeliveryError, StoreUnavailable
from bot.engine.host import AdapterHost

log = logging.getLogger(__name__)

OFFSET = "telegram:offset"
_COMMAND_NAME = r"^[a-z0-9_]{1,32}$"
_MAX_BACKOFF = 60.0
# Raw getUpdates lets one malformed update be skipped instead of failing the batch;
# python-telegram-bot warns that a typed method exists, which is known here.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.getUpdates'", category=PTBUserWarning)


def create(
    settings: TelegramSettings, host: AdapterHost, limits: Limits | None = None
) -> TelegramAdapter:
    return TelegramAdapter(settings, host, limits or Limits())


class TelegramAdapter:
    platform = PLATFORM

    def __init__(self, settings: TelegramSettings, host: AdapterHost, limits: Limits) -> None:
        self.settings = settings
        self.host = host
        # Telegram has no roles; the one role with an effect is the member role, which
        # lifts the newcomer restriction when that is configured.
        self.capabilities = Capabilities(
            native_choices=True,
            private_spaces=False,
            direct_first=False,
            roles=settings.restrict_until_acknowledged,
            restricts_newcomers=settings.restrict_until_acknowledged,
            delete_messages=True,
            files=True,
            max_length=4096,
        )
        poll = settings.poll_timeout
        self.bot = TelegramBot(
            settings.token,
            base_url=settings.base_url,
            request=JsonRequest(read_timeout=20.0, pool_timeout=30.0),
            get_updates_request=JsonRequest(connection_pool_size=1, read_timeout=poll + 10.0),
        )
        self.sender = Sender(self.bot, limits)
        self.sender.pacer.waited = lambda seconds: host.rate_limit_waited(PLATFORM, seconds)
        self.sender.before_call = host.write_held_member_records  # see SentHistory
        self.history = SentHistory(host, self.bot, self.sender)
        self.restrictions = Restrictions(host, self.bot, self.sender, settings)
        self.moderators_name = host.moderators_place
        self.delivery = Delivery(
            settings,
            self.sender,
            self.history,
            self.restrictions,
            self.deep_link,
            self.moderators_name,
        )
        self.me: User | None = None
        self.webhook: WebhookServer | None = None
        # One process of a deployment sends for the bot token (its rate limits are the
        # token's) and one polls or sets the webhook: leases named by the bot's id.
        self.sender_lease = f"telegram:{_bot_id(settings.token)}"
        self.ingress = f"{self.sender_lease}:ingress"
        self._ready = asyncio.Lock()
        self._joins: OrderedDict[tuple[int, int], float] = OrderedDict()
        self._translation: tuple[tuple[str, tuple[str, ...]], Context] | None = None
        # httpx logs every request URL at INFO, and the URL holds the token.
        httpx_log = logging.getLogger("httpx")
        if httpx_log.level == logging.NOTSET:
            httpx_log.setLevel(logging.WARNING)
        self._check_member_role()

    def _check_member_role(self) -> None:
        # Every community's onboarding role (several in a deployment of many).
        for role in self.host.member_roles or (None,):
            if self.settings.restrict_until_acknowledged and role != self.settings.member_role:
                log.warning(
                    "telegram: restrict_until_acknowledged is on but onboarding grants the role"
                    " %r, not member_role %r: newcomers would stay restricted",
                    role,
                    self.settings.member_role,
                )

    # Connecting ------------------------------------------------------------------

    async def _connect(self) -> User:
        """getMe once; a rejected token is a clear error naming its variable."""
        async with self._ready:
            if self.me is None:
                try:
                    await self.bot.initialize()
                except InvalidToken:
                    raise ConcordError(
                        f"telegram: the token in {self.settings.token_env} was rejected"
                        " (check it with @BotFather)"
                    ) from None
                self.me = self.bot.bot
            return self.me

    async def run(self) -> None:
        backoff = 1.0
        while True:
            try:
                me = await self._connect()
                break
            except (NetworkError, RetryAfter) as exc:
                log.warning("telegram: cannot connect (%s); retrying in %.0f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
        log.info("telegram ready as @%s", me.username)
        await self.publish_commands()
        self.host.ready(PLATFORM)
        if self.settings.webhook is not None:
            await self._serve_webhook(self.settings.webhook)
        else:
            await self._poll_updates()

    async def _poll_updates(self) -> None:
        """One process of a deployment polls at a time (Telegram answers a second
        getUpdates with 409 Conflict); it resumes from the offset in the store.
        Polling needs no webhook (pending updates are kept)."""
        while True:
            await self.host.hold_lease(self.ingress)
            log.info("telegram: this process polls for updates")
            try:
                await self.bot.delete_webhook(drop_pending_updates=False)
            except TelegramError as exc:
                log.warning("telegram: could not remove a webhook: %s", exc)
            await self._poll()
            log.info("telegram: another process polls for updates now")

    async def _serve_webhook(self, hook: Webhook) -> None:
        """Take POSTed updates; the process holding the ingress lease tells Telegram
        where to post them (keeping those that wait)."""
        self.webhook = WebhookServer(hook, self._take_posted)
        await self.webhook.start()
        try:
            while True:
                await self.host.hold_lease(self.ingress)
                backoff = 1.0
                while not await self._set_webhook(hook):
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, _MAX_BACKOFF)
                await self.host.lease_lost(self.ingress)
        finally:
            await self.webhook.stop()

    async def _set_webhook(self, hook: Webhook) -> bool:
        try:
            await self.bot.set_webhook(
                hook.url,
                secret_token=hook.secret,
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,
            )
        except TelegramError as exc:
            log.warning("telegram: setWebhook failed (%s); retrying", exc)
            return False
        return True

    async def _take_posted(self, update: dict[str, Any]) -> None:
        """One POSTed update, through the poller's path; returns once committed."""
        try:
            await self._hand_in([update], 0, wait_out_outage=False)
        except _HandInFailed as exc:
            raise NotTakenIn(str(exc)) from exc

    async def publish_commands(self) -> None:
        """The command menu in every enabled language Telegram can name (two letters),
        plus a default menu in the community's default language. Everyone sees it, so
        it lists the members' commands only: mediators and moderators have /help."""
        infos = [
            c
            for c in self.host.commands()
            if c.requires is None and c.audience == "member" and re.fullmatch(_COMMAND_NAME, c.name)
        ]
        menus: list[tuple[str | None, str]] = [(None, self.host.default_language)]
        seen: set[str] = set()
        for code in self.host.languages:
            short = code.split("-")[0].lower()
            if len(short) == 2 and short not in seen:
                seen.add(short)
                menus.append((short, code))
        for language_code, code in menus:
            commands = [
                BotCommand(c.name, (c.descriptions.get(code) or c.name)[:256]) for c in infos
            ]
            try:
                await self.bot.set_my_commands(commands, language_code=language_code)
            except TelegramError as exc:
                log.warning("telegram: command menu for %s not set: %s", code, exc)

    # Receiving -------------------------------------------------------------------

    async def _poll(self) -> None:
        """Poll while this process holds the ingress lease."""
        saved = self.host.platform_record(OFFSET)
        offset = int(saved) if saved else 0
        timeout = self.settings.poll_timeout
        backoff = 1.0
        while self.host.holds_lease(self.ingress):
            try:
                raw = await self._fetch(offset, timeout)
                if raw:
                    offset = await self._hand_in(raw, offset)
                    self.host.save_platform_record(OFFSET, str(offset))
                backoff = 1.0
            except InvalidToken:
                raise ConcordError(
                    f"telegram: the token in {self.settings.token_env} was rejected"
                ) from None
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
            except (TelegramError, _HandInFailed, StoreUnavailable) as exc:
                # Network trouble, a conflicting poller, or a store failure: the offset
                # stays (or is saved with the next batch), so nothing is lost.
                log.warning("telegram: %s; retrying in %.0f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)

    async def _fetch(self, offset: int, timeout: int) -> list[Any]:
        kwargs: dict[str, Any] = {
            "timeout": timeout,
            "limit": 100,
            "allowed_updates": list(ALLOWED_UPDATES),
        }
        if offset:
            kwargs["offset"] = offset
        result = await self.bot.do_api_request(
            "getUpdates", api_kwargs=kwargs, read_timeout=timeout + 10.0
        )
        if not isinstance(result, list):
            log.warning("telegram: getUpdates answered %r; ignored", type(result).__name__)
            return []
        return result

    async def _hand_in(self, raw: list[Any], offset: int, wait_out_outage: bool = True) -> int:
        """Translate a batch and hand it in: one member's events in order, different
        members concurrently. Returns the offset after the batch."""
        context = self._context(self.me or await self._connect())
        chains: defaultdict[int, list[Incoming]] = defaultdict(list)
        for item in raw:
            update_id = item.get("update_id") if isinstance(item, dict) else None
            if not isinstance(update_id, int):
                log.warning("telegram: skipping an update without update_id")
                continue
            offset = max(offset, update_id + 1)
            try:
                found = translate_plain(item, context)
                incoming = (
                    translate(Update.de_json(item, self.bot), context) if found is None else found
                )
            except Exception as exc:
                log.warning(
                    "telegram: skipping update %s of an unexpected shape: %r", update_id, exc
                )
                continue
            for one in incoming:
                chains[one.user_id].append(one)
        if len(chains) == 1:  # the common batch (a webhook's is always one update): no task
            [chain] = chains.values()
            try:
                await self._chain(chain, wait_out_outage)
            except Exception as exc:
                raise _HandInFailed(f"handing in failed: {exc!r}") from exc
            return offset
        results = await asyncio.gather(
            *(self._chain(chain, wait_out_outage) for chain in chains.values()),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise _HandInFailed(f"handing in failed: {failures[0]!r}")
        return offset

    def _context(self, me: User) -> Context:
        """What translation needs, made again only when the bot's name or the groups
        the communities name have changed."""
        key = (me.username or "", self.host.spaces(PLATFORM))
        if self._translation is None or self._translation[0] != key:
            context = Context(
                community=self.host.community,
                bot_username=key[0],
                # Its own groups, and those the communities of a deployment name.
                groups=frozenset(self.settings.groups) | {int(g) for g in key[1]},
                moderator_ids=frozenset(self.settings.moderator_ids),
                mediator_ids=frozenset(self.settings.mediator_ids),
                moderators_chat=self.settings.moderators_chat,
                moderators_name=self.moderators_name,
            )
            self._translation = (key, context)
        return self._translation[1]

    async def _chain(self, chain: list[Incoming], wait_out_outage: bool) -> None:
        for incoming in chain:
            await self._hand_in_one(incoming, wait_out_outage)

    async def _hand_in_one(self, incoming: Incoming, wait_out_outage: bool = True) -> None:
        event = incoming.event
        if incoming.join_chat is not None and event is not None:
            key = (incoming.join_chat, incoming.user_id)
            previous = self._joins.get(key)
            if previous is not None and abs(previous - incoming.joined_at) < 120:
                return  # the same join, reported both as chat_member and as a message
        if event is not None:
            await self.host.handle(event, wait_out_outage=wait_out_outage)
        if incoming.join_chat is not None:
            self._joins[(incoming.join_chat, incoming.user_id)] = incoming.joined_at
            while len(self._joins) > 10_000:
                self._joins.popitem(last=False)
        if incoming.callback_id is not None:
            # The confirmation is the bot's next message; this only stops the spinner.
            try:
                await self.bot.answer_callback_query(incoming.callback_id)
            except TelegramError as exc:
                log.info("telegram: could not answer a button press: %s", exc)

    # Delivering ------------------------------------------------------------------

    async def deliver(self, action: Action, idempotency_key: str | None = None) -> None:
        """Raises Undeliverable for what Telegram refuses for good: the outbox records
        it, with the reason, instead of counting it sent. The Bot API takes no
        idempotency key, so ``idempotency_key`` is ignored: a message sent just before
        a crash can show twice."""
        await self.delivery.deliver(action)

    async def deep_link(self) -> str:
        try:
            me = await self._connect()
        except (TelegramError, ConcordError) as exc:
            raise DeliveryError(f"telegram: {exc}") from exc
        return f"https://t.me/{me.username}?start={START_PAYLOAD}"

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.bot.shutdown()


def _bot_id(token: str) -> str:
    """The bot's public id (the token's part before ``:``), never its secret part."""
    head = token.partition(":")[0]
    return head if head.isdigit() else hashlib.sha256(token.encode()).hexdigest()[:12]


class _HandInFailed(Exception):
    """An event could not be handed in (the store failed): poll the same updates again."""
