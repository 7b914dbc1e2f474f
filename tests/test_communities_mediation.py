"""Two communities of one deployment each mediate their own case 1 in a private space
of one platform: the spaces are two, and what the mediator of both types in one is
that community's, never the other's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import build_engines
from bot.config.community import load_config
from bot.core.actions import Action, Capabilities, OpenPrivateSpace
from bot.core.events import CommandRun, MemberJoined, MemberRef, Place, PlaceKind, TextSaid
from bot.engine.engine import Engine
from bot.engine.host import AdapterHost
from tests.conftest import RecordingAdapter
from tests.test_communities import COC, DEPLOYMENT

REQUEST = ["We disagree about how reviews are done.", "2", "2", "1", "1"]
STATEMENT = ["What happened.", "How it felt.", "What I need.", "1"]


def community_file(ident: str, room: str) -> str:
    return f"""community:
  id: {ident}
  name: {ident.capitalize()}
  default_language: en
  code_of_conduct: {COC}
moderators:
  channel: "#{ident}-mods:example.org"
mediation:
  mediators:
    - {{member: "matrix:noor", name: Noor, languages: [en]}}
spaces:
  matrix: ["{room}"]
"""


class SpacesRecorder(RecordingAdapter):
    platform = "matrix"
    capabilities = Capabilities(native_choices=True, private_spaces=True)


@pytest.fixture
def adapter() -> SpacesRecorder:
    return SpacesRecorder()


@pytest.fixture
def engines(tmp_path: Path, adapter: SpacesRecorder) -> Iterator[list[Engine]]:
    (tmp_path / "communities").mkdir()
    for ident, room in (("alpha", "!a:example.org"), ("beta", "!b:example.org")):
        (tmp_path / "communities" / f"{ident}.yaml").write_text(
            community_file(ident, room), "utf-8"
        )
    (tmp_path / "concord.yaml").write_text(DEPLOYMENT, "utf-8")
    built = build_engines(load_config(tmp_path / "concord.yaml"), tmp_path / "cases.db")
    built[0].add_adapter(adapter)
    yield built
    built[0].services.store.close()


def ref(name: str) -> MemberRef:
    return MemberRef("matrix", name, name.capitalize())


async def handle(host: AdapterHost, event: object) -> None:
    assert await host.handle(event)  # type: ignore[arg-type]


async def run(host: AdapterHost, name: str, text: str, place: Place | None = None) -> None:
    command, *args = text.lstrip("/").split()
    where = place or Place.direct(ref(name))
    await handle(
        host,
        CommandRun(uuid.uuid4().hex, "", ref(name), place=where, name=command, args=tuple(args)),
    )


async def say(host: AdapterHost, name: str, text: str) -> None:
    place = Place.direct(ref(name))
    await handle(host, TextSaid(uuid.uuid4().hex, "", ref(name), place=place, text=text))


async def to_joint_session(host: AdapterHost, room: str, requester: str, other: str) -> None:
    for name in (requester, other):
        place = Place("matrix", PlaceKind.CHANNEL, room)
        await handle(host, MemberJoined(uuid.uuid4().hex, "", ref(name), place=place))
        await run(host, name, "/stop")
    await run(host, requester, f"/mediate {other}")
    for answer in REQUEST:
        await say(host, requester, answer)
    await say(host, other, "1")  # accepts
    for answer in STATEMENT:
        await say(host, requester, answer)
    for answer in ["It happened.", "I felt bad.", "I need respect.", "2"]:
        await say(host, other, answer)


def opened(sent: list[Action]) -> list[OpenPrivateSpace]:
    return [a for a in sent if isinstance(a, OpenPrivateSpace)]


async def test_each_communitys_case_has_its_own_space_and_keeps_its_words(
    engines: list[Engine], adapter: SpacesRecorder
) -> None:
    host = AdapterHost.of(engines)
    await to_joint_session(host, "!a:example.org", "ana", "sam")
    await to_joint_session(host, "!b:example.org", "bo", "kai")
    spaces = opened(adapter.sent)
    assert [{m.id for m in s.members} for s in spaces] == [
        {"ana", "sam", "noor"},
        {"bo", "kai", "noor"},
    ]
    assert spaces[0].space != spaces[1].space  # two rooms: nobody is invited into the other
    # Noor mediates both: a pause she types in Beta's space pauses Beta's case only.
    cases = engines[0].services.store.cases
    beta_space = Place("matrix", PlaceKind.PRIVATE, spaces[1].space)
    await run(host, "noor", "/pause", place=beta_space)
    beta, alpha = cases.by_space("beta", spaces[1].space), cases.by_space("alpha", spaces[0].space)
    assert beta and alpha and beta.shown == alpha.shown == 1
    assert beta.data["paused"] is True and alpha.data["paused"] is False
