"""Stateful property test of the engine (Hypothesis ``RuleBasedStateMachine``).

A few members join, type anything (numbers, words, odd Unicode, empty lines) in direct
messages and in channels, press choice buttons, run commands, let time pass so timers
fire, and the engine restarts on the same SQLite file. After every step:

* nothing crashed: no exception escaped and the engine logged no error;
* every stored conversation is consistent with the dialogs: each frame names a known
  dialog and step, waits at a step that asks, and no dialog is twice on one stack;
  what the engine caches is exactly what is stored;
* no reply to a direct-message conversation went to a channel: a message reaches a
  channel only where the member spoke or where one of their dialogs already was, and
  a dialog held in a direct message never moves to a channel;
* every message to a member is in that member's language (see ``LanguageOracle``).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import Iterable
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bot.app import load_content
from bot.conduct.document import coc_title, section_texts
from bot.config.community import Config, load_config
from bot.core.actions import Action, Ask, Say
from bot.core.clock import ManualClock
from bot.core.events import (
    ChoiceMade,
    CommandRun,
    Event,
    MemberJoined,
    MemberRef,
    Place,
    PlaceKind,
    TextSaid,
)
from bot.core.state import conversation_to_dict, profile_to_dict
from bot.engine.engine import Engine
from bot.engine.turn import Services
from bot.features import all_features
from bot.i18n.filling import placeholders
from bot.i18n.locales import display_name, fallback_chain, negotiate, normalize_tag
from bot.store.sqlite import SQLiteStore
from tests.conftest import RecordingAdapter

PLATFORM = "console"
COMMUNITY = "example"
NAMES = ("ana", "bo", "chen")
MIN_FRAGMENT = 12  # shorter pieces ("Yes", "Part 1") are shared by too many languages


class ConsoleRecorder(RecordingAdapter):
    platform = PLATFORM


@cache
def content() -> tuple[Config, Any, Any, Any]:
    config = load_config(None)
    return (config, *load_content(config))


# --- the language oracle ----------------------------------------------------------------


class LanguageOracle:
    """Decides whether a text can be a message in a given language.

    For each language L, ``corpus[L]`` is every text Concord can show in L: each
    catalog message as L's translator resolves it (L's own text, else its fallback,
    English last, all plural forms), the code of conduct as L's readers get it, and
    the community's own config words. A *fragment* of L is a literal piece of one of
    L's catalog or code-of-conduct texts: a line, cut at placeholders, of at least
    MIN_FRAGMENT characters. A message in L must not contain a fragment of another
    language M that appears nowhere in L's corpus: such a piece can only come from
    M's catalog (members' own words are short and inert here). A message written
    while the member switched language may use both.
    """

    def __init__(self, services: Services) -> None:
        self.services = services
        catalogs = services.catalogs
        self.languages = tuple(services.languages)
        ids: set[str] = set()
        for code in catalogs.available:
            ids |= catalogs.message_ids(code)
        config = services.config
        shared = [config.community_name, *(display_name(c) for c in self.languages)]
        for interest in config.onboarding.interests:
            shared += [interest.label, *interest.channels, *interest.resources]
        self.corpus: dict[str, str] = {}
        self.fragments: dict[str, set[str]] = {}
        for code in self.languages:
            texts = self._texts(code, ids)
            self.fragments[code] = {f for text in texts for f in _fragments(text)}
            self.corpus[code] = "\x00".join([*texts, *shared])
        self._forbidden: dict[frozenset[str], tuple[str, ...]] = {}

    def _texts(self, code: str, ids: Iterable[str]) -> list[str]:
        catalogs = self.services.catalogs
        chain = [c for c in fallback_chain(code) if c in catalogs.available] + ["en"]
        entries = [catalogs.entries(c) for c in chain]
        texts: list[str] = []
        for msgid in ids:
            value = next((e[msgid] for e in entries if msgid in e), None)
            if value is not None:
                texts += [value] if isinstance(value, str) else list(value)
        lookup = self.services.catalogs.translator(code).lookup
        coc = self.services.coc
        texts.append(coc_title(coc, lookup))
        for section in coc.sections:
            rendered = section_texts(section, lookup)
            texts += [rendered["title"], rendered["summary"], rendered["details"]]
            texts += [*rendered["ok"], *rendered["not_ok"]]
        return texts

    def forbidden(self, allowed: frozenset[str]) -> tuple[str, ...]:
        if allowed not in self._forbidden:
            found = {
                fragment
                for other in self.languages
                if other not in allowed
                for fragment in self.fragments[other]
                if not any(fragment in self.corpus[code] for code in allowed)
            }
            self._forbidden[allowed] = tuple(sorted(found))
        return self._forbidden[allowed]

    def foreign_piece(self, text: str, allowed: frozenset[str]) -> str | None:
        """A piece of ``text`` that only another language's catalog has, or None."""
        return next((f for f in self.forbidden(allowed) if f in text), None)


