"""What ``concord run`` and ``concord chat`` set up for operators before the first
event: the log (level and format from the flags, else the config) and, when a port is
given, the Prometheus endpoint."""

from __future__ import annotations

import argparse
import logging

from adapters.logs import configure_logging
from bot.config.community import Config
from bot.core.errors import ConcordError
from bot.engine.observe import Observer

log = logging.getLogger("concord")


class Operations:
    def __init__(self, args: argparse.Namespace, default_level: str) -> None:
        self.level: str | None = getattr(args, "log_level", None)
        self.format: str | None = getattr(args, "log_format", None)
        self.metrics_port: int | None = getattr(args, "metrics_port", None)
        self.default_level = default_level
        self._metrics: object | None = None

    def start(self, config: Config) -> Observer | None:
        """Configure the log; serve metrics if asked. The observer for the engine."""
        level = self.level or config.log_level or self.default_level
        configure_logging(level, self.format or config.log_format)
        port = self.metrics_port if self.metrics_port is not None else config.metrics_port
        if port is None:
            return None
        if not 0 <= port <= 65535:
            raise ConcordError(f"--metrics-port {port}: expected a port from 1 to 65535")
        try:
            from adapters.metrics import PrometheusObserver
        except ModuleNotFoundError as exc:
            raise ConcordError(
                "metrics need their extra: pip install 'concord-bot[metrics]'"
            ) from exc
        observer = PrometheusObserver()
        try:
            bound = observer.serve(port, config.metrics_host)
        except OSError as exc:
            where = f"{config.metrics_host}:{port}"
            raise ConcordError(f"cannot serve metrics on {where}: {exc.strerror}") from exc
        log.info(
            "metrics on http://%s:%d/metrics",
            config.metrics_host,
            bound,
            extra={"concord": {"port": bound}},
        )
        self._metrics = observer
        return observer

    def stop(self) -> None:
        observer = self._metrics
        if observer is not None:
            from adapters.metrics import PrometheusObserver

            assert isinstance(observer, PrometheusObserver)
            observer.close()
            self._metrics = None
