"""A loader for the crash test: drives the engine in its own process, so that the test
can SIGKILL it at any moment and start it again on the same database.

Every member walks the example onboarding. Each incoming event has a stable id
(``m007:3`` is member 7's fourth event) and every run hands in all of them again from
the start, as a platform re-delivers whatever it holds no acknowledgement for; the
engine must ignore the ones it has committed. The adapter appends every action it is
given to a log, and drops an action whose outbox id is already in the log, as a
platform drops a second request with the same transaction id.

Log lines, each written with one ``write`` on an append-only file, so nothing written
is lost when the process dies. A long line may still be cut short by a kill (Linux
ends a write that spans pages early when the process is being killed): a line
without its end was never delivered, and the next run cuts it off before it writes::

    D <outbox id> <action as JSON>   delivered for the first time
    R <outbox id>                    handed over again after a restart; dropped by id

Run as ``python -m tests.crash_loader --db FILE --log FILE --members N`` from the
repository root. ``--die-after K`` makes the process SIGKILL itself right after its
K-th delivery, before the engine can mark it sent: the narrowest window there is.
``--durability strict`` runs it in strict mode (concurrent members' events commit
together there).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from bot.app import build_engine
from bot.config.community import load_config
from bot.core.actions import Action, Capabilities, action_to_json
from bot.core.clock import ManualClock
from bot.core.events import Event, MemberJoined, MemberRef, Place, TextSaid
from bot.features.language.actions import SHORT_LIST

PLATFORM = "console"
COMMUNITY = "example"
# After the language: four walkthrough parts, the check question, agreement,
# interests, and "no, thank you" to a mentor (so no member's replies depend on
# another member taking a mentor's last place first).
ANSWERS_AFTER_LANGUAGE = ("1", "1", "1", "1", "1", "1", "1 3", "2")
LANGUAGES = SHORT_LIST  # the language question lists this many, then "another language"


def member_name(index: int) -> str:
    return f"m{index:03d}"


def member_events(index: int) -> Iterator[Event]:
    """The events of one member, in order, each with an id that never changes."""
    name = member_name(index)
    who = MemberRef(PLATFORM, name, name)
    yield MemberJoined(f"{name}:0", COMMUNITY, who)
    answers = (str(1 + index % LANGUAGES), *ANSWERS_AFTER_LANGUAGE)
    for number, text in enumerate(answers, 1):
        yield TextSaid(f"{name}:{number}", COMMUNITY, who, place=Place.direct(who), text=text)


def read_log(path: Path) -> tuple[list[tuple[int, str]], list[int]]:
    """First deliveries ``(outbox id, action JSON)`` in order, and the dropped repeats."""
    delivered: list[tuple[int, str]] = []
    repeated: list[int] = []
    if not path.exists():
        return delivered, repeated
    text = path.read_bytes().decode("utf-8", errors="replace")
    for line in text.split("\n")[:-1]:  # (a last line cut short: not delivered)
        kind, _, rest = line.partition(" ")
        if kind == "D":
            number, _, action = rest.partition(" ")
            delivered.append((int(number), action))
        elif kind == "R":
            repeated.append(int(rest))
        else:
            raise ValueError(f"{path}: unexpected line {line!r}")
    return delivered, repeated


def _cut_unfinished_line(path: Path) -> None:
    """A last line a kill cut short (no newline) goes: that delivery never finished."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as log:
            log.truncate(data.rfind(b"\n") + 1)


class LogAdapter:
    """Delivers by appending to the log; idempotent by outbox id."""

    platform = PLATFORM
    capabilities = Capabilities(native_choices=False, private_spaces=True)

    def __init__(self, path: Path, die_after: int | None) -> None:
        _cut_unfinished_line(path)
        delivered, _ = read_log(path)
        self.seen = {number for number, _ in delivered}
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.die_after = die_after
        self.count = 0

    async def deliver(self, action: Action, idempotency_key: str) -> None:
        number = int(idempotency_key)
        if number in self.seen:
            os.write(self.fd, f"R {number}\n".encode())
            return
        os.write(self.fd, f"D {number} {action_to_json(action)}\n".encode())
        self.seen.add(number)
        self.count += 1
        if self.die_after is not None and self.count >= self.die_after:
            os.kill(os.getpid(), signal.SIGKILL)  # before the engine marks it sent


async def run(
    database: Path, log: Path, members: int, die_after: int | None, seed: int, durability: str
) -> None:
    rng = random.Random(seed)
    config = dataclasses.replace(load_config(None), durability=durability)
    engine = build_engine(config, database, ManualClock())
    engine.add_adapter(LogAdapter(log, die_after))
    print("ready", flush=True)
    await engine.flush_outbox()

    async def walk(index: int) -> None:
        for event in member_events(index):
            await engine.handle(event)
            if rng.random() < 0.7:
                await asyncio.sleep(0)  # let other members interleave

    await asyncio.gather(*(walk(i) for i in range(members)))
    engine.services.store.close()
    print("done", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--members", type=int, default=40)
    parser.add_argument("--die-after", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--durability", choices=("normal", "strict"), default="normal")
    args = parser.parse_args(argv)
    asyncio.run(run(args.db, args.log, args.members, args.die_after, args.seed, args.durability))
    return 0


if __name__ == "__main__":
    sys.exit(main())
