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
from jobs.sync_times import sync_types
from jobs.workers import WorkerDirectory
from models.db import database, is_sqlite, write_transaction
from models.domain import Suggestion
from models.jobs import FINISHED_STATUSES, Job, PeriodicRun
from models.ops import BudgetLastSync, JobTally, Worker

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

    def merge(self, other: "Tally") -> None:
        """Add another tally's numbers to this one."""
        self.count += other.count
        self.retries += other.retries
        self.duration_count += other.duration_count
        self.duration_sum += other.duration_sum
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets)]


def _datetime(value: object) -> dt.datetime:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value  # type: ignore[return-value]


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
        """Tallies of the jobs that ended in [start, end), summed by the database (index job_completed).

        The duration is computed once per job in a materialized CTE (inlined, it was parsed again for every
        bucket: 45 s instead of 10 s for the first roll-up of 1,000,000 jobs).
        """
        p = database.obj.param
        seconds = ("(julianday(completed_at) - julianday(started_at)) * 86400" if is_sqlite()
                   else "EXTRACT(EPOCH FROM (completed_at - started_at))")
        bucket = "CASE " + " ".join(f"WHEN d <= {b!r} THEN {i}" for i, b in enumerate(DURATION_BUCKETS)) + \
            f" ELSE {len(DURATION_BUCKETS)} END"
        sql = (f"WITH finished AS MATERIALIZED (SELECT type, status, attempt, {seconds} AS d FROM job "
               f"WHERE completed_at >= {p}" + (f" AND completed_at < {p}" if end else "") + ") "
               f"SELECT type, status, {bucket} AS bucket, COUNT(*), "
               "SUM(CASE WHEN attempt > 1 THEN attempt - 1 ELSE 0 END), COUNT(d), COALESCE(SUM(d), 0) "
               "FROM finished GROUP BY type, status, bucket")
        tallies: dict[tuple[str, str], Tally] = {}
        for type_name, status, index, count, retries, d_count, d_sum in database.execute_sql(
                sql, [start] + ([end] if end else [])):
            tally = tallies.setdefault((type_name, status), Tally())
            tally.count += int(count)
            tally.retries += int(retries or 0)
            if d_count:  # a job canceled before it started has no duration
                tally.duration_count += int(d_count)
                tally.duration_sum += max(float(d_sum), 0.0)
                for i in range(int(index), len(DURATION_BUCKETS)):  # cumulative: it is within every later bound
                    tally.buckets[i] += int(d_count)
        return tallies

    def _synced_between(self, start: dt.datetime, end: dt.datetime | None) -> dict[str, dt.datetime]:
        """Each budget's latest successful sync that ended in [start, end).

        Rows, not GROUP BY, and no indexable status filter: so SQLite reads the range of job_completed (a
        GROUP BY or a status filter made it walk another index through all 1,000,000 jobs).
        """
        query = Job.select(Job.budget_id, Job.status, Job.type, Job.completed_at).where(Job.completed_at >= start)
        if end is not None:
            query = query.where(Job.completed_at < end)
        types = set(sync_types(self.registry))
        last: dict[str, dt.datetime] = {}
        for budget_id, status, type_name, completed in query.tuples().iterator():
            if status == "succeeded" and type_name in types and (budget_id not in last or completed > last[budget_id]):
                last[budget_id] = completed
        return last

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
            for budget_id, last in self._synced_between(seen, target).items():
                (BudgetLastSync.insert(budget_id=budget_id, last_success_at=last)
                 .on_conflict(conflict_target=[BudgetLastSync.budget_id],
                              update={BudgetLastSync.last_success_at: pw.fn.MAX(BudgetLastSync.last_success_at, last)
                                      if is_sqlite() else pw.fn.GREATEST(BudgetLastSync.last_success_at, last)})
                 .execute())
        log.debug("metrics: finished jobs rolled up to %s", target)
        return True

    def finished(self) -> tuple[dict[tuple[str, str], Tally], dt.datetime]:
        """Every finished job's tally (the stored totals plus the jobs finished since), and the watermark."""
        try:
            self.roll_up()
        except pw.OperationalError:  # the database was busy: this scrape reads without folding
            log.debug("metrics: roll-up skipped, database busy", exc_info=True)
        totals, watermark = self._snapshot()
        for key, fresh in self._finished_between(watermark, None).items():
            totals.setdefault(key, Tally()).merge(fresh)
        return totals, watermark

    # ------------------------------------------------------------------ collect
    def collect(self) -> Iterator[Metric]:
        """Every metric family, read now."""
        now = self.clock()
        totals, watermark = self.finished()
        yield from self._job_metrics(now, totals)
        yield from self._suggestion_metrics()
        yield from self._sync_metrics(watermark)
        yield from self._worker_metrics(now)

    def _job_metrics(self, now: dt.datetime, totals: dict[tuple[str, str], Tally]) -> Iterable[Metric]:
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

    def _sync_metrics(self, watermark: dt.datetime) -> Iterable[Metric]:
        family = GaugeMetricFamily(f"{PREFIX}_last_successful_sync_timestamp_seconds",
                                   "When each budget last synced successfully (Unix time)", labels=["budget"])
        # raw rows: peewee's general date parsing took most of a scrape with 1,000 budgets
        last = {b: _datetime(at) for b, at in database.execute_sql(
            "SELECT budget_id, last_success_at FROM budget_last_sync").fetchall()}
        for budget_id, at in self._synced_between(watermark, None).items():
            last[budget_id] = max(at, last.get(budget_id, at))
        for budget_id, at in sorted(last.items()):
            family.add_metric([budget_id], _timestamp(at))
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
