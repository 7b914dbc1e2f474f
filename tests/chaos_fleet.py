"""Concord processes for the many-process test (tests/test_chaos.py): started as
``concord run`` subprocesses (tests/scaled_concord.py), killed with SIGKILL and
started again; Telegram updates POSTed to their webhook endpoints as Telegram does
(one member's next update only once the last was answered 200, a failed POST sent
again), and a record of the stand-in's accepted messages: when, and from which run of
which process."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from adapters.telegram.webhook import SECRET_HEADER
from tests.chaos_workload import Member, Received
from tests.telegram_standin import BotApiStandIn

ROOT = Path(__file__).resolve().parents[1]


# The run whose API call the stand-in is answering (see TimedStandIn.url_for).
_SENDER = contextvars.ContextVar("sender", default="")
_RUN_PREFIX = "run-"


class TimedStandIn(BotApiStandIn):
    """The Bot API stand-in, noting when it accepted each message and from which run
    of which process (to tell a repeat that a kill explains from one that nothing
    does): each run calls the API under a path of its own (``url_for``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.accepted: dict[int, tuple[float, str]] = {}  # message id: when, sender

    def url_for(self, sender: str) -> str:
        """The API's base URL for one run (``sender``: no slash in it)."""
        return f"{self.base_url.removesuffix('/bot')}/{_RUN_PREFIX}{sender}/bot"

    async def _dispatch(self, request: web.Request) -> web.Response:
        first, slash, rest = request.path[1:].partition("/")
        if not (slash and first.startswith(_RUN_PREFIX)):
            return await super()._dispatch(request)
        token = _SENDER.set(first.removeprefix(_RUN_PREFIX))
        try:
            return await super()._dispatch(request.clone(rel_url=f"/{rest}"))
        finally:
            _SENDER.reset(token)

    async def _send_message(self, params: dict[str, Any]) -> Any:
        message = await super()._send_message(params)
        self.accepted[int(message["message_id"])] = (time.monotonic(), _SENDER.get())
        return message

    def received(self, chat_id: int) -> list[Received]:
        return [Received(s.text, *self.accepted[s.message_id]) for s in self.to(chat_id)]


@dataclass
class ConcordProcess:
    """One ``concord run`` process; its output goes to ``log``."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    port: int | None = None  # its webhook endpoint's, when it has one
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0
    # Called with the name of each run before it starts (to write its config).
    before_start: Callable[[str], object] | None = None

    @property
    def run(self) -> str:
        """This run's name: the process's and its start's number."""
        return f"{self.name}.{self.starts}"

    def start(self) -> None:
        self.starts += 1
        if self.before_start is not None:
            self.before_start(self.run)
        with self.log.open("ab") as out:
            out.write(f"--- start {self.starts}\n".encode())
            out.flush()
            self.popen = subprocess.Popen(
                self.argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no goodbye to PostgreSQL, nothing flushed."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait()

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(15)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()

    async def listening(self, timeout: float = 60.0) -> None:
        """Wait until its webhook endpoint takes connections."""
        assert self.port is not None
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive:
                raise AssertionError(f"{self.name} exited:\n{self.tail()}")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} never listened:\n{self.tail()}")
            await asyncio.sleep(0.1)

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text("utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def concord_run(config: Path, database: str, *extra: str) -> list[str]:
    """The command line of ``concord run`` (through tests/scaled_concord.py)."""
    return [sys.executable, "-m", "tests.scaled_concord", "run", str(config), "--db", database,
            *extra]  # fmt: skip


def process_env(**values: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(values)
    env.pop("CONCORD_DATABASE", None)
    return env


@dataclass
class Chaos:
    """Kills: a random live process, at a random moment, started again after a random
    pause; one process down at a time."""

    processes: list[ConcordProcess]
    rng: random.Random
    kill_times: list[float] = field(default_factory=list)
    killed: list[str] = field(default_factory=list)
    runs_killed: dict[str, float] = field(default_factory=dict)  # run: when

    async def run(self, stop: asyncio.Event, least: int, pause: tuple[float, float]) -> None:
        while not (stop.is_set() and len(self.kill_times) >= least):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.rng.uniform(*pause)):
                    await stop.wait()
            victim = self.rng.choice([p for p in self.processes if p.alive])
            victim.kill()
            self.kill_times.append(time.monotonic())
            self.killed.append(victim.name)
            self.runs_killed[victim.run] = self.kill_times[-1]
            await asyncio.sleep(self.rng.uniform(0.2, 2.0))
            victim.start()
            await victim.listening()


@dataclass
class Feeder:
    """Telegram's side of the webhooks: each update POSTed to ``copies`` of the
    processes (two: the "delivered twice"), a failed POST sent again to its endpoint
    until answered 200, and a member's next update only once both were answered."""

    session: aiohttp.ClientSession
    processes: list[ConcordProcess]
    secret: str
    path: str
    rng: random.Random
    copies: int = 2  # processes each update is POSTed to
    answered: int = 0  # POSTs answered 200
    again: int = 0  # POSTs sent again after a failure
    refused: list[str] = field(default_factory=list)  # answers no retry fixes

    async def member(self, member: Member, start: float, pauses: tuple[float, float]) -> None:
        await asyncio.sleep(start)
        for update in member.updates:
            await asyncio.sleep(self.rng.uniform(*pauses))
            chosen = self.rng.sample(self.processes, self.copies)
            await asyncio.gather(*(self.post(process, update) for process in chosen))

    async def post(self, process: ConcordProcess, update: dict[str, Any]) -> None:
        url = f"http://127.0.0.1:{process.port}{self.path}"
        headers = {SECRET_HEADER: self.secret}
        pause = 0.1
        while True:
            try:
                async with self.session.post(url, json=update, headers=headers) as answer:
                    if answer.status == 200:
                        self.answered += 1
                        return
                    if answer.status < 500 and answer.status != 429:
                        self.refused.append(f"{process.name}: {answer.status}")
                        return
            except (aiohttp.ClientError, OSError, TimeoutError):
                pass  # the process died under it: Telegram sends it again
            self.again += 1
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)


async def feed(
    feeder: Feeder, members: list[Member], ramp: float, pauses: tuple[float, float]
) -> None:
    """Every member's updates, members starting at random moments within ``ramp``
    seconds (their updates interleave), each member's in order."""
    rng = feeder.rng
    await asyncio.gather(*(feeder.member(m, rng.uniform(0, ramp), pauses) for m in members))


def duplicates_logged(processes: list[ConcordProcess]) -> int:
    """Events the processes found handled already (they log each), over every start."""
    return sum(
        p.log.read_text("utf-8", errors="replace").count("outcome=duplicate") for p in processes
    )
