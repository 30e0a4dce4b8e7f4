"""Bulk seeding of a migrated app.db with finished jobs, their steps and events (sqlite3 executemany).

Each seeded job looks like a finished `sync_and_suggest` run: two succeeded steps and the seven events
JobService writes for them. `n_old` jobs are older than the retention period (the purge's work);
`recent_per_budget` jobs per budget are a day old (they survive the purge and are what the pollers read).
Secondary indexes are dropped during the inserts and rebuilt after (the same SQL, from sqlite_master),
with the journal off; the file is back in WAL mode when this returns.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

TABLES = ("job", "job_step", "job_event")
TS = "%Y-%m-%d %H:%M:%S.%f"


@dataclass
class Seeded:
    budgets: list[str]
    recent_job_ids: list[str]
    total_jobs: int
    seconds: float


def _job_id(i: int) -> str:
    # uuid-shaped and increasing with i (sequential inserts into the primary key index)
    return f"{i:08x}-0000-4000-8000-{(i * 2654435761) % (1 << 48):012x}"


def seed(db_path: Path, n_old: int, n_budgets: int, recent_per_budget: int, *,
         now: dt.datetime | None = None, old_days: tuple[int, int] = (400, 40), batch: int = 50_000) -> Seeded:
    """Insert n_old expired + n_budgets * recent_per_budget recent finished jobs; return the poll targets."""
    started = time.perf_counter()
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    budgets = [f"pb{k:05d}" for k in range(n_budgets)]
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("pragma journal_mode=delete")
    conn.execute("pragma journal_mode=off")
    conn.execute("pragma synchronous=off")
    conn.execute("pragma cache_size=-400000")
    indexes = [(name, sql) for name, sql in conn.execute(
        "select name, sql from sqlite_master where type='index' and sql is not null and tbl_name in (?,?,?)", TABLES)]
    for name, _ in indexes:
        conn.execute(f'drop index "{name}"')
    conn.executemany("insert or ignore into budget (id, name, connector, seed, options, created_at) values (?,?,?,?,?,?)",
                     [(b, f"Bench budget {b}", "demo", k + 1, "{}", now.strftime(TS)) for k, b in enumerate(budgets)])
    next_step = (conn.execute("select coalesce(max(id), 0) from job_step").fetchone()[0] or 0) + 1
    next_event = (conn.execute("select coalesce(max(id), 0) from job_event").fetchone()[0] or 0) + 1
    first, last = now - dt.timedelta(days=old_days[0]), now - dt.timedelta(days=old_days[1])
    recent_from = now - dt.timedelta(days=1)
    n_recent = n_budgets * recent_per_budget
    total = n_old + n_recent
    recent_ids: list[str] = []
    for lo in range(0, total, batch):
        jobs, steps, events = [], [], []
        for i in range(lo, min(total, lo + batch)):
            if i < n_old:
                created = first + (last - first) * (i / max(1, n_old))
            else:
                created = recent_from + dt.timedelta(seconds=(i - n_old) * 2)
            created = created.replace(microsecond=created.microsecond or 1)
            job_id = _job_id(i)
            budget = budgets[i % n_budgets]
            if i >= n_old:
                recent_ids.append(job_id)
            t = [created + dt.timedelta(milliseconds=ms) for ms in (0, 5, 6, 900, 901, 1500, 1501)]
            ts = [x.strftime(TS) for x in t]
            jobs.append((job_id, budget, "sync_and_suggest", "succeeded", "scheduled", ts[0], ts[6], ts[1], ts[6],
                         None, None, '{"fullResync":false}', 1, 3, None, None, None, 0, ts[0], None, "", None))
            s1, s2 = next_step, next_step + 1
            next_step += 2
            steps.append((s1, job_id, "sync", 0, "succeeded", ts[2], ts[3], None, 40, 40, '{"imported":40}'))
            steps.append((s2, job_id, "suggestions", 1, "succeeded", ts[4], ts[5], None, 12, 12, '{"proposed":12}'))
            for step_id, status, message, when in (
                (None, "queued", "Sync & Generate Suggestions queued by the scheduler", ts[0]),
                (None, "running", "Started (attempt 1 of 3)", ts[1]),
                (s1, "running", "Step 'Sync budget' started", ts[2]),
                (s1, "succeeded", "Step 'Sync budget' succeeded: 40 transactions imported", ts[3]),
                (s2, "running", "Step 'Generate suggestions' started", ts[4]),
                (s2, "succeeded", "Step 'Generate suggestions' succeeded: 12 suggestions", ts[5]),
                (None, "succeeded", "Succeeded", ts[6]),
            ):
                events.append((next_event, job_id, step_id, status, message, when))
                next_event += 1
        conn.execute("begin")
        conn.executemany(
            "insert into job (id, budget_id, type, status, trigger, created_at, updated_at, started_at, completed_at,"
            " failure_reason, parent_job_id, metadata, attempt, max_attempts, next_attempt_at, heartbeat_at, worker,"
            " cancel_requested, enqueued_at, blocked_by, dedup_key, active)"
            " values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", jobs)
        conn.executemany(
            "insert into job_step (id, job_id, step_type, position, status, started_at, completed_at,"
            " failure_reason, progress_done, progress_total, result) values (?,?,?,?,?,?,?,?,?,?,?)", steps)
        conn.executemany("insert into job_event (id, job_id, step_id, status, message, created_at)"
                         " values (?,?,?,?,?,?)", events)
        conn.execute("commit")
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("pragma journal_mode=wal")
    conn.close()
    return Seeded(budgets, recent_ids, total, time.perf_counter() - started)


if __name__ == "__main__":  # python -m bench.seed DB N_OLD  (a quick look at the seeding speed)
    import sys

    s = seed(Path(sys.argv[1]), int(sys.argv[2]), 1000, 20)
    print(f"seeded {s.total_jobs} jobs in {s.seconds:.1f} s")
