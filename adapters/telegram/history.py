"""What the bot sent in each private chat, so ``/clear`` can delete it again.

The ids of the bot's recent messages in a member's private chat are kept in
Concord's database (the member record ``sent`` of the user, a short JSON list), so
deleting still works after a restart; ``/forget`` erases it with the rest of the
member's data. Telegram deletes up to 100 messages in one call and only
messages younger than 48 hours, so only the last 100 are kept, and the record ends 48
hours after the last message it lists (it reads as none after that, and the daily
housekeeping deletes it): the ids of messages no one can delete are of no use.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Bot

from adapters.telegram.send import Sender
from bot.core import jsontext
from bot.core.errors import Undeliverable
from bot.engine.host import AdapterHost

log = logging.getLogger(__name__)

KEEP = 100  # deleteMessages takes at most 100 ids
DELETABLE_FOR = timedelta(hours=48)  # Telegram deletes a message only this long


SENT = "sent"  # the member record with the ids (a private chat's id is the user's)
PLATFORM = "telegram"


class SentHistory:
    def __init__(self, host: AdapterHost, bot: Bot, sender: Sender) -> None:
        self.host = host
        self.bot = bot
        self.sender = sender

    def recorded(self, chat_id: int) -> list[int]:
        saved = self.host.member_record(PLATFORM, str(chat_id), SENT)
        try:
            ids = jsontext.loads(saved) if saved else []
        except ValueError:  # (not JSON)
            return []
        if not isinstance(ids, list):
            return []
        if set(map(type, ids)) <= {int}:  # as written here (checked without a loop in Python)
            return ids
        return [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]

    def _save(self, chat_id: int, ids: list[int], later: bool = False) -> None:
        value = jsontext.dumps(ids[-KEEP:])
        self.host.save_member_record(
            PLATFORM, str(chat_id), SENT, value, later=later, keep_for=DELETABLE_FOR
        )

    def remember(self, chat_id: int, message_id: int) -> None:
        """Called as soon as a message is sent. The record is held and written with
        the delivery's sent mark (the next commit), or before the adapter's next call
        to Telegram if that comes first (``Sender.before_call``): a crash leaves at
        most the message sent last unrecorded, as when each was written on its own,
        and then its delivery is not marked either, so it goes again and is recorded."""
        ids = self.recorded(chat_id)
        if message_id not in ids:
            ids.append(message_id)
        self._save(chat_id, ids, later=True)

    async def delete_recent(self, chat_id: int) -> None:
        """Delete the bot's recorded messages in this private chat: in one call, or one
        by one when Telegram refuses the batch (a message too old to delete, say). A
        message that cannot be deleted is logged and skipped; a network failure raises
        DeliveryError, and the retry deletes what is left."""
        ids = self.recorded(chat_id)
        if not ids:
            return
        try:
            await self.sender.call(chat_id, lambda c: self.bot.delete_messages(c, ids), paced=False)
        except Undeliverable as exc:
            log.info("telegram: batch deletion refused (%s); deleting one by one", exc)
            for message_id in ids:
                await self._delete_one(chat_id, message_id)
        # Forget what was tried; keep anything sent meanwhile.
        tried = set(ids)
        self._save(chat_id, [i for i in self.recorded(chat_id) if i not in tried])

    async def _delete_one(self, chat_id: int, message_id: int) -> None:
        try:
            await self.sender.call(
                chat_id, lambda c: self.bot.delete_message(c, message_id), paced=False
            )
        except Undeliverable as exc:
            log.info("telegram: message %s not deleted, skipped: %s", message_id, exc)
