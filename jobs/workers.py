"""Worker liveness: each worker process keeps a row fresh; anyone can ask which workers are alive."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

from core.clock import Clock, utcnow
from models.db import write_transaction
from models.jobs import Job
from models.ops import Worker

log = logging.getLogger(__name__)

FORGET_AFTER = dt.timedelta(days=1)  # a worker not seen for a day is dropped from the list


class WorkerPresence:
    """This process's worker row: written when it starts, every `interval` seconds after, deleted when it stops."""

    def __init__(self, host: str, pid: int, *, interval: float, clock: Clock = utcnow,
                 on_thread_exit: Optional[Callable[[], None]] = None) -> None:
        self.host = host
        self.pid = pid
        self.id = f"{host}:{pid}"
        self.interval = interval
        self.clock = clock
        self.on_thread_exit = on_thread_exit
        self.started_at = clock()
        self._running: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> bool:
        """Write the row now and keep it fresh from a daemon thread; True for the first call in the process."""
        with self._lock:
            if self._thread is not None:
                return False
            self._thread = threading.Thread(target=self._run, name="worker-presence", daemon=True)
        self.beat()
        self._thread.start()
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except Exception:  # a missed beat is retried at the next interval
                log.warning("worker heartbeat failed", exc_info=True)
            finally:
                if self.on_thread_exit is not None:
                    self.on_thread_exit()

    @contextmanager
    def running(self, job_id: str) -> Iterator[None]:
        """Mark `job_id` as running in this process for the block."""
        with self._lock:
            self._running.append(job_id)
        try:
            yield
        finally:
            with self._lock:
                self._running.remove(job_id)

    def beat(self) -> None:
        """Insert or refresh this process's row."""
        with self._lock:
            running = list(self._running)
        now = self.clock()
        fields = {"last_seen_at": now, "running_job_id": running[-1] if running else None,
                  "running_jobs": len(running)}
        with write_transaction():
            updated = Worker.update(**fields).where(Worker.id == self.id).execute()
            if not updated:
                Worker.insert(id=self.id, host=self.host, pid=self.pid, started_at=self.started_at,
                              **fields).on_conflict_ignore().execute()

    def stop(self) -> None:
        """Stop beating and delete the row (a graceful shutdown)."""
        self._stop.set()
        with write_transaction():
            Worker.delete().where(Worker.id == self.id).execute()


class WorkerDirectory:
    """Reads the worker rows: the list, and how many count as alive."""

    def __init__(self, timeout_seconds: float, clock: Clock = utcnow) -> None:
        self.timeout = dt.timedelta(seconds=timeout_seconds)
        self.clock = clock

    def list(self) -> list[dict]:
        """Every worker seen in the last day, newest first, with whether it is alive."""
        now = self.clock()
        rows = (Worker.select().where(Worker.last_seen_at >= now - FORGET_AFTER)
                .order_by(Worker.last_seen_at.desc()).dicts())
        return [{**row, "alive": row["last_seen_at"] >= now - self.timeout} for row in rows]

    def alive_count(self) -> int:
        """Workers seen within HEARTBEAT_TIMEOUT_SECONDS."""
        return Worker.select().where(Worker.last_seen_at >= self.clock() - self.timeout).count()

    def health(self) -> dict:
        """`ok`, or `degraded` while jobs are queued and no worker is alive; with the counts behind it."""
        alive = self.alive_count()
        queued = Job.select().where(Job.status == "queued").count()
        status = "degraded" if queued and not alive else "ok"
        result = {"status": status, "workers": alive, "queuedJobs": queued}
        if status == "degraded":
            result["message"] = "No worker is running: jobs will wait."
        return result

    def forget_old(self) -> int:
        """Delete rows of workers not seen for a day (killed without a graceful stop)."""
        with write_transaction():
            return Worker.delete().where(Worker.last_seen_at < self.clock() - FORGET_AFTER).execute()
