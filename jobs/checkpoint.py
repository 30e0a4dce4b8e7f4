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
                 monotonic: Callable[[], float] = time.monotonic, polled_at: float = float("-inf"),
                 canceled: bool = False) -> None:
        """`polled_at` and `canceled`: when and what the caller last read (a claim reads the job), so the
        first checkpoint of a job does not read it again."""
        self._cancel_requested = cancel_requested
        self._deadline = deadline
        self._timeout_minutes = timeout_minutes
        self._shutting_down = shutting_down
        self._poll_seconds = poll_seconds
        self._monotonic = monotonic
        self._last_poll = polled_at
        self.cancel_flag = threading.Event()
        if canceled:
            self.cancel_flag.set()

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
    """Refreshes a running job's heartbeat and budget lock every few seconds, from one shared thread.

    All heartbeats of a process are beaten by one daemon thread (started with the first job): a thread per
    job cost a fifth of a no-op job's time in the benchmark, starting and joining it waits for the GIL.
    `on_exit` runs in that thread after each round of beats (it closes the thread's database connection).
    """

    def __init__(self, beat: Callable[[], bool], interval: float, on_cancel: threading.Event,
                 on_exit: Optional[Callable[[], None]] = None) -> None:
        self._beat = beat
        self.interval = interval
        self._on_cancel = on_cancel
        self.on_exit = on_exit
        self._beating = threading.Lock()
        self._active = False

    def __enter__(self) -> "Heartbeat":
        self._active = True
        _beater.add(self, time.monotonic() + self.interval)
        return self

    def __exit__(self, *exc: object) -> None:
        _beater.remove(self)
        with self._beating:  # a beat in flight ends before the job moves on; none starts after
            self._active = False

    def beat_once(self) -> None:
        """One beat (called by the shared thread)."""
        with self._beating:
            if not self._active:
                return
            try:
                if self._beat():
                    self._on_cancel.set()
            except Exception:  # a missed beat is retried at the next interval
                import logging

                logging.getLogger(__name__).warning("heartbeat failed", exc_info=True)


class _Beater:
    """The one thread per process that beats every registered Heartbeat when it is due."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._due: dict[Heartbeat, float] = {}
        self._thread: Optional[threading.Thread] = None
        self._wakes_at = float("inf")  # when the thread wakes next by itself

    def add(self, heartbeat: Heartbeat, due: float) -> None:
        with self._lock:
            self._due[heartbeat] = due
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="job-heartbeat", daemon=True)
                self._thread.start()
            if due < self._wakes_at:  # wake it only when it would sleep past this beat: each wake costs
                self._changed.notify()  # the job thread a GIL hand-over (a sixth of a no-op job's time)

    def remove(self, heartbeat: Heartbeat) -> None:
        with self._lock:
            self._due.pop(heartbeat, None)

    def _next_due(self) -> list[Heartbeat]:
        with self._lock:
            while True:
                now = time.monotonic()
                due = [h for h, at in self._due.items() if at <= now]
                if due:
                    for h in due:
                        self._due[h] = now + h.interval
                    self._wakes_at = float("-inf")  # beating: a heartbeat added meanwhile notifies
                    return due
                self._wakes_at = min(self._due.values()) if self._due else float("inf")
                self._changed.wait(self._wakes_at - now if self._due else None)

    def _run(self) -> None:
        while True:
            due = self._next_due()
            for heartbeat in due:
                heartbeat.beat_once()
            for on_exit in {h.on_exit for h in due if h.on_exit}:
                try:
                    on_exit()
                except Exception:
                    import logging

                    logging.getLogger(__name__).warning("heartbeat on_exit failed", exc_info=True)


_beater = _Beater()
