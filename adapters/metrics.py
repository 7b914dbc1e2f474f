"""Operators' metrics: a Prometheus endpoint (the ``metrics`` extra), off by default.

Implements the engine's ``Observer`` (bot/engine/observe.py) with prometheus-client
in a registry of its own, served on loopback unless the config says otherwise. Every
metric is labelled by platform only: never by member, place or message.
"""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

# Turn latency buckets, in seconds: a turn is usually milliseconds; a slow disk or a
# platform's rate limit shows in the upper ones.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class PrometheusObserver:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["platform"]
        registry = self.registry
        self.events = Counter(
            "concord_events_handled",
            "Events handled (duplicates excluded)",
            labels,
            registry=registry,
        )
        self.duplicates = Counter(
            "concord_events_duplicate",
            "Events delivered again and ignored",
            labels,
            registry=registry,
        )
        self.failures = Counter(
            "concord_events_failed", "Events whose turn failed", labels, registry=registry
        )
        self.latency = Histogram(
            "concord_turn_seconds",
            "Time from an event taken in to its replies handed to the platform",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.backlog = Gauge(
            "concord_outbox_backlog",
            "Actions committed and not yet delivered",
            labels,
            registry=registry,
        )
        self.retries = Counter(
            "concord_delivery_retries",
            "Deliveries that failed and will be retried",
            labels,
            registry=registry,
        )
        self.dead = Counter(
            "concord_undeliverable_actions",
            "Actions set aside as undeliverable",
            labels,
            registry=registry,
        )
        self.waits = Counter(
            "concord_rate_limit_waits",
            "Times sending waited under a rate limit",
            labels,
            registry=registry,
        )
        self.waited = Counter(
            "concord_rate_limit_wait_seconds",
            "Seconds spent waiting under rate limits",
            labels,
            registry=registry,
        )
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def event_handled(self, platform: str, kind: str, outcome: str, seconds: float) -> None:
        counter = {"handled": self.events, "duplicate": self.duplicates}.get(outcome)
        (counter or self.failures).labels(platform).inc()
        self.latency.labels(platform).observe(seconds)

    def outbox_backlog(self, platform: str, waiting: int) -> None:
        self.backlog.labels(platform).set(waiting)

    def delivery_retried(self, platform: str) -> None:
        self.retries.labels(platform).inc()

    def undeliverable(self, platform: str) -> None:
        self.dead.labels(platform).inc()

    def rate_limit_waited(self, platform: str, seconds: float) -> None:
        self.waits.labels(platform).inc()
        self.waited.labels(platform).inc(seconds)

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` on ``host:port`` (port 0: any free one); the port."""
        self._server, self._thread = start_http_server(port, host, registry=self.registry)
        return int(self._server.server_port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
