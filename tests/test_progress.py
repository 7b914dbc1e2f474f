""" "Step k of n": every main flow, walked as a member would, shows each stage once,
in order, and the count it announces is the number of stages the member goes through."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from pathlib import Path

from bot.app import build_engine
from bot.config.community import Config
from bot.core.clock import ManualClock
from bot.core.events import CommandRun, MemberJoined, MemberRef, Place, TextSaid
from bot.engine.engine import Engine
from tests.conftest import RecordingAdapter
from tests.test_reports import make_config

STEP = re.compile(r"^Step (\d+) of (\d+):")
# Onboarding with a detour at every stage that repeats a question: more about a part,
# a wrong answer to the check, reading every part before agreeing.
ONBOARDING = ["English", "2", "1", "1", "1", "1", "2", "1", "2", "2", "1", "1 3", "1"]
REPORT = ["2", "What happened.", "kim", "Yesterday", "1", "a link", "2", "1"]
REQUEST = ["We disagree about how reviews are done.", "2", "2", "1", "1"]
STATEMENT = ["What happened.", "How it felt.", "What I need.", "1"]


def ref(name: str) -> MemberRef:
    return MemberRef("test", name, name)


async def say(engine: Engine, name: str, text: str) -> None:
    who = ref(name)
    place = Place.direct(who)
    await engine.handle(TextSaid(uuid.uuid4().hex, "example", who, place=place, text=text))


async def run(engine: Engine, name: str, text: str) -> None:
    who = ref(name)
    words = text.lstrip("/").split()
    await engine.handle(
        CommandRun(
            uuid.uuid4().hex,
            "example",
            who,
            place=Place.direct(who),
            name=words[0],
            args=tuple(words[1:]),
        )
    )


async def join(engine: Engine, name: str, answers: list[str]) -> None:
    await engine.handle(MemberJoined(uuid.uuid4().hex, "example", ref(name)))
    for answer in answers:
        await say(engine, name, answer)


def stages(adapter: RecordingAdapter, name: str) -> list[tuple[int, int]]:
    found = (STEP.match(text) for text in adapter.texts(name))
    return [(int(m[1]), int(m[2])) for m in found if m]


def assert_counted(shown: list[tuple[int, int]]) -> int:
    """Stages 1, 2, ..., n, each once and in order, all saying "of n"."""
    assert shown, "no stage was numbered"
    count = shown[0][1]
    assert shown == [(k, count) for k in range(1, count + 1)], shown
    return count


def onboarded(engine: Engine, name: str) -> bool:
    profile = engine.services.store.load_profile("example", f"test:{name}")
    return bool(profile and profile["onboarded"])


def build(config: Config, tmp_path: Path, adapter: RecordingAdapter) -> Engine:
    engine = build_engine(config, tmp_path / f"{uuid.uuid4().hex}.db", ManualClock())
    engine.add_adapter(adapter)
    return engine


async def test_onboarding_counts_each_stage_once(tmp_path: Path) -> None:
    adapter = RecordingAdapter()
    engine = build(make_config(tmp_path), tmp_path, adapter)
    await join(engine, "ana", ONBOARDING)
    assert onboarded(engine, "ana")  # the whole way
    engine.services.store.close()
    assert assert_counted(stages(adapter, "ana")) == 6
    assert any(t.startswith("Part 4 of 4") for t in adapter.texts("ana"))  # every part shown


async def test_onboarding_counts_only_the_stages_this_community_has(tmp_path: Path) -> None:
    """One language (nothing to ask), no interests, no mentors: three stages."""
    base = make_config(tmp_path)
    onboarding = replace(base.onboarding, interests=(), offer_mentor=False)
    config = replace(base, languages=("en",), onboarding=onboarding)
    adapter = RecordingAdapter()
    engine = build(config, tmp_path, adapter)
    await join(engine, "ana", ["1", "1", "1", "1", "1", "1"])
    assert onboarded(engine, "ana")
    engine.services.store.close()
    assert assert_counted(stages(adapter, "ana")) == 3


async def test_report_and_mediation_count_their_stages(tmp_path: Path) -> None:
    adapter = RecordingAdapter()
    engine = build(make_config(tmp_path), tmp_path, adapter)
    try:
        for name in ("ana", "sam"):
            await join(engine, name, [])
            await run(engine, name, "/stop")
        adapter.take()
        await run(engine, "ana", "/report")
        for answer in REPORT:
            await say(engine, "ana", answer)
        assert assert_counted(stages(adapter, "ana")) == 8
        adapter.take()
        await run(engine, "ana", "/mediate sam")
        for answer in REQUEST:
            await say(engine, "ana", answer)
        assert assert_counted(stages(adapter, "ana")) == 5
        adapter.take()
        await say(engine, "sam", "1")  # accepts: the statements begin
        for answer in STATEMENT:
            await say(engine, "ana", answer)
        count = assert_counted(stages(adapter, "ana"))
        # The introduction announces the questions that follow.
        intro = next(t for t in adapter.texts("ana") if "short questions" in t)
        assert f"{['', 'One', 'Two', 'Three', 'Four'][count]} short questions" in intro
    finally:
        engine.services.store.close()
