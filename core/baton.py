"""The worker's baton: one worker thread at a time runs the short Python around a task; step work runs in parallel.

With two worker threads draining short jobs, each thread gives up the GIL at every SQLite call and takes it
back from the other: a draining worker made 10 context switches per no-op job and spent twice the CPU of a
single thread (0.98 against 0.53 ms a job; 1,050 against 1,650 jobs/s). A thread holds the baton from its
dequeue to the end of the task, so the other waits asleep instead; it lends the baton out while a step's own
work runs (downloads, training, applying: `lent`), which is where two threads pay off.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator


class Baton:
    """A process-wide turn for worker threads, with a record of which thread holds it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()

    def take(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the baton; True when this thread now holds it."""
        if self._lock.acquire(timeout=timeout):
            self._local.held = True
            return True
        return False

    def held(self) -> bool:
        """Whether this thread holds the baton."""
        return getattr(self._local, "held", False)

    def give_back(self) -> None:
        """Release the baton this thread holds (nothing when it holds none)."""
        if self.held():
            self._local.held = False
            self._lock.release()

    @contextmanager
    def lent(self) -> Iterator[None]:
        """Let the other worker threads run while the block runs; this thread holds the baton again after it."""
        if not self.held():
            yield
            return
        self.give_back()
        try:
            yield
        finally:
            self._lock.acquire()
            self._local.held = True
