"""The README's linking transcript, played on one engine serving two platforms.

A console transcript speaks for one platform; linking needs two. Typed lines here name
the platform with the member (``telegram:ana> /link``, ``discord:ana #general> ...``);
the lines after them are what the bot must answer, as ``bot → platform:member: text``
(continued on lines indented by four spaces) or ``* ...`` for other actions. Codes are
random; the transcript names the ones it expects, drawn in that order.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from bot.app import build_engine
from bot.config.community import Config
from bot.core.actions import Action, Ask, Capabilities, RemoveMessage, Say
from bot.core.clock import ManualClock
from bot.core.events import CommandRun, MemberRef, Place, PlaceKind, TextSaid

TYPED = re.compile(r"^([a-z]+):([a-z]+)(?: #([a-z]+))?> (.*)$")


class Platform:
    capabilities = Capabilities()

    def __init__(self, name: str, sent: list[Action]) -> None:
        self.platform = name
        self.sent = sent  # shared by both platforms: what the bot did, in order

    async def deliver(self, action: Action, idempotency_key: str) -> None:
        self.sent.append(action)


def shown(action: Action) -> str:
    if isinstance(action, Say | Ask):
        where = action.to
        target = f"{where.platform}:{where.id}"
        if where.kind is PlaceKind.CHANNEL:
            target = f"{where.platform} #{where.id}"
        return f"bot → {target}: " + action.text.replace("\n", "\n    ")
    if isinstance(action, RemoveMessage):
        return f"* {action.member.key}'s message in #{action.to.id} is removed"
    return f"* {type(action).__name__}"


async def play(config: Config, database: Path, transcript: str) -> list[tuple[str, str, str]]:
    """Each typed line with what was expected and what the bot did; empty when all match."""
    engine = build_engine(config, database, ManualClock())
    sent: list[Action] = []
    for name in ("discord", "telegram"):
        engine.add_adapter(Platform(name, sent))
    blocks: list[tuple[str, list[str]]] = []
    for line in transcript.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if TYPED.match(line):
            blocks.append((line, []))
        else:
            blocks[-1][1].append(line.rstrip())
    differences = []
    try:
        for typed, expected in blocks:
            match = TYPED.match(typed)
            assert match is not None
            platform, name, channel, text = match.groups()
            member = MemberRef(platform, name, name)
            place = Place(platform, PlaceKind.CHANNEL, channel) if channel else Place.direct(member)
            event_id = uuid.uuid4().hex
            if text.startswith("/"):
                words = text[1:].split()
                event = CommandRun(
                    event_id, "example", member, place=place, name=words[0], args=tuple(words[1:])
                )
                await engine.handle(event)
            else:
                await engine.handle(TextSaid(event_id, "example", member, place=place, text=text))
            actual = [row for action in sent for row in shown(action).split("\n")]
            sent.clear()
            if actual != expected:
                differences.append((typed, "\n".join(expected), "\n".join(actual)))
    finally:
        engine.services.store.close()
    return differences