def _fragments(text: str) -> set[str]:
    pieces: set[str] = set()
    for line in text.split("\n"):
        cut = line
        for name in placeholders(line):
            cut = cut.replace("{" + name + "}", "\x00")
        for piece in cut.split("\x00"):
            piece = piece.strip(" -.:,;!?()\t")
            if len(piece) >= MIN_FRAGMENT:
                pieces.add(piece)
    return pieces


@cache
def oracle() -> LanguageOracle:
    config, catalogs, coc, dialogs = content()
    services = Services(
        config=config,
        catalogs=catalogs,
        coc=coc,
        store=SQLiteStore(":memory:"),
        clock=ManualClock(),
        languages=config.languages or tuple(catalogs.available),
        dialogs=dialogs,
        features=all_features(),
    )
    return LanguageOracle(services)


def test_the_oracle_tells_languages_apart() -> None:
    """The check is not vacuous: each language's own texts pass, others' are caught."""
    found = oracle()
    catalogs = found.services.catalogs
    for code in found.languages:
        own = catalogs.translator(code).format("onboarding.walk_question")
        assert found.foreign_piece(own, frozenset({code})) is None
    spanish = catalogs.translator("es").format("common.help")
    english = catalogs.translator("en").format("common.help")
    assert spanish != english
    assert found.foreign_piece(english, frozenset({"es"})) is not None
    assert found.foreign_piece(spanish, frozenset({"en"})) is not None
    assert found.foreign_piece(spanish, frozenset({"en", "es"})) is None


# --- the state machine -----------------------------------------------------------------


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


