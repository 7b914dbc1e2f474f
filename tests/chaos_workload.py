"""The workload of the many-process test (tests/test_chaos.py): a community, each
member's Telegram updates (JSON as Telegram sends them), and the comparison of what
each member was sent with what one process on SQLite sent them.

Every member opens the private chat with ``/start`` and goes through the onboarding:
language, the walk through the code of conduct (one part, so that a thousand members
fit in a test), the check question and the agreement. ``checkin_after`` is short, so
every member's check-in (a timer) fires during the test, after their last update.
Nothing a member is sent depends on other members or on timing: no mentor is offered
(mentors have a capacity, taken first come first served) and the per-member message
limit is far above what a member writes.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from adapters.telegram.send import Limits
from bot.core.resources import locales_dir
from bot.i18n.catalogs import Catalogs

ROOT = Path(__file__).resolve().parents[1]
TOKEN_ENV = "CONCORD_TEST_TELEGRAM_TOKEN"
MODERATORS_CHAT = -1001000000099
COMMUNITY_NAME = "Example Community"
FIRST_USER = 100_000
CHECKIN_AFTER = "20s"
# Telegram's flood limits but ten times its overall 30 messages a second (as a bot with
# paid broadcasts may send): what one bot token may send, in the stand-in and in every
# process (tests/scaled_concord.py). Three processes pacing each on their own at this
# rate would exceed it (each keeps 60% of it).
LIMITS = Limits(messages_per_second=300.0)
# What members type: their language (the first offered is theirs, from Telegram's
# language_code), go on after the one part of the code of conduct, the kind answer to
# the check question, and "I agree".
LANGUAGE_ANSWERS = ("1", "English", "Español", "Français", "Deutsch")
AFTER_LANGUAGE = ("1", "1", "1")
LANGUAGE_CODES = ("en", "en", "es", "fr", "de", "pt-br", None)
LANGUAGES = ("en", "es", "fr", "de", "pt-BR")


def code_of_conduct(folder: Path) -> Path:
    """The example code of conduct with one part in the onboarding's walk."""
    text = (ROOT / "community" / "code-of-conduct.yaml").read_text("utf-8")
    first = text.index("walkthrough: true") + len("walkthrough: true")
    path = folder / "code-of-conduct.yaml"
    path.write_text(text[:first] + text[first:].replace("walkthrough: true", ""), "utf-8")
    return path


def write_config(
    folder: Path,
    name: str,
    base_url: str,
    webhook: dict[str, Any] | None = None,
) -> Path:
    """A community served on Telegram by the stand-in at ``base_url``; polling, or the
    webhook endpoint ``webhook`` (``platforms.telegram.webhook``)."""
    telegram: dict[str, Any] = {
        "token_env": TOKEN_ENV,
        "base_url": base_url,
        "moderators_chat": MODERATORS_CHAT,
        "moderator_ids": [7000],
        "poll_timeout": 5,
    }
    if webhook is not None:
        telegram["webhook"] = webhook
    config = {
        "community": {
            "id": "example",
            "name": COMMUNITY_NAME,
            "default_language": "en",
            "languages": list(LANGUAGES),
            "code_of_conduct": str(code_of_conduct(folder)),
        },
        "onboarding": {
            "enabled": True,
            "welcome": "direct",
            "acknowledgement_required": True,
            "reminder_after": "2d",
            "checkin_after": CHECKIN_AFTER,
            "offer_mentor": False,
        },
        "moderators": {"channel": "moderators", "members": ["telegram:7000"]},
        "limits": {"messages_per_minute": 200},
        "platforms": {"telegram": telegram},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")
    return path


@dataclass
class Member:
    """One member: their Telegram user and their updates, in the order they send them."""

    user: dict[str, Any]
    updates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def chat_id(self) -> int:
        return int(self.user["id"])


def members(count: int, seed: int) -> list[Member]:
    """``count`` members, their updates shuffled together (each member's in order) and
    numbered in that order, as Telegram numbers a bot's updates as they arrive."""
    rng = random.Random(seed)
    made: list[Member] = []
    scripts: list[list[str]] = []
    for index in range(count):
        user: dict[str, Any] = {"id": FIRST_USER + index, "is_bot": False}
        user["first_name"] = f"Member{index}"
        language = rng.choice(LANGUAGE_CODES)
        if language is not None:
            user["language_code"] = language
        made.append(Member(user))
        scripts.append(["/start", rng.choice(LANGUAGE_ANSWERS), *AFTER_LANGUAGE])
    order = [index for index, script in enumerate(scripts) for _ in script]
    rng.shuffle(order)
    for update_id, index in enumerate(order, start=500_001):
        member = made[index]
        text = scripts[index][len(member.updates)]
        member.updates.append(
            private_message(update_id, member.user, len(member.updates) + 1, text)
        )
    return made


def in_arrival_order(people: list[Member]) -> list[dict[str, Any]]:
    """Every member's updates in the order Telegram numbered them."""
    return sorted((u for m in people for u in m.updates), key=lambda u: int(u["update_id"]))


def private_message(
    update_id: int, user: dict[str, Any], message_id: int, text: str
) -> dict[str, Any]:
    """A member's message in their private chat with the bot, as Telegram's Update."""
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": 1_767_600_000 + update_id,
        "chat": chat,
        "from": user,
        "text": text,
    }
    command = re.match(r"/[A-Za-z0-9_]+", text)
    if command:
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
    return {"update_id": update_id, "message": message}


