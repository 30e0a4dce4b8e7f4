"""Prometheus metrics derived from the database at scrape time, so every web process and host agrees.

Finished jobs are counted from `job_tally` (totals up to a watermark, kept across the retention purge) plus
the jobs finished since the watermark; a scrape moves the watermark forward when it lags by more than
ROLLUP_EVERY, folding those jobs into the tallies. Jobs that finish are never changed again, so each is
counted once. Queued and running jobs, suggestions, the last sync per budget and the workers are read live.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import peewee as pw
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from core.clock import Clock, utcnow
from jobs.registry import JobRegistry
from jobs.sync_times import last_successful_syncs, sync_types
from jobs.workers import WorkerDirectory
from models.db import write_transaction
from models.domain import Suggestion
from models.jobs import FINISHED_STATUSES, Job, PeriodicRun
from models.ops import JobTally, Worker

log = logging.getLogger(__name__)

PREFIX = "budget_assist"
DURATION_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
WATERMARK = "metrics_rollup"
ROLLUP_LAG = dt.timedelta(minutes=5)  # jobs finished in the last 5 minutes are never folded (late commits)
ROLLUP_EVERY = dt.timedelta(minutes=10)
EPOCH = dt.datetime(1970, 1, 1)


@dataclass
class Tally:
    """Finished jobs of one (type, status): count, retries and the duration histogram."""

    count: int = 0
    retries: int = 0
    duration_count: int = 0
    duration_sum: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * len(DURATION_BUCKETS))

    def add(self, started: dt.datetime | None, completed: dt.datetime | None, attempt: int) -> None:
        """Count one finished job."""
        self.count += 1
        self.retries += max(attempt - 1, 0)
        if started is not None and completed is not None:
            seconds = max((completed - started).total_seconds(), 0.0)
            self.duration_count += 1
            self.duration_sum += seconds
            for i, bound in enumerate(DURATION_BUCKETS):
                if seconds <= bound:
                    self.buckets[i] += 1

    def merge(self, other: "Tally") -> None:
        """Add another tally's numbers to this one."""
        self.count += other.count
        self.retries += other.retries
        self.duration_count += other.duration_count
        self.duration_sum += other.duration_sum
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets)]


def _timestamp(value: dt.datetime) -> float:
    return value.replace(tzinfo=dt.timezone.utc).timestamp()


