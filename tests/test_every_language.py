"""The whole onboarding in every shipped language, from one template, checked against
the real text of that language's catalog; with the accessibility measures that apply
to every message: one question per message, at most 600 characters, "step k of n",
isolated commands and names in right-to-left languages, at most one emoji, never first.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from bot.config.community import Config
from bot.core.actions import Ask, Say
from bot.core.clock import ManualClock
from bot.core.resources import locales_dir
from bot.engine.engine import Engine
from bot.i18n.catalogs import Catalogs
from bot.i18n.locales import FSI, PDI, display_name, is_rtl, sentence_name
from tests.conftest import RecordingAdapter, joined, new_engine, says

PRIORITY = [
    "en",
    "es",
    "fr",
    "de",
    "ja",
    "ru",
    "pt-BR",
    "zh-Hans",
    "zh-Hant",
    "it",
    "fa",
    "ar",
    "pl",
    "uk",
    "nl",
    "id",
    "tr",
    "he",
    "ko",
    "vi",
    "hi",
    "bn",
    "ur",
    "cs",
    "sv",
    "ca",
    "hu",
    "fi",
    "el",
    "th",
    "sw",
    "ta",
    "ha",
    "ckb",
    "ro",
]
SHIPPED = Catalogs.load([locales_dir()]).available
MAX_QUESTION = 600
COMMUNITY = "Example Community"


def test_the_35_languages_are_shipped_and_offered(config: Config) -> None:
    assert sorted(SHIPPED) == sorted(PRIORITY)
    assert list(config.languages) == PRIORITY  # the example community offers them all


def emoji_count(text: str) -> int:
    return sum(1 for ch in text if unicodedata.category(ch) == "So" and ord(ch) >= 0x2190)


def rtl_unisolated(text: str, fragment: str) -> bool:
    """True if ``fragment`` appears anywhere not wrapped in FSI ... PDI."""
    return text.replace(f"{FSI}{fragment}{PDI}", "").count(fragment) > 0


class Member:
    """One newcomer typing their way through onboarding, every reply checked."""

    def __init__(self, engine: Engine, adapter: RecordingAdapter, code: str) -> None:
        self.engine, self.adapter, self.code = engine, adapter, code
        self.catalog = engine.services.catalogs.translator(code)
        self.replies: list[Say | Ask] = []

    def text(self, msgid: str, **values: str) -> str:
        """The catalog's text with values isolated in right-to-left, as the bot does."""
        isolated = {key: _isolated(value, self.code) for key, value in values.items()}
        return self.catalog.format(msgid, **isolated)

    async def send(self, text: str | None = None, *, join: bool = False) -> list[Say | Ask]:
        self.adapter.take()
        event = joined("ana", locale=self.code) if join else says("ana", text or "")
        await self.engine.handle(event)
        batch = [a for a in self.adapter.take() if isinstance(a, Say | Ask)]
        asks = [a for a in batch if isinstance(a, Ask)]
        assert len(asks) <= 1, f"{self.code}: two questions at once"
        for ask in asks:
            assert len(ask.text) <= MAX_QUESTION, f"{self.code}: {len(ask.text)} chars"
        for reply in batch:
            assert emoji_count(reply.text) <= 1 and emoji_count(reply.text[:1]) == 0
            if is_rtl(self.code):
                for fragment in ("/human", "/language", "/help", "/coc", "Ana", COMMUNITY):
                    assert not rtl_unisolated(reply.text, fragment), (self.code, reply.text)
        self.replies += batch
        return batch

    def said(self, expected: str) -> None:
        texts = [r.text for r in self.replies]
        assert any(expected in t for t in texts), f"{self.code}: {expected!r} not said"

    def step(self, k: int, n: int, question: str) -> str:
        """``question`` as "Step k of n: ...", values isolated as the bot does."""
        return self.text("common.progress", step=str(k), steps=str(n), question=question)


@pytest.mark.parametrize("code", PRIORITY)
async def test_onboarding_by_typing_in_every_language(
    code: str, config: Config, database: Path, clock: ManualClock, adapter: RecordingAdapter
) -> None:
    engine = new_engine(config, database, clock, adapter)
    try:
        ana = Member(engine, adapter, code)
        # Their platform reports this language; the name is one to isolate in RTL.
        first = await ana.send(join=True)
        assert first[0].text == ana.text("onboarding.welcome", community=COMMUNITY, name="Ana")
        if ana.catalog.review_status == "draft":
            ana.said(ana.text("common.draft_notice", language=sentence_name(code)))
        question = first[-1]
        assert isinstance(question, Ask)
        assert question.text.startswith(ana.step(1, 6, ana.text("onboarding.choose_language")))
        assert display_name(code) in question.text  # listed by its own name

        await ana.send(display_name(code))  # typed, not pressed
        ana.said(ana.text("onboarding.walk_question"))
        for _ in range(4):
            await ana.send("1")  # "go on", by number
        ana.said(ana.step(3, 6, ana.text("onboarding.check_question")))
        await ana.send("1")
        ana.said(ana.text("onboarding.check_right"))
        ana.said(ana.step(4, 6, ana.text("onboarding.acknowledge", version="2026-11")))
        await ana.send("1")  # agree
        ana.said(ana.text("onboarding.acknowledged", community=COMMUNITY))
        await ana.send("1")  # an interest
        await ana.send("2")  # no mentor
        ana.said(ana.text("onboarding.done"))
        profile = engine.services.store.load_profile("example", "test:ana")
        assert profile is not None and profile["onboarded"] and profile["chosen_locale"] == code
        if code != "en":
            english = engine.services.catalogs.translator("en").format("onboarding.done")
            assert not any(english in r.text for r in ana.replies), "English leaked"
    finally:
        engine.services.store.close()


def _isolated(text: str, code: str) -> str:
    return f"{FSI}{text}{PDI}" if is_rtl(code) else text


def test_every_command_description_fits_a_platform_menu_uncut(
    config: Config, tmp_path: Path
) -> None:
    """Discord takes at most 100 characters per command description (Telegram 256):
    a longer translation would be cut mid-sentence in the member's menu."""
    from bot.engine.host import AdapterHost

    engine = new_engine(config, tmp_path / "menus.db", ManualClock(), RecordingAdapter())
    try:
        long = [
            (code, info.name, len(text))
            for info in AdapterHost(engine).commands()
            for code, text in info.descriptions.items()
            if len(text) > 100
        ]
        assert long == []
    finally:
        engine.services.store.close()
