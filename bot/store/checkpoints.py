"""Write-ahead log checkpoints off the member's path.

SQLite's own checkpoint runs inside the commit that crosses its threshold: that commit
copies a thousand pages into the database file and waits for its fsync (milliseconds,
every hundred events or so). Here the engine's connection never checkpoints; a thread
with a connection of its own does, a ``PASSIVE`` checkpoint every ``EVERY`` commits,
which neither waits for nor blocks the engine's writes.

A passive checkpoint that a busy writer keeps ahead of never lets the log start over
from its beginning, so once the log holds more than ``RESTART_AT`` frames the thread
asks for a ``RESTART`` checkpoint: that one holds the writers back while it copies the
few frames the passive one left (and syncs), so the log is bounded (and its file is cut
back to ``LOG_BYTES`` when it starts over).
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

EVERY = 64  # events committed between checkpoints: about the 1,000 pages SQLite's own waits for
# Frames (12 MB of 4 KB pages) before a log that never started over does: below the
# 4,062 that the first 32 KB block of the log's index (the -shm file) covers.
RESTART_AT = 3000
# The log file is cut back to this size when it starts over (it keeps its size otherwise).
LOG_BYTES = RESTART_AT * (4096 + 24)


class Checkpointer:
    """Checkpoints one database file's log from a thread of its own, started by the
    first commit. Holding ``lock`` keeps its checkpoints out of the way of one's own."""

    def __init__(self, path: str, synchronous: str) -> None:
        self.path = path
        self.synchronous = synchronous
        self.lock = threading.Lock()  # held while a checkpoint runs
        self._wanted = threading.Event()
        self._stopping = False
        self._commits = 0
        self._thread: threading.Thread | None = None

    def committed(self, events: int = 1) -> None:
        """One more commit, of ``events`` events (strict mode commits many at once):
        every ``EVERY`` events, the thread checkpoints."""
        self._commits += events
        if self._commits < EVERY:
            return
        self._commits = 0
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="sqlite-checkpoints", daemon=True
            )
            self._thread.start()
        self._wanted.set()

    def stop(self) -> None:
        """The thread ends (after a checkpoint under way); before the database closes."""
        thread = self._thread
        if thread is None:
            return
        self._stopping = True
        self._wanted.set()
        thread.join()
        self._thread = None

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            while True:
                self._wanted.wait()
                self._wanted.clear()
                if self._stopping:
                    return
                with self.lock:
                    self._checkpoint(conn)
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if frames >= RESTART_AT:
                conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        except sqlite3.Error as exc:
            # Not lost: the next checkpoint copies what this one did not.
            log.warning("checkpoint failed: %s", exc)