class JobMetrics(Collector):
    """A prometheus_client collector that reads every figure from the app database."""

    def __init__(self, registry: JobRegistry, workers: WorkerDirectory, clock: Clock = utcnow) -> None:
        self.registry = registry
        self.workers = workers
        self.clock = clock

    # ------------------------------------------------------------------ tallies
    @staticmethod
    def _snapshot() -> tuple[dict[tuple[str, str], Tally], dt.datetime]:
        """The stored tallies and their watermark, read in one statement (one consistent snapshot)."""
        query = (PeriodicRun.select(PeriodicRun.last_run_at, JobTally.type, JobTally.status, JobTally.count,
                                    JobTally.retries, JobTally.duration_count, JobTally.duration_sum,
                                    JobTally.buckets)
                 .join(JobTally, pw.JOIN.LEFT_OUTER, on=pw.SQL("1 = 1"))
                 .where(PeriodicRun.name == WATERMARK).tuples())
        tallies: dict[tuple[str, str], Tally] = {}
        watermark = EPOCH
        for last_run_at, type_name, status, count, retries, d_count, d_sum, buckets in query:
            watermark = last_run_at
            if type_name is not None:
                tallies[(type_name, status)] = Tally(count, retries, d_count, d_sum,
                                                     list(buckets or [0] * len(DURATION_BUCKETS)))
        return tallies, watermark

    @staticmethod
    def _finished_between(start: dt.datetime, end: dt.datetime | None) -> dict[tuple[str, str], Tally]:
        query = Job.select(Job.type, Job.status, Job.started_at, Job.completed_at, Job.attempt).where(
            Job.completed_at >= start, Job.status.in_(FINISHED_STATUSES))
        if end is not None:
            query = query.where(Job.completed_at < end)
        tallies: dict[tuple[str, str], Tally] = {}
        for type_name, status, started, completed, attempt in query.tuples().iterator():
            tallies.setdefault((type_name, status), Tally()).add(started, completed, attempt or 0)
        return tallies

    def roll_up(self) -> bool:
        """Fold jobs finished before now - ROLLUP_LAG into the tallies when the watermark lags; True if done."""
        now = self.clock()
        if self._snapshot()[1] > now - ROLLUP_EVERY:
            return False
        target = now - ROLLUP_LAG
        with write_transaction():
            PeriodicRun.insert(name=WATERMARK, last_run_at=EPOCH).on_conflict_ignore().execute()
            stored, seen = self._snapshot()
            if seen > now - ROLLUP_EVERY:
                return False  # another process rolled up meanwhile
            moved = (PeriodicRun.update(last_run_at=target)  # on PostgreSQL a concurrent roll-up waits here
                     .where(PeriodicRun.name == WATERMARK, PeriodicRun.last_run_at == seen).execute())
            if not moved:
                return False
            for key, fresh in self._finished_between(seen, target).items():
                tally = stored.setdefault(key, Tally())
                tally.merge(fresh)
                (JobTally.insert(type=key[0], status=key[1], count=tally.count, retries=tally.retries,
                                 duration_count=tally.duration_count, duration_sum=tally.duration_sum,
                                 buckets=tally.buckets)
                 .on_conflict(conflict_target=[JobTally.type, JobTally.status],
                              update={JobTally.count: tally.count, JobTally.retries: tally.retries,
                                      JobTally.duration_count: tally.duration_count,
                                      JobTally.duration_sum: tally.duration_sum,
                                      JobTally.buckets: JobTally.buckets.db_value(tally.buckets)})
                 .execute())
        log.debug("metrics: finished jobs rolled up to %s", target)
        return True

    def finished(self) -> dict[tuple[str, str], Tally]:
        """Every finished job's tally: the stored totals plus the jobs finished since the watermark."""
        try:
            self.roll_up()
        except pw.OperationalError:  # the database was busy: this scrape reads without folding
            log.debug("metrics: roll-up skipped, database busy", exc_info=True)
        totals, watermark = self._snapshot()
        for key, fresh in self._finished_between(watermark, None).items():
            totals.setdefault(key, Tally()).merge(fresh)
        return totals

    # ------------------------------------------------------------------ collect
    def collect(self) -> Iterator[Metric]:
        """Every metric family, read now."""
        now = self.clock()
        yield from self._job_metrics(now)
        yield from self._suggestion_metrics()
        yield from self._sync_metrics()
        yield from self._worker_metrics(now)

    def _job_metrics(self, now: dt.datetime) -> Iterable[Metric]:
        totals = self.finished()
        finished = CounterMetricFamily(f"{PREFIX}_jobs_finished", "Jobs that ended, by type and final status",
                                       labels=["type", "status"])
        retries = CounterMetricFamily(f"{PREFIX}_job_retries", "Attempts after the first, of jobs that ended",
                                      labels=["type"])
        duration = HistogramMetricFamily(f"{PREFIX}_job_duration_seconds",
                                         "Run time of jobs that ended (start to end), by type", labels=["type"])
        by_type: dict[str, Tally] = {}
        for (type_name, status), tally in sorted(totals.items()):
            finished.add_metric([type_name, status], tally.count)
            by_type.setdefault(type_name, Tally()).merge(tally)
        for type_name, tally in sorted(by_type.items()):
            retries.add_metric([type_name], tally.retries)
            buckets = [(str(b), c) for b, c in zip(DURATION_BUCKETS, tally.buckets)]
            duration.add_metric([type_name], buckets + [("+Inf", tally.duration_count)], tally.duration_sum)
        active = GaugeMetricFamily(f"{PREFIX}_jobs", "Jobs queued or running now, by type and status",
                                   labels=["type", "status"])
        counts = {(t.name, s): 0 for t in self.registry.all() for s in ("queued", "running")}
        for type_name, status, count in (Job.select(Job.type, Job.status, pw.fn.COUNT(Job.id))
                                         .where(Job.status.in_(("queued", "running")))
                                         .group_by(Job.type, Job.status).tuples()):
            counts[(type_name, status)] = count
        for (type_name, status), count in sorted(counts.items()):
            active.add_metric([type_name, status], count)
        oldest = Job.select(pw.fn.MIN(Job.enqueued_at)).where(Job.status == "queued").scalar()
        if isinstance(oldest, str):
            oldest = dt.datetime.fromisoformat(oldest)
        age = GaugeMetricFamily(f"{PREFIX}_oldest_queued_job_age_seconds",
                                "Seconds the oldest queued job has waited since it was (re-)enqueued; 0 if none",
                                value=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)
        return [finished, retries, duration, active, age]

    def _suggestion_metrics(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(f"{PREFIX}_suggestions", "Suggestions by budget and status",
                                   labels=["budget", "status"])
        for budget_id, status, count in (Suggestion.select(Suggestion.budget_id, Suggestion.status,
                                                           pw.fn.COUNT(Suggestion.id))
                                         .group_by(Suggestion.budget_id, Suggestion.status).tuples()):
            family.add_metric([budget_id, status], count)
        return [family]

    def _sync_metrics(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(f"{PREFIX}_last_successful_sync_timestamp_seconds",
                                   "When each budget last synced successfully (Unix time)", labels=["budget"])
        for budget_id, last in sorted(last_successful_syncs(sync_types(self.registry)).items()):
            if last is not None:
                family.add_metric([budget_id], _timestamp(last))
        return [family]

    def _worker_metrics(self, now: dt.datetime) -> Iterable[Metric]:
        alive = GaugeMetricFamily(f"{PREFIX}_workers_alive",
                                  "Worker processes seen within HEARTBEAT_TIMEOUT_SECONDS",
                                  value=self.workers.alive_count())
        seen = GaugeMetricFamily(f"{PREFIX}_worker_last_seen_timestamp_seconds",
                                 "When each worker process last reported (Unix time)", labels=["worker"])
        for worker_id, last_seen in (Worker.select(Worker.id, Worker.last_seen_at)
                                     .where(Worker.last_seen_at >= now - dt.timedelta(days=1)).tuples()):
            seen.add_metric([worker_id], _timestamp(last_seen))
        return [alive, seen]


def metrics_registry(collector: JobMetrics) -> CollectorRegistry:
    """A registry holding only `collector` (no process metrics: they would differ per web worker)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The registry in the Prometheus text format."""
    return generate_latest(registry)
