"""Files for a member, and the safety exit: the bot takes back what it said to them.

A file (``SendFile``, for example the JSON of ``/mydata``) is uploaded to the content
repository and posted as an ``m.file`` message. In an encrypted room the bytes are
encrypted before the upload (AES-CTR, by matrix-nio) and the keys travel inside the
encrypted event's ``file`` field, so the server never sees the content.

Every message the bot sends in a member's direct room (texts, reactions under its
questions, files) is remembered as the user's member record ``sent``, a
short JSON list of ``[room id, event id]`` pairs, the latest ``SENT_LIMIT``, so that
``DeleteRecentMessages`` still works after a restart: it redacts them, newest first.
A redaction the server refuses (already gone, the bot left the room) is logged and
skipped; a network failure keeps the rest for the retry.
"""

from __future__ import annotations

import json
import logging
import mimetypes
from functools import partial
from typing import Any

from adapters.matrix.send import Sender, inert
from bot.core.errors import Undeliverable
from bot.engine.host import AdapterHost

log = logging.getLogger("concord.matrix")

SENT_LIMIT = 100
REDACT_REASON = "Deleted at the member's request (/clear)"


SENT = "sent"  # the member record with the bot's messages in their direct room


def mimetype(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def file_content(
    name: str, size: int, url: str, keys: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An ``m.file`` message: ``url`` for a plain upload, ``file`` (with the keys)
    for an encrypted one."""
    kind = mimetype(name)
    content: dict[str, Any] = {
        "msgtype": "m.file",
        "body": inert(name),
        "filename": name,
        "info": {"mimetype": kind, "size": size},
        "m.mentions": {},
    }
    if keys is None:
        content["url"] = url
    else:
        content["file"] = {"url": url, "mimetype": kind, **keys}
    return content


class History:
    """The bot's own messages in members' direct rooms, and taking them back."""

    def __init__(self, client: Any, sender: Sender, host: AdapterHost) -> None:
        self.client = client
        self.sender = sender
        self.host = host

    def sent(self, user: str) -> list[tuple[str, str]]:
        text = self.host.member_record("matrix", user, SENT)
        if not text:
            return []
        try:
            data = json.loads(text)
        except ValueError:
            log.warning("matrix: a list of messages sent to a member was unreadable")
            return []
        return [(str(pair[0]), str(pair[1])) for pair in data if len(pair) == 2]

    def _save(self, user: str, entries: list[tuple[str, str]]) -> None:
        self.host.save_member_record("matrix", user, SENT, json.dumps([list(e) for e in entries]))

    def remember(self, user: str, room_id: str, event_ids: list[str]) -> None:
        if not event_ids:
            return
        entries = self.sent(user)
        # A re-delivered action gets its first events back (same transaction ids).
        new = [(room_id, e) for e in event_ids if (room_id, e) not in entries]
        if new:
            self._save(user, [*entries, *new][-SENT_LIMIT:])

    async def send_file(self, room_id: str, name: str, text: str, key: str | None = None) -> str:
        """Upload ``text`` (UTF-8) as the file ``name`` and post it (the delivery with
        the idempotency ``key``); its event id."""
        self.sender.check_room(room_id)  # before the upload: no clear file for a secret room
        data = text.encode("utf-8")
        room = self.client.rooms.get(room_id)
        encrypt = bool(room is not None and room.encrypted and self.client.olm is not None)
        keys: dict[str, Any] = {}

        async def upload() -> Any:
            response, decryption = await self.client.upload(
                lambda _limited, _timeouts: data,
                content_type=mimetype(name),
                filename=name,
                encrypt=encrypt,
                filesize=len(data),
            )
            keys.clear()
            keys.update(decryption or {})
            return response

        uploaded = await self.sender.call(f"upload {name}", upload, room_id)
        content = file_content(
            name, len(data), str(uploaded.content_uri), keys if encrypt else None
        )
        response = await self.sender.send(
            room_id, "m.room.message", content, "file", key, f"send {name} to"
        )
        return str(response.event_id)

    async def take_back(self, user: str) -> int:
        """Redact the remembered messages sent to ``user``; how many were redacted."""
        entries = self.sent(user)
        remaining = list(entries)
        redacted = 0
        try:
            for room_id, event_id in reversed(entries):
                try:
                    await self.sender.call(
                        f"redact {event_id} in {room_id}",
                        partial(self.client.room_redact, room_id, event_id, REDACT_REASON),
                        room_id,
                    )
                    redacted += 1
                except Undeliverable as exc:
                    log.warning("%s; skipped", exc)
                remaining.remove((room_id, event_id))
        finally:
            self._save(user, remaining)
        log.info("matrix: took back %d of %d messages sent to a member", redacted, len(entries))
        return redacted
