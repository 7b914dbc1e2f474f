"""Operators' metrics: a Prometheus endpoint on loopback, scraped over HTTP, that counts
events, latency, retries, undeliverable actions and the backlog per platform, and never
labels anything with a member."""

from __future__ import annotations

import argparse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.console.session import AdvancingClock, ConsoleSession
from adapters.metrics import PrometheusObserver
from adapters.operations import Operations
from bot.config.community import Config, load_config
from bot.core.actions import Action
from bot.core.clock import ManualClock
from bot.core.errors import DeliveryError, Undeliverable
from bot.engine.engine import Engine
from tests.conftest import RecordingAdapter, command, joined, new_engine, says

MEMBERS = ("zofiaqx", "bartekvw")


@pytest.fixture
def observer() -> Iterator[tuple[PrometheusObserver, int]]:
    served = PrometheusObserver()
    port = served.serve(0)  # a free loopback port
    yield served, port
    served.close()


def scrape(port: int) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        body = response.read().decode("utf-8")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }
    return body, samples


def concord_labels(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> set[str]:
    return {
        f"{key}={value}"
        for (name, labels), _ in samples.items()
        if name.startswith("concord_")
        for key, value in labels
        if key != "le"
    }


async def test_a_console_session_is_counted_and_scraped_over_http(
    tmp_path: Path, observer: tuple[PrometheusObserver, int]
) -> None:
    served, port = observer
    session = ConsoleSession(
        load_config(None),
        tmp_path / "c.db",
        AdvancingClock(ManualClock(), fixed=True),
        observer=served,
    )
    lines = [
        f"{MEMBERS[0]} joins",
        f"{MEMBERS[0]}> 1",
        f"{MEMBERS[1]} joins",
        f"{MEMBERS[1]}> /help",
    ]
    try:
        await session.open()
        _, before = scrape(port)
        for line in lines:
            await session.feed(line)
    finally:
        session.close()
    body, after = scrape(port)
    console = (("platform", "console"),)
    assert before.get(("concord_events_handled_total", console), 0) == 0
    assert after[("concord_events_handled_total", console)] == len(lines)
    assert after[("concord_turn_seconds_count", console)] == len(lines)
    assert after[("concord_turn_seconds_sum", console)] > 0
    assert concord_labels(after) == {"platform=console"}
    for name in MEMBERS:
        assert name not in body


def observed(
    config: Config,
    tmp_path: Path,
    observer: tuple[PrometheusObserver, int],
    adapter: RecordingAdapter,
) -> tuple[Engine, int]:
    """An engine on ``adapter`` reporting to the served observer; and its port."""
    engine = new_engine(config, tmp_path / "c.db", ManualClock(), adapter)
    engine.observe(observer[0])
    return engine, observer[1]


class FlakyAdapter(RecordingAdapter):
    """Fails the first delivery (worth a retry), then refuses one action for good."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def deliver(self, action: Action, idempotency_key: str) -> None:
        self.calls += 1
        if self.calls == 1:
            raise DeliveryError("test: the platform is down for a moment")
        if self.calls == 2:
            raise Undeliverable("test: blocked by test:ana")
        await super().deliver(action, idempotency_key)


async def test_retries_undeliverable_actions_and_the_backlog(
    config: Config, tmp_path: Path, observer: tuple[PrometheusObserver, int]
) -> None:
    engine, port = observed(config, tmp_path, observer, FlakyAdapter())
    try:
        await engine.handle(joined("ana"))  # the welcome fails: it waits in the outbox
        _, waiting = scrape(port)
        await engine.outbox.flush()  # one set aside, the rest delivered
        await engine.handle(says("ana", "hello"))
        await engine.handle(command("ana", "/help"))
    finally:
        engine.services.store.close()
    _, after = scrape(port)
    test = (("platform", "test"),)
    assert waiting[("concord_outbox_backlog", test)] >= 1
    assert waiting[("concord_delivery_retries_total", test)] == 1
    assert after[("concord_outbox_backlog", test)] == 0
    assert after[("concord_undeliverable_actions_total", test)] == 1
    assert after[("concord_events_handled_total", test)] == 3
    assert concord_labels(after) == {"platform=test"}


def test_off_by_default_and_on_loopback_when_asked(config: Config) -> None:
    assert config.metrics_port is None
    none = argparse.Namespace(log_level=None, log_format=None, metrics_port=None)
    assert Operations(none, "warning").start(config) is None
    asked = Operations(argparse.Namespace(log_level=None, log_format=None, metrics_port=0), "info")
    observer = asked.start(config)
    try:
        assert isinstance(observer, PrometheusObserver)
        server = observer._server
        assert server is not None and server.server_address[0] == "127.0.0.1"
        _, samples = scrape(server.server_port)
        assert ("concord_events_handled_total", (("platform", "console"),)) not in samples
    finally:
        asked.stop()


async def test_rate_limit_waits_reported_through_the_host_are_counted(
    config: Config, tmp_path: Path, observer: tuple[PrometheusObserver, int]
) -> None:
    from bot.engine.host import AdapterHost

    engine, port = observed(config, tmp_path, observer, RecordingAdapter())
    try:
        host = AdapterHost(engine)
        host.rate_limit_waited("telegram", 1.5)
        host.rate_limit_waited("telegram", 0.5)
    finally:
        engine.services.store.close()
    _, samples = scrape(port)
    telegram = (("platform", "telegram"),)
    assert samples[("concord_rate_limit_waits_total", telegram)] == 2
    assert samples[("concord_rate_limit_wait_seconds_total", telegram)] == 2.0
