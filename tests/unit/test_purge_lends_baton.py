"""The daily retention purge, minutes long on a large history, lets the other worker threads run jobs meanwhile."""
from __future__ import annotations

from contextlib import contextmanager

from huey import MemoryHuey

import periodic.schedule
from core.baton import Baton


class OneThreadWorker:
    """The parts of the worker process the periodic tasks use, over the test's services."""

    def __init__(self, config, services):
        self.config, self.services, self.baton = config, services, Baton()

    @contextmanager
    def connected(self):
        yield self.services


def test_the_purge_runs_with_the_baton_lent_and_the_task_gets_it_back(config, services, monkeypatch):
    worker = OneThreadWorker(config, services)
    held_during_purge = []
    monkeypatch.setattr(periodic.schedule, "purge_old_jobs",
                        lambda days: held_during_purge.append(worker.baton.held()) or 0)
    huey = MemoryHuey("purge-test", immediate=True)
    tasks = periodic.schedule.register(huey, worker, reconcile=None, notify_finished=None)
    worker.baton.take(1)  # as the worker thread that dequeued the task
    assert tasks.purge_expired_jobs.call_local() == 0
    assert held_during_purge == [False] and worker.baton.held()
