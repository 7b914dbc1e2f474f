"""Shared test fixtures: an offline guard, a recording adapter, event factories."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.console.session import AdvancingClock, ConsoleSession
from bot.app import build_engine
from bot.config.community import Config, load_config
from bot.core.actions import Action, Ask, Capabilities, Say
from bot.core.clock import ManualClock
from bot.core.events import (
    ChoiceMade,
    CommandRun,
    MemberJoined,
    MemberRef,
    Place,
    PlaceKind,
    TextSaid,
)
from bot.engine.engine import Engine
from tests.postgres_server import postgres_cluster, postgres_url  # noqa: F401  (fixtures)

_LOOPBACK = ("127.", "::1", "localhost")


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """A test that configures logging (as ``concord run`` does) leaves it as it found
    it: the next test's captured records are its own."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    named = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    for name in list(logging.root.manager.loggerDict):
        logging.getLogger(name).setLevel(named.get(name, logging.NOTSET))


@pytest.fixture(autouse=True)
def _configs_fit_the_schema(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every config a test loads that the loader (and its platforms) accept is
    accepted by the JSON Schema too: the schema never rejects a working file."""
    from adapters.platforms import settings_module
    from bot.config import community
    from bot.core.errors import ConfigError
    from tests.schema_check import schema_errors

    real = community.parse_config
    misfits: list[str] = []

    def checked(doc: Any, base: Path) -> Config:
        config = real(doc, base)
        try:
            for name, section in config.platforms.items():
                settings_module(name).parse(section, check_only=True)
        except ConfigError:
            return config  # rejected by its platform: the schema may reject it too
        misfits.extend(f"{doc.name}: {error}" for error in schema_errors(doc.data))
        return config

    monkeypatch.setattr(community, "parse_config", checked)
    yield
    assert not misfits, "configs the loader accepts but the schema rejects: " + "; ".join(misfits)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach the internet: any connection outside loopback fails."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family == socket.AF_UNIX or str(host).startswith(_LOOPBACK):
            return real_connect(self, address)
        raise RuntimeError(f"test tried to reach the network: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded)


class RecordingAdapter:
    """An adapter that records every action it is asked to deliver."""

    platform = "test"
    capabilities = Capabilities(native_choices=True, private_spaces=True)

    def __init__(self) -> None:
        self.sent: list[Action] = []

    async def deliver(self, action: Action, idempotency_key: str) -> None:
        self.sent.append(action)

    def texts(self, member_id: str | None = None) -> list[str]:
        return [
            a.text
            for a in self.sent
            if isinstance(a, Say | Ask) and (member_id is None or a.to.id == member_id)
        ]

    def take(self) -> list[Action]:
        sent, self.sent = self.sent, []
        return sent


COMMUNITY = "example"


def member(name: str) -> MemberRef:
    return MemberRef("test", name, name.capitalize())


def joined(name: str, locale: str | None = None) -> MemberJoined:
    return MemberJoined(uuid.uuid4().hex, COMMUNITY, member(name), locale=locale)


def says(name: str, text: str, channel: str | None = None, locale: str | None = None) -> TextSaid:
    who = member(name)
    place = Place("test", PlaceKind.CHANNEL, channel) if channel else Place.direct(who)
    return TextSaid(uuid.uuid4().hex, COMMUNITY, who, locale=locale, place=place, text=text)


def command(name: str, text: str, channel: str | None = None) -> CommandRun:
    who = member(name)
    place = Place("test", PlaceKind.CHANNEL, channel) if channel else Place.direct(who)
    words = text.lstrip("/").split()
    return CommandRun(
        uuid.uuid4().hex, COMMUNITY, who, place=place, name=words[0], args=tuple(words[1:])
    )


def chooses(name: str, key: str) -> ChoiceMade:
    who = member(name)
    return ChoiceMade(uuid.uuid4().hex, COMMUNITY, who, place=Place.direct(who), choice=key)


EXAMPLE_MENTORS = """
  mentors:
    - {member: "test:maria", name: Maria, languages: [es, en], interests: [translation],
       capacity: 1}
    - {member: "test:amani", name: Amani, languages: [sw, en], interests: [code], capacity: 2}
"""


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """The example community, with mentors on the test platform."""
    text = (Path(__file__).parents[1] / "community" / "concord.yaml").read_text("utf-8")
    start = text.index("  mentors:")
    end = text.index("\nmoderators:")
    text = text[:start] + EXAMPLE_MENTORS.lstrip("\n") + text[end:]
    text = text.replace("#code_of_conduct", "code_of_conduct")
    text = text.replace("members: [console:mod]", 'members: ["test:mod"]')
    path = tmp_path / "concord.yaml"
    coc = Path(__file__).parents[1] / "community" / "code-of-conduct.yaml"
    path.write_text(
        text.replace("# code_of_conduct: code-of-conduct.yaml", f"code_of_conduct: {coc}"), "utf-8"
    )
    return load_config(path)


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[ConsoleSession]:
    """The example community in the console, as ``concord chat`` runs it: mod and kai
    are moderators, noor is a mediator; ``:wait`` moves the engine's clock."""
    clock = AdvancingClock(ManualClock(), fixed=True)
    session = ConsoleSession(load_config(None), tmp_path / "console.db", clock)
    await session.open()
    yield session
    session.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "concord.db"


@pytest.fixture
def adapter() -> RecordingAdapter:
    return RecordingAdapter()


@pytest.fixture
def engine(
    config: Config, database: Path, clock: ManualClock, adapter: RecordingAdapter
) -> Iterator[Engine]:
    built = build_engine(config, database, clock)
    built.add_adapter(adapter)
    yield built
    built.services.store.close()


def new_engine(
    config: Config, database: Path, clock: ManualClock, adapter: RecordingAdapter
) -> Engine:
    built = build_engine(config, database, clock)
    built.add_adapter(adapter)
    return built
