"""The one thing jobs/ needs from the task queue: put a job's task on it, now or later."""
from __future__ import annotations

from typing import Protocol


class JobQueue(Protocol):
    """Enqueues the task that runs a job (tasks.py implements it with Huey)."""

    def enqueue(self, job_id: str, delay_seconds: float = 0.0) -> None:
        """Run `job_id` as soon as a worker is free, or after `delay_seconds`."""

    def held_job_ids(self) -> set[str]:
        """Job ids whose task the queue holds (queued or scheduled)."""


class RecordingQueue:
    """A JobQueue that only remembers what was enqueued (unit tests, the web process in tests)."""

    def __init__(self) -> None:
        self.enqueued: list[tuple[str, float]] = []

    def enqueue(self, job_id: str, delay_seconds: float = 0.0) -> None:
        self.enqueued.append((job_id, delay_seconds))

    def held_job_ids(self) -> set[str]:
        return {job_id for job_id, _ in self.enqueued}
