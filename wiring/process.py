"""This process's configuration, Huey instance and services, for the web, the worker and scripts alike.

The configuration is read once here; the services are built (and the database prepared) on first
use. `tasks.py` declares the Huey tasks on `huey` and sets `process.queue` (`huey_consumer tasks.huey`
runs the worker; `api.app:get_app()` imports `tasks` to enqueue).
"""
from __future__ import annotations

import os
import threading
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Iterator, Optional, Protocol

from core.config import Config
from core.queue import make_huey
from core.shutdown import shutting_down
from jobs.orchestrator import JobOrchestrator
from jobs.queue import JobQueue
from jobs.reconciler import Reconciler
from models.db import database, keep_connections
from wiring.services import Services, build_services, prepare


class Worker(Protocol):
    """What the Huey tasks take from their process: its configuration, a connection, an orchestrator, a reconciler."""

    config: Config

    def connected(self) -> AbstractContextManager[Any]:
        """The process's services with a database connection held for the block."""

    def orchestrator(self) -> JobOrchestrator:
        """An orchestrator for this worker process."""

    def reconciler(self) -> Reconciler:
        """The reconciler with this process's settings."""


class Process:
    """A process's services, built once on first use, and the orchestrator and reconciler over them."""

    def __init__(self, config: Config, queue: Optional[JobQueue] = None) -> None:
        self.config = config
        self.queue = queue  # set before the first services() call (by tasks.py: the queue needs the tasks, the tasks this)
        self._lock = threading.Lock()
        self._services: Optional[Services] = None

    def services(self) -> Services:
        """The services, built (and the database prepared) on first use."""
        with self._lock:
            if self._services is None:
                if self.queue is None:
                    raise RuntimeError("Process.services() before its queue was set")
                prepare(self.config)
                self._services = build_services(self.config, self.queue)
            return self._services

    @contextmanager
    def connected(self) -> Iterator[Services]:
        """The services with a database connection held for the block.

        On SQLite the thread's connection stays open for its next task (models.db.keep_connections).
        """
        s = self.services()
        if keep_connections():
            database.connect(reuse_if_open=True)
            yield s
            return
        with database.connection_context():
            yield s

    def orchestrator(self) -> JobOrchestrator:
        """An orchestrator for this worker process."""
        s = self.services()
        return JobOrchestrator(s.jobs, s.runners, worker=f"{self.config.host_name}:{os.getpid()}",
                               heartbeat_seconds=self.config.heartbeat_interval_seconds,
                               shutting_down=shutting_down, on_thread_exit=database.close)

    def reconciler(self) -> Reconciler:
        """The reconciler with this process's settings."""
        return Reconciler(self.services().jobs, heartbeat_timeout_seconds=self.config.heartbeat_timeout_seconds,
                          queued_grace_seconds=self.config.queued_grace_seconds)


config = Config.from_env()
huey = make_huey(config.queue_url, config.queue_name)
process = Process(config)
