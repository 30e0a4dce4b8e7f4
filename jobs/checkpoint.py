"""Checkpoints: where a running job notices a cancel request, its time limit or a worker shutdown."""
from __future__ import annotations

import threading
import time
from typing import Callable, Optional


class StopWork(Exception):
    """Raised at a checkpoint to stop a step; subclasses say why."""


class CancelRequested(StopWork):
    """A user asked the job to stop."""


class TimedOut(StopWork):
    """The job ran past its time limit."""

    def __init__(self, minutes: float) -> None:
        super().__init__(f"Timed out after {minutes:g} minutes")
        self.minutes = minutes


class ShuttingDown(StopWork):
    """The worker process is stopping gracefully."""


class Checkpoint:
    """Callable checked between steps and at least every 100 items inside them."""

    def __init__(self, *, cancel_requested: Callable[[], bool], deadline: float, timeout_minutes: float,
                 shutting_down: Callable[[], bool], poll_seconds: float = 0.5,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._cancel_requested = cancel_requested
        self._deadline = deadline
        self._timeout_minutes = timeout_minutes
        self._shutting_down = shutting_down
        self._poll_seconds = poll_seconds
        self._monotonic = monotonic
        self._last_poll = float("-inf")
        self.cancel_flag = threading.Event()

    def __call__(self) -> None:
        now = self._monotonic()
        if not self.cancel_flag.is_set() and now - self._last_poll >= self._poll_seconds:
            self._last_poll = now
            if self._cancel_requested():
                self.cancel_flag.set()
        if self.cancel_flag.is_set():
            raise CancelRequested("Canceled by a user")
        if now >= self._deadline:
            raise TimedOut(self._timeout_minutes)
        if self._shutting_down():
            raise ShuttingDown("The worker is shutting down")


class Heartbeat:
    """A thread that refreshes a running job's heartbeat and budget lock every few seconds."""

    def __init__(self, beat: Callable[[], bool], interval: float, on_cancel: threading.Event,
                 on_exit: Optional[Callable[[], None]] = None) -> None:
        self._beat = beat
        self._interval = interval
        self._on_cancel = on_cancel
        self._on_exit = on_exit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="job-heartbeat", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self._interval):
                try:
                    if self._beat():
                        self._on_cancel.set()
                except Exception:  # a missed beat is retried at the next interval
                    import logging

                    logging.getLogger(__name__).warning("heartbeat failed", exc_info=True)
        finally:
            if self._on_exit:
                self._on_exit()
