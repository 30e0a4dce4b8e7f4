"""A writer's turn shared by every process on one SQLite file, taken without SQLite's sleeping busy handler.

SQLite tells a process that finds the write lock taken to sleep and try again 1, 2, 5, 10 ms and more later.
With two web processes creating jobs (each a write to app.db and one to queue.db), those sleeps left a core
idle: 903-926 req/s at 1.03 cores busy with one request thread per process. Each writer first takes this
`flock`; a waiter tries again after 50 µs, doubling to 1 ms, so it takes its turn about when the holder's
ends: 1,219-1,362 req/s at 1.53-1.59 cores busy.

The lock is advisory and held only around one write transaction. A process that dies holding it loses it
with its file descriptor, and a waiter gives up after `timeout` seconds, as SQLite's busy timeout would.
Where the file system refuses `flock`, writers go on with SQLite's lock alone.
"""
from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from typing import IO, Iterator, Optional

log = logging.getLogger(__name__)

SUFFIX = ".writer-lock"
FIRST_WAIT_S = 0.00005
LONGEST_WAIT_S = 0.001


class WriterFileLock:
    """An exclusive `flock` on `<database file>.writer-lock`, opened once per process (never shared by a fork).

    The caller serializes its own threads first: every thread of a process shares the one descriptor.
    """

    def __init__(self, database_path: str, timeout: float = 10.0) -> None:
        self.path = database_path + SUFFIX
        self.timeout = timeout
        self._file: Optional[IO[bytes]] = None
        self._pid = 0
        self._guard = threading.Lock()
        self.usable = True

    def _descriptor(self) -> Optional[int]:
        pid = os.getpid()
        if self._pid != pid:  # a forked child opens its own: a shared open file would share the lock
            with self._guard:
                if self._pid != pid:
                    try:
                        self._file = open(self.path, "ab")  # noqa: SIM115 - kept open for the process's life
                    except OSError as exc:
                        self._give_up(exc)
                        return None
                    self._pid = pid
        return self._file.fileno()

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the block; sqlite3.OperationalError("database is locked") after `timeout` seconds."""
        fd = self._descriptor() if self.usable else None
        if fd is None or not self._acquire(fd):
            yield
            return
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _acquire(self, fd: int) -> bool:
        """Take the lock (True), or find that this file system has none to give (False)."""
        wait = FIRST_WAIT_S
        deadline = None
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                pass
            except OSError as exc:
                self._give_up(exc)
                return False
            now = time.monotonic()
            if deadline is None:
                deadline = now + self.timeout
            elif now >= deadline:
                raise sqlite3.OperationalError("database is locked")
            time.sleep(wait)
            wait = min(wait * 2, LONGEST_WAIT_S)

    def _give_up(self, exc: OSError) -> None:
        if self.usable:
            self.usable = False
            log.warning("no writer lock file %s (%s): writers wait in SQLite's busy handler instead",
                        self.path, exc.strerror or exc)


def writer_lock_for(database_path: Optional[str], timeout: float = 10.0) -> Optional[WriterFileLock]:
    """The writer lock of an SQLite file, or None for an in-memory database."""
    if not database_path or database_path == ":memory:" or database_path.startswith("file::memory:"):
        return None
    return WriterFileLock(database_path, timeout)
