"""Write-ahead log checkpoints off the member's path.

SQLite's own checkpoint runs inside the commit that crosses its threshold: that commit
copies a thousand pages into the database file and waits for its fsync (milliseconds,
every hundred events or so). Here the engine's connection never checkpoints; a thread
with a connection of its own does, a ``PASSIVE`` checkpoint every ``EVERY`` commits,
which neither waits for nor blocks the engine's writes.

A passive checkpoint that a busy writer keeps ahead of never lets the log start over
from its beginning: SQLite starts it over only when a write transaction begins with
every frame copied. So once the log holds more than ``RESTART_AT`` frames, the thread
copies the last frames while the store writes nothing: the store passes a
``WriteGate`` around each write transaction of its own, and the thread closes it for
that one short passive checkpoint; the store's next transaction then starts the log
over (and its file is cut back to ``LOG_BYTES``). A ``RESTART`` checkpoint does the
same and is kept for when this fails (the gate not closed in time, a write that does
not pass it), but it waits for the writer in SQLite's busy handler, which sleeps a
millisecond or more at each try, and holds the writer back meanwhile: a member's turn
waited 4 to 40 ms now and then.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from types import TracebackType

from bot.store.group_sync import fsync_path

log = logging.getLogger(__name__)

EVERY = 64  # events committed between checkpoints: about the 1,000 pages SQLite's own waits for
# Frames (12 MB of 4 KB pages) before a log that never started over does: below the
# 4,062 that the first 32 KB block of the log's index (the -shm file) covers.
RESTART_AT = 3000
# The log file is cut back to this size when it starts over (it keeps its size otherwise).
LOG_BYTES = RESTART_AT * (4096 + 24)
# How long the thread waits for the store's transaction under way to end: a turn's is
# well under a millisecond, strict mode's batch lasts a pass of the event loop (tens of
# ms with a hundred events in flight). Only the thread waits: the store is held back
# once that transaction ends, for as long as the copy takes.
CATCH_UP_WAIT = 0.1


class WriteGate:
    """Held by the store around each write transaction of its own; the checkpoint
    thread closes it for the short while it copies the log's last frames. Whoever
    closes it first passes a turnstile, so a store writing without pause cannot keep
    the thread out (a plain lock would be taken again by the writer at once)."""

    def __init__(self) -> None:
        self._turnstile = threading.Lock()
        self._writing = threading.Lock()

    def __enter__(self) -> None:
        self.enter()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.leave()

    def enter(self) -> None:
        with self._turnstile:  # (waits while the thread has the gate closed)
            self._writing.acquire()

    def leave(self) -> None:
        self._writing.release()

    def close(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for the transaction under way to end, and keep any
        other from beginning: True if closed (``reopen`` then)."""
        if not self._turnstile.acquire(timeout=timeout):
            return False
        if self._writing.acquire(timeout=timeout):
            return True
        self._turnstile.release()
        return False

    def reopen(self) -> None:
        self._writing.release()
        self._turnstile.release()


class Checkpointer:
    """Checkpoints one database file's log from a thread of its own, started by the
    first commit. Holding ``lock`` keeps its checkpoints out of the way of one's own."""

    def __init__(self, path: str, synchronous: str, gate: WriteGate) -> None:
        self.path = path
        self.synchronous = synchronous
        self.gate = gate
        self.lock = threading.Lock()  # held while a checkpoint runs
        self._wanted = threading.Event()
        self._stopping = False
        self._commits = 0
        self._events = 0  # committed so far
        # The log's header, and the events committed, when a copy behind the gate last
        # took the whole log (it starts over, with a new header, at the next commit).
        self._copied_whole: tuple[bytes, int] | None = None
        self._thread: threading.Thread | None = None

    def committed(self, events: int = 1) -> None:
        """One more commit, of ``events`` events (strict mode commits many at once):
        every ``EVERY`` events, the thread checkpoints."""
        self._events += events
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
            copied, self._copied_whole = self._copied_whole, None
            if frames < RESTART_AT:
                return
            if copied is not None and self._events == copied[1]:
                self._copied_whole = copied  # no commit since: the next starts it over
            elif copied is not None and copied[0] == self._log_header():
                # The last copy behind the gate took the whole log, and a commit came
                # since, yet the log did not start over (a write that does not pass the
                # gate began before the copy): SQLite's way, so it stays bounded.
                self.restart(conn)
            elif (header := self._catch_up(conn)) is not None:
                self._copied_whole = (header, self._events)
            else:
                self.restart(conn)
        except sqlite3.Error as exc:
            # Not lost: the next checkpoint copies what this one did not.
            log.warning("checkpoint failed: %s", exc)

    def _catch_up(self, conn: sqlite3.Connection) -> bytes | None:
        """Copy what was written since the last checkpoint while the store writes
        nothing. When every frame is copied (the log starts over at the store's next
        transaction), the log's header as it was (read before the store may write);
        else None."""
        # The log's unsynced pages go to the disk first, while the store goes on
        # writing: the copy behind the closed gate then syncs only its last few. (Not
        # the database file: a descriptor of it opened and closed here would drop the
        # locks SQLite holds on it, POSIX locks being per process; the log has none.)
        with contextlib.suppress(OSError):  # (then the copy syncs it all)
            fsync_path(self.path + "-wal")
        if not self.gate.close(CATCH_UP_WAIT):
            return None
        try:
            _, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            header = self._log_header() if copied == frames else None
        finally:
            self.gate.reopen()
        return header

    def _log_header(self) -> bytes | None:
        """What of the log file's header changes each time the log starts over (its
        checkpoint sequence number and salts, bytes 12 to 24 in SQLite's file format);
        None when it cannot be read."""
        try:
            with open(self.path + "-wal", "rb") as log_file:
                header = log_file.read(24)
        except OSError:
            return None
        return header[12:24] if len(header) == 24 else None

    def restart(self, conn: sqlite3.Connection) -> None:
        """SQLite's own way to start the log over (it holds the writer back)."""
        conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