@dataclass(frozen=True)
class Received:
    """A message the stand-in accepted: its text, when (time.monotonic), and which run
    of which process sent it (``sender``: a name per start of a process)."""

    text: str
    at: float
    sender: str = ""


@dataclass
class Comparison:
    """Where a member's messages differ from the reference, and the repeats allowed:
    a message sent by a run of a process that was then killed, and again after the
    kill by another (delivered, not yet marked sent, delivered again)."""

    differences: list[str] = field(default_factory=list)
    repeats: Counter[int] = field(default_factory=Counter)


def checkin_patterns() -> list[re.Pattern[str]]:
    """The check-in question in each language, with ``{when}`` (how long ago the
    member came: its seconds depend on how fast the member went) left open."""
    catalogs = Catalogs.load([locales_dir()])
    patterns = []
    for code in LANGUAGES:
        template = catalogs.translator(code).gettext("checkin.question")
        parts = re.split(r"(\{\w+\})", template)
        fills = {"{when}": "(?P<when>.+?)", "{community}": re.escape(COMMUNITY_NAME)}
        open_or_said = [fills.get(p, ".+?" if p.startswith("{") else re.escape(p)) for p in parts]
        pattern = "".join(open_or_said)
        patterns.append(re.compile(pattern, re.DOTALL))  # the choices follow
    return patterns


def timeless(text: str, checkins: list[re.Pattern[str]]) -> str:
    """The text, the check-in's ``{when}`` left out."""
    for pattern in checkins:
        found = pattern.match(text)
        if found:
            return text[: found.start("when")] + "{when}" + text[found.end("when") :]
    return text


def compare_chat(
    chat_id: int,
    expected: list[str],
    received: list[Received],
    killed: Mapping[str, float],
    result: Comparison,
) -> None:
    """``received`` must be ``expected``, in order, but for repeats a kill explains:
    the first copy's sender is a run that was killed (``killed``: when, by run), and
    the repeat came after that, from another run. (Not by the times alone: a message
    a process sent just before its kill may be accepted after the kill's time.)"""
    position, first_sender = 0, dict[str, str]()
    for index, message in enumerate(received):
        if position < len(expected) and message.text == expected[position]:
            first_sender.setdefault(message.text, message.sender)
            position += 1
            continue
        earlier = first_sender.get(message.text)
        ended = killed.get(earlier) if earlier is not None else None
        if ended is not None and ended <= message.at and message.sender != earlier:
            result.repeats[chat_id] += 1
            continue
        result.differences.append(
            f"chat {chat_id}: message {index} {message.text[:60]!r} (from {message.sender},"
            f" first from {earlier}) where {_next(expected, position)} was expected"
        )
        return
    if position < len(expected):
        result.differences.append(
            f"chat {chat_id}: {len(expected) - position} messages missing, from"
            f" {_next(expected, position)}"
        )


def _next(expected: list[str], position: int) -> str:
    return repr(expected[position][:60]) if position < len(expected) else "nothing more"
