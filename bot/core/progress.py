"""Progress of long work a person waits on: migrating an existing database, a report
over a large one. Each step is logged as it starts ("2 of 3: ...") and, at the end,
the time it all took, on the process log (standard error, never standard output).
Work with nothing to wait for (a new database, a small report) logs nothing."""

from __future__ import annotations

import logging
import time


class Steps:
    """``doing: k of n: what`` as each step starts, then ``finished in 1.2 s``."""

    def __init__(self, log: logging.Logger, doing: str, total: int, *, shown: bool) -> None:
        self.log, self.doing, self.total, self.shown = log, doing, total, shown
        self.count = 0
        self.started = time.monotonic()

    def step(self, what: str) -> None:
        self.count += 1
        if self.shown:
            self.log.info("%s: %d of %d: %s", self.doing, self.count, self.total, what)

    def done(self, finished: str) -> None:
        if self.shown:
            self.log.info("%s in %.1f s", finished, time.monotonic() - self.started)