ODD_TEXT = st.one_of(
    st.sampled_from(
        [
            "1",
            "2",
            "3",
            "4",
            "9",
            "0",
            "-1",
            "1 3",
            "1, 2",
            "٣",
            "English",
            "Español",
            "francais",
            "yes",
            "no",
            "go on",
            "tell me more",
            "talk to a person",
            "",
            " ",
            "\u202eevil\u202c",
            "🙂",
            "{name}",
            "/",
            "/ coc",
            "%s",
        ]
    ),
    st.text(max_size=30),
    st.integers(2000, 12000).map(lambda n: "x" * n),
)
CHOICE_KEYS = st.sampled_from(
    [
        "en",
        "es",
        "fr",
        "ar",
        "sw",
        "next",
        "more",
        "agree",
        "read",
        "kind",
        "ignore",
        "want",
        "skip",
        "person",
        "another",
        "done",
        "translation",
        "code",
        "none",
        "bogus",
    ]
)
COMMANDS = st.sampled_from(
    ["coc", "language", "stop", "continue", "help", "human", "start", "frobnicate"]
)
ARGS = st.lists(st.sampled_from(["2", "privacy", "harass", "99", "", "🙂", "es"]), max_size=2)
LOCALES = st.sampled_from([None, "es", "fr-CA", "ar", "pt_BR", "sw", "zh-TW", "xx", "en-GB"])
WHERE = st.sampled_from([None, "general", "welcome"])


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="concord-props-"))
        self.database = self.folder / "concord.db"
        self.clock = ManualClock()
        self.adapter = ConsoleRecorder()
        self.errors = _Errors()
        self.runner = asyncio.Runner()
        logging.getLogger("bot").addHandler(self.errors)
        self.engine = self._start()
        self.last: Event | None = None
        self.counter = 0

    def _start(self) -> Engine:
        config, catalogs, coc, dialogs = content()
        services = Services(
            config=config,
            catalogs=catalogs,
            coc=coc,
            store=SQLiteStore(self.database),
            clock=self.clock,
            languages=config.languages or tuple(catalogs.available),
            dialogs=dialogs,
            features=all_features(),
        )
        engine = Engine(services)
        engine.add_adapter(self.adapter)
        return engine

    def teardown(self) -> None:
        logging.getLogger("bot").removeHandler(self.errors)
        self.engine.services.store.close()
        self.runner.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # Helpers -------------------------------------------------------------------------

    def _id(self) -> str:
        self.counter += 1
        return f"e{self.counter}"

    def _locale(self, name: str, reported: str | None = None) -> str:
        stored = self.engine.services.store.load_profile(COMMUNITY, f"{PLATFORM}:{name}") or {}
        services = self.engine.services
        platform = normalize_tag(reported) or stored.get("platform_locale")
        return negotiate(
            [stored.get("chosen_locale"), platform],
            services.languages,
            services.config.default_language,
        )

    def _frames(self, name: str) -> list[dict[str, Any]]:
        state = self.engine.services.store.load_conversation(COMMUNITY, f"{PLATFORM}:{name}")
        return list(state["frames"]) if state else []

    def _handle(self, event: Event, *, timer: bool = False) -> None:
        self.last = event
        name = event.member.id
        before = {n: self._locale(n) for n in NAMES}
        before[name] = self._locale(name, event.locale)
        frames_before = self._frames(name)
        start = len(self.adapter.sent)
        self.runner.run(self.engine.handle(event))
        self._check_replies(event, self.adapter.sent[start:], before, frames_before)

    def _check_replies(
        self,
        event: Event,
        sent: list[Action],
        before: dict[str, str],
        frames_before: list[dict[str, Any]],
    ) -> None:
        name = event.member.id
        frames_after = self._frames(name)
        place = getattr(event, "place", None)
        channels = {
            (f["place"] or {}).get("id")
            for f in [*frames_before, *frames_after]
            if (f["place"] or {}).get("kind") == "channel"
        }
        if isinstance(place, Place) and place.kind is PlaceKind.CHANNEL:
            channels.add(place.id)
        for action in sent:
            if not isinstance(action, Say | Ask):
                continue
            if action.to.kind is PlaceKind.CHANNEL:
                assert action.to.id in channels, f"{event!r} answered in #{action.to.id}"
                continue
            who = action.to.id
            if who not in NAMES:
                continue  # a mentor or moderator: not one of the members driven here
            allowed = frozenset({before[who], self._locale(who)})
            piece = oracle().foreign_piece(action.text, allowed)
            assert piece is None, f"to {who} in {sorted(allowed)}: {piece!r} in {action.text!r}"
        # A dialog held in private never moves to a channel. (Its own command typed in a
        # channel starts it afresh there: a new conversation the member began in public.)
        dialogs = self.engine.services.dialogs
        restarted = {
            d.id
            for d in dialogs.values()
            if isinstance(event, CommandRun) and d.command == event.name
        }
        for index, frame in enumerate(frames_before[: len(frames_after)]):
            after = frames_after[index]
            if after["dialog"] != frame["dialog"] or after["dialog"] in restarted:
                continue
            if (frame["place"] or {}).get("kind") in ("direct", "private"):
                assert (after["place"] or {}).get("kind") != "channel", (frame, after)

    def _fire(self) -> None:
        starts = {n: self._locale(n) for n in NAMES}
        frames = {n: self._frames(n) for n in NAMES}
        start = len(self.adapter.sent)
        self.runner.run(self.engine.fire_due_timers())
        sent = self.adapter.sent[start:]
        for name in NAMES:
            mine: list[Action] = [a for a in sent if isinstance(a, Say | Ask) and a.to.id == name]
            event = TextSaid("timer", COMMUNITY, MemberRef(PLATFORM, name, name))
            self._check_replies(event, mine, starts, frames[name])

    # Rules ---------------------------------------------------------------------------

    @rule(name=st.sampled_from(NAMES), locale=LOCALES)
    def join(self, name: str, locale: str | None) -> None:
        who = MemberRef(PLATFORM, name, name)
        self._handle(MemberJoined(self._id(), COMMUNITY, who, locale=locale))

    @rule(name=st.sampled_from(NAMES), text=ODD_TEXT, channel=WHERE)
    def say(self, name: str, text: str, channel: str | None) -> None:
        who = MemberRef(PLATFORM, name, name)
        place = Place(PLATFORM, PlaceKind.CHANNEL, channel) if channel else Place.direct(who)
        self._handle(TextSaid(self._id(), COMMUNITY, who, place=place, text=text))

    @rule(name=st.sampled_from(NAMES), key=CHOICE_KEYS)
    def choose(self, name: str, key: str) -> None:
        who = MemberRef(PLATFORM, name, name)
        self._handle(ChoiceMade(self._id(), COMMUNITY, who, place=Place.direct(who), choice=key))

    @rule(name=st.sampled_from(NAMES), command=COMMANDS, args=ARGS, channel=WHERE)
    def run_command(self, name: str, command: str, args: list[str], channel: str | None) -> None:
        who = MemberRef(PLATFORM, name, name)
        place = Place(PLATFORM, PlaceKind.CHANNEL, channel) if channel else Place.direct(who)
        event = CommandRun(self._id(), COMMUNITY, who, place=place, name=command, args=tuple(args))
        self._handle(event)

    @rule(hours=st.sampled_from([1, 25, 49, 24 * 7 + 1]))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))
        self._fire()

    @rule()
    def restart(self) -> None:
        self.engine.services.store.close()
        self.engine = self._start()
        start = len(self.adapter.sent)
        assert self.runner.run(self.engine.flush_outbox()) == 0  # nothing was left undelivered
        assert self.adapter.sent[start:] == []

    @precondition(lambda self: self.last is not None)
    @rule()
    def delivered_again(self) -> None:
        assert self.last is not None
        start = len(self.adapter.sent)
        assert self.runner.run(self.engine.handle(self.last)) is False
        assert self.adapter.sent[start:] == []

    # Invariants ----------------------------------------------------------------------

    @invariant()
    def nothing_went_wrong(self) -> None:
        assert not self.errors.records, [r.getMessage() for r in self.errors.records]

    @invariant()
    def conversations_match_the_dialogs(self) -> None:
        dialogs = self.engine.services.dialogs
        store = self.engine.services.store
        for name in NAMES:
            key = f"{PLATFORM}:{name}"
            frames = self._frames(name)
            seen: set[str] = set()
            for frame in frames:
                dialog = dialogs.get(frame["dialog"])
                assert dialog is not None, frame
                step = dialog.steps.get(frame["step"])
                assert step is not None, frame
                if frame.get("queued"):  # begun while another question waited there
                    assert frame["step"] == dialog.start and not frame["waiting"], frame
                else:
                    assert frame["waiting"] and step.ask is not None, frame
                where = f"{frame['dialog']} in {frame['place']}"  # once per place
                assert where not in seen, frames
                seen.add(where)
            cached = self.engine._cache.get((COMMUNITY, key))
            if cached is not None:
                conversation, profile, written = cached
                stored = store.load_conversation(COMMUNITY, key)
                if conversation.frames:
                    assert conversation_to_dict(conversation) == stored
                else:
                    assert stored is None
                # Profiles are written only when they change: the cache must agree.
                assert profile_to_dict(profile) == store.load_profile(COMMUNITY, key) == written


EngineMachine.TestCase.settings = settings(
    max_examples=250,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
test_engine_properties = EngineMachine.TestCase
