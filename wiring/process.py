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

from core.baton import Baton
from core.config import Config
from core.logs import configure_logging
from core.redact import register_secrets
from core.queue import make_huey
from core.shutdown import shutting_down
from jobs.orchestrator import JobOrchestrator
from jobs.queue import JobQueue
from jobs.reconciler import Reconciler
from jobs.workers import WorkerPresence
from models.db import database, keep_connections
from notify.notices import JobNotices
from notify.sender import AppriseSender, BackgroundDelivery
from wiring.services import Services, build_services, prepare


class Worker(Protocol):
    """What the Huey tasks take from their process: its configuration, a connection, an orchestrator, a reconciler."""

    config: Config
    baton: Baton  # the worker threads' turns around each task (core/baton.py)

    def connected(self) -> AbstractContextManager[Any]:
        """The process's services with a database connection held for the block."""

    def orchestrator(self) -> JobOrchestrator:
        """An orchestrator for this worker process."""

    def reconciler(self) -> Reconciler:
        """The reconciler with this process's settings."""

    def presence(self) -> WorkerPresence:
        """This worker process's liveness row."""

    def notices(self) -> Optional[JobNotices]:
        """What announces finished jobs through NOTIFY_URLS, or None when none are set."""

    def stop_notices(self) -> None:
        """Send the notifications already queued, for a few seconds at most (graceful shutdown)."""


class Process:
    """A process's services, built once on first use, and the orchestrator and reconciler over them."""

    def __init__(self, config: Config, queue: Optional[JobQueue] = None) -> None:
        self.config = config
        self.baton = Baton()  # the worker threads' turns (core/baton.py); a step's work lends it out
        self.queue = queue  # set before the first services() call (by tasks.py: the queue needs the tasks, the tasks this)
        self._lock = threading.Lock()
        self._services: Optional[Services] = None
        self._presence: Optional[WorkerPresence] = None
        self._delivery: Optional[BackgroundDelivery] = None

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
                               shutting_down=shutting_down, on_thread_exit=database.close,
                               step_work=self.baton.lent)

    def presence(self) -> WorkerPresence:
        """This worker process's liveness row (one per process; huey calls the startup hook per worker thread)."""
        with self._lock:
            if self._presence is None or self._presence.pid != os.getpid():
                self._presence = WorkerPresence(
                    self.config.host_name, os.getpid(), interval=self.config.heartbeat_interval_seconds,
                    on_thread_exit=lambda: None if keep_connections() else database.close())
            return self._presence

    def notices(self) -> Optional[JobNotices]:
        """What announces finished jobs through NOTIFY_URLS (delivered from one background thread), or None."""
        if not self.config.notify_urls:
            return None
        with self._lock:
            if self._delivery is None:
                self._delivery = BackgroundDelivery(AppriseSender(self.config.notify_urls))
        return JobNotices(self.services().registry, self._delivery.submit, notify_on=self.config.notify_on,
                          public_url=self.config.public_url)

    def stop_notices(self) -> None:
        """Send the notifications already queued, for 5 seconds at most."""
        if self._delivery is not None:
            self._delivery.drain(timeout=5)

    def reconciler(self) -> Reconciler:
        """The reconciler with this process's settings."""
        return Reconciler(self.services().jobs, heartbeat_timeout_seconds=self.config.heartbeat_timeout_seconds,
                          queued_grace_seconds=self.config.queued_grace_seconds)


def warm_up(config: Config) -> None:
    """In the worker's startup hook: import actualpy and log in to the configured Actual server (see
    budget.actual.session.warm_up), and import scikit-learn, which the suggestion engine imports on first use
    (the CLI and the web never train), so the first job pays neither (together 1-3 s)."""
    from budget.actual.session import warm_up as warm_up_actual

    warm_up_actual(config.actual_server_url, config.actual_password)
    import sklearn.feature_extraction.text  # noqa: F401
    import sklearn.preprocessing  # noqa: F401
    import sklearn.svm  # noqa: F401


def worker_logging(config: Config) -> None:
    """In huey_consumer, before its consumer starts: every line (huey's too) through core.logs, once."""
    register_secrets(config.secrets())
    configure_logging(config.log_level, config.log_format)


config = Config.from_env()
process = Process(config)
huey = make_huey(config.queue_url, config.queue_name, before_consumer=lambda: worker_logging(config),
                 baton=process.baton)
