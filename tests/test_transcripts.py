"""Whole conversations, written down as transcripts, played against the real engine,
the console adapter and a SQLite file, with the embedded example community."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.console.session import AdvancingClock, ConsoleSession
from adapters.console.transcript import run_transcript
from bot.config.community import load_config
from bot.core.clock import ManualClock

TRANSCRIPTS = sorted((Path(__file__).parent / "transcripts").glob("*.txt"))


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
async def test_transcript(path: Path, tmp_path: Path) -> None:
    session = ConsoleSession(
        load_config(None), tmp_path / "t.db", AdvancingClock(ManualClock(), fixed=True)
    )
    try:
        passed, report = await run_transcript(session, path)
    finally:
        session.close()
    assert passed, report


def test_the_required_languages_have_transcripts() -> None:
    names = {p.stem for p in TRANSCRIPTS}
    assert {"onboarding-en", "onboarding-ar", "onboarding-sw"} <= names
