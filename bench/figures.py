"""One function per benchmark figure; each starts its own processes on its own temp DATA_DIR.

Processes run the Procfile's commands with BA_PLUGINS=bench.noop_tasks (the `bench_noop` job type);
work measured inside one process runs as a probe module, `python -m bench.probe_<name>`.
"""
from __future__ import annotations

import datetime as dt
import os
import json
import random
import sqlite3
import threading
import time
import traceback
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from bench import load, procs
from bench.seed import seed

RAW_WORKER = "bench.raw_huey.huey"
HELLO_FACTORY = "bench.hello_app:get_app()"


@dataclass(frozen=True)
class Sizes:
    idle_jobs: int = 50
    idle_gap: tuple[float, float] = (0.5, 3.0)
    idle_cpu_seconds: float = 60.0
    throughput_jobs: int = 5000
    throughput_anchor_runs: int = 3
    commit_jobs: int = 5
    http_seconds: float = 4.0  # per round; rounds alternate ours and the anchor
    http_rounds: int = 3
    http_budgets: int = 20_000  # per round
    seed_old_jobs: int = 1_000_000
    seed_budgets: int = 1000
    scrapes: int = 10
    seed_recent_per_budget: int = 20
    poll_seconds: float = 1.0  # per round; rounds alternate ours and the anchor, p99 = median over rounds
    poll_rounds: int = 30  # short rounds: a noisy second hits all three alike (16 x 2.5 s: halves differed 2x)
    purge_before_seconds: float = 10.0
    suggest: tuple[int, int] = (10_000, 100_000)
    peer_jobs: int = 5000  # ours on PostgreSQL + Redis and each peer, interleaved rounds
    peer_rounds: int = 3
    e2e_transactions: int = 100_000  # the Actual budget of the e2e figures (cached per size and server version)
    e2e_warm_runs: int = 3
    e2e_cold_runs: int = 5  # each on a newly uploaded copy of the budget (a new file id: nothing cached)
    e2e_floor_runs: int = 3
    e2e_idle_seconds: float = 12.0  # ~600 idle polls: p99 is then not just the two slowest


FULL = Sizes()
QUICK = Sizes(idle_jobs=8, idle_gap=(0.3, 0.8), idle_cpu_seconds=5.0, throughput_jobs=300, throughput_anchor_runs=1,
              commit_jobs=2, http_seconds=2.0, http_rounds=1, http_budgets=5_000, seed_old_jobs=20_000,
              seed_budgets=100, seed_recent_per_budget=20, poll_seconds=1.0, poll_rounds=2,
              purge_before_seconds=2.0, suggest=(1000, 10_000), peer_jobs=300, peer_rounds=1,
              e2e_transactions=5_000, e2e_warm_runs=3, e2e_cold_runs=1, e2e_floor_runs=1, e2e_idle_seconds=2.0)


@dataclass
class Figure:
    """One row: `value` is the number the key names and the one compared with the target."""

    key: str
    what: str
    unit: str
    target: Optional[tuple[str, float]]  # ("<=", 50.0) or None (reported only)
    value: Optional[float] = None
    ours: Optional[float] = None
    anchor: Optional[float] = None
    ratio: Optional[float] = None
    detail: dict = field(default_factory=dict)
    error: Optional[str] = None

    @property
    def passed(self) -> Optional[bool]:
        if self.value is None or self.target is None:
            return None
        op, limit = self.target
        return self.value <= limit if op == "<=" else self.value >= limit

    def target_text(self) -> str:
        return f"{self.target[0]} {self.target[1]:g}" if self.target else "-"

    def as_json(self) -> dict:
        return {"ours": _r(self.ours), "anchor": _r(self.anchor), "ratio": _r(self.ratio), "value": _r(self.value),
                "target": self.target_text(), "pass": self.passed, "unit": self.unit, "what": self.what,
                "detail": self.detail, **({"error": self.error} if self.error else {})}


def _r(x: Optional[float]) -> Optional[float]:
    return None if x is None else round(x, 4)


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a is not None and b else None


def _ts(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if len(ordered) % 2 else (ordered[len(ordered) // 2 - 1] + ordered[len(ordered) // 2]) / 2


def _p(values: list[float], p: float) -> float:
    return load.percentile(values, p)


def _db(data_dir: Path, name: str = "app.db") -> sqlite3.Connection:
    conn = sqlite3.connect(data_dir / name, timeout=30, isolation_level=None)
    conn.execute("pragma busy_timeout=30000")
    return conn


def _post(base: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def _scrape_ms(base: str) -> float:
    """Milliseconds for one GET /metrics, body read."""
    started = time.perf_counter()
    with urllib.request.urlopen(base + "/metrics", timeout=120) as r:
        assert r.status == 200 and b"budget_assist_jobs_finished_total" in r.read()
    return (time.perf_counter() - started) * 1000


def _get(base: str, path: str) -> tuple[int, Any, dict]:
    with urllib.request.urlopen(base + path, timeout=30) as r:
        return r.status, r.headers, json.loads(r.read())


# ------------------------------------------------------------------ idle start + idle CPU
def idle(tmp: Path, sizes: Sizes) -> list[Figure]:
    """idle_start_p95_ms (Procfile flags vs Huey's default poll flags) and idle_worker_cpu_pct, concurrently."""
    start = Figure("idle_start_p95_ms", "enqueue-to-step-start p95, idle worker (Procfile flags vs Huey default flags)",
                   "ms", ("<=", 50.0))
    cpu = Figure("idle_worker_cpu_pct", f"CPU of an idle worker over {sizes.idle_cpu_seconds:g} s", "%", ("<=", 3.0))
    started: list[procs.Proc] = []
    try:
        stacks = {}
        for name, default_poll in (("ours", False), ("anchor", True)):
            d = tmp / f"idle-{name}"
            web, base = procs.start_web(f"web-{name}", d)
            started.append(web)
            worker = procs.start_worker(f"worker-{name}", d, default_poll=default_poll)
            started.append(worker)
            stacks[name] = (d, base, worker)
        cpu_dir = tmp / "idle-cpu"
        cpu_worker = procs.start_worker("worker-idle-cpu", cpu_dir)
        started.append(cpu_worker)
        for _, _, worker in stacks.values():
            procs.wait_log(worker, "worker ready on")
        procs.wait_log(cpu_worker, "worker ready on")

        cpu_result: dict = {}

        def measure_cpu() -> None:
            time.sleep(1.0)  # let the startup settle
            c0, t0 = procs.cpu_seconds(cpu_worker.pid), time.monotonic()
            time.sleep(sizes.idle_cpu_seconds)
            c1, t1 = procs.cpu_seconds(cpu_worker.pid), time.monotonic()
            cpu_result.update(cpu_s=c1 - c0, wall_s=t1 - t0)

        cpu_thread = threading.Thread(target=measure_cpu)
        cpu_thread.start()

        def drive(name: str, seed_value: int) -> None:
            d, base, _ = stacks[name]
            rng = random.Random(seed_value)
            time.sleep(rng.uniform(*sizes.idle_gap))  # an idle worker: first job after a gap too
            for _ in range(sizes.idle_jobs):
                _post(base, "/api/jobs/bench-noop", {"budgetId": "demo"})
                time.sleep(rng.uniform(*sizes.idle_gap))

        threads = [threading.Thread(target=drive, args=(name, i + 7)) for i, name in enumerate(stacks)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        p95 = {}
        for name, (d, _, _) in stacks.items():
            conn = _db(d)
            procs.wait_until(lambda: conn.execute("select count(*) from job where type='bench_noop' and status='succeeded'")
                  .fetchone()[0] >= sizes.idle_jobs, 60, message=f"{name}: idle jobs to finish")
            rows = conn.execute("select j.created_at, s.started_at from job j join job_step s on s.job_id = j.id"
                                " where j.type='bench_noop'").fetchall()
            conn.close()
            lat = [(_ts(s) - _ts(c)) * 1000 for c, s in rows]
            p95[name] = _p(lat, 95)
            start.detail[name] = {"n": len(lat), "p50_ms": round(_p(lat, 50), 1), "p95_ms": round(p95[name], 1),
                                  "max_ms": round(max(lat), 1)}
        start.ours, start.anchor = p95["ours"], p95["anchor"]
        start.value, start.ratio = start.ours, _ratio(start.ours, start.anchor)
        start.detail["flags_ours"] = " ".join(procs.worker_flags())
        start.detail["flags_anchor"] = " ".join(procs.worker_flags(default_poll=True))
        cpu_thread.join()
        cpu.ours = cpu.value = 100 * cpu_result["cpu_s"] / cpu_result["wall_s"]
        cpu.detail = {"cpu_s": round(cpu_result["cpu_s"], 2), "wall_s": round(cpu_result["wall_s"], 1)}
    finally:
        for p in started:
            p.stop()
    return [start, cpu]


# ------------------------------------------------------------------ throughput
def _drain(data_dir: Path, worker_module: Optional[str], queue_name: str, n: int, jobs: bool) -> dict:
    """Start a worker on a queue holding n tasks; time from its first dequeue to the last one done."""
    qconn = _db(data_dir, "queue.db")

    def queued() -> int:
        return qconn.execute("select count(*) from task where queue=?", (queue_name,)).fetchone()[0]

    assert queued() == n, f"expected {n} queued tasks, found {queued()}"
    worker = procs.start_worker(f"drain-{queue_name}", data_dir, module=worker_module)
    try:
        t_first = None
        deadline = time.monotonic() + 600
        while t_first is None:
            if queued() < n:
                t_first = time.time()
                cpu_first = procs.cpu_seconds(worker.pid)
            elif not worker.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"worker never dequeued:\n{worker.tail()}")
            else:
                time.sleep(0.002)
        if jobs:
            conn = _db(data_dir)
            # ours is timed from the worker's ready line: its one-time warm-up (importing scikit-learn and actualpy,
            # about a second of one thread's GIL while the other thread already runs jobs) is not a cost per job
            procs.wait_log(worker, "worker ready on", timeout=120)
            t_ready, cpu_ready = max(time.time(), t_first), procs.cpu_seconds(worker.pid)
            done_at_ready = conn.execute("select count(*) from job where type='bench_noop' and active = 0").fetchone()[0]
            procs.wait_until(lambda: conn.execute("select count(*) from job where type='bench_noop' and active = 1")
                  .fetchone()[0] == 0 and not worker_dead(worker), 600, 0.05, "jobs to finish")
            done, failed, last = conn.execute(
                "select sum(status='succeeded'), sum(status!='succeeded'), max(completed_at) from job"
                " where type='bench_noop'").fetchone()
            conn.close()
            cpu_last = procs.cpu_seconds(worker.pid)
            t_last = _ts(last)
            steady = n - done_at_ready
            extra = {"succeeded": done, "not_succeeded": failed, "done_before_ready": done_at_ready,
                     "per_s_from_first_dequeue": round(n / (t_last - t_first), 1),
                     "cpu_ms_per_job_from_first_dequeue": round(1000 * (cpu_last - cpu_first) / n, 3)}
            if done_at_ready and steady > 0:
                n, t_first, cpu_first = steady, t_ready, cpu_ready
        else:
            while queued() > 0:
                if not worker.alive():
                    raise RuntimeError(f"worker died:\n{worker.tail()}")
                time.sleep(0.002)
            t_last = time.time()
            cpu_last = procs.cpu_seconds(worker.pid)
            extra = {}
        seconds = t_last - t_first
        if worker.log.exists() and "Traceback" in worker.log.read_text(errors="replace"):
            raise RuntimeError(f"the worker failed tasks while draining:\n{worker.tail(2000)}")
        return {"n": n, "seconds": round(seconds, 3), "per_s": n / seconds,
                "worker_cpu_ms_per_job": round(1000 * (cpu_last - cpu_first) / n, 3), **extra}
    finally:
        qconn.close()
        worker.stop()


def worker_dead(worker: procs.Proc) -> bool:
    if not worker.alive():
        raise RuntimeError(f"worker died:\n{worker.tail()}")
    return False


def throughput(tmp: Path, sizes: Sizes) -> Figure:
    """throughput_ratio: n bench_noop jobs end to end vs n raw Huey no-op tasks, same storage and flags."""
    f = Figure("throughput_ratio", f"{sizes.throughput_jobs} no-op jobs drained end to end vs raw Huey no-op tasks",
               "jobs/s", (">=", 0.5))
    n = sizes.throughput_jobs
    ours_dir, raw_dir = tmp / "tp-ours", tmp / "tp-raw"
    t = time.perf_counter()
    procs.run_probe(ours_dir, "bench.probe_create", n)
    create_s = time.perf_counter() - t
    ours = _drain(ours_dir, None, "budget-assist", n, jobs=True)
    raws = []
    for _ in range(sizes.throughput_anchor_runs):  # the anchor drains in well under a second: median of runs
        procs.run_probe(raw_dir, "bench.raw_huey", n)
        raws.append(_drain(raw_dir, RAW_WORKER, "bench-raw", n, jobs=False))
    raw = sorted(raws, key=lambda r: r["per_s"])[len(raws) // 2]
    f.ours, f.anchor = ours["per_s"], raw["per_s"]
    f.ratio = f.value = _ratio(f.ours, f.anchor)
    f.detail = {"ours": ours, "anchor": raw, "anchor_runs_per_s": [round(r["per_s"]) for r in raws],
                "create_jobs_per_s_in_process": round(n / create_s, 1)}
    return f


# ------------------------------------------------------------------ commits per job
def commits(tmp: Path, sizes: Sizes) -> Figure:
    """commits_per_job: SQLite write transactions (app.db + queue.db) of one job lifecycle, traced in-process."""
    f = Figure("commits_per_job", "SQLite write transactions per job, create to succeeded, app.db + queue.db",
               "commits", ("<=", 6.0))
    d = tmp / "commits"
    procs.migrate(d)
    out = procs.run_probe(d, "bench.probe_commits", sizes.commit_jobs, timeout=120)
    result = json.loads(out.strip().splitlines()[-1])
    n = result["jobs"]
    per_file = {name: (c["transactions"] + c["autocommit_writes"]) / n for name, c in result["counts"].items()}
    f.ours = f.value = sum(per_file.values())
    lock_only = {name: c["lock_only"] / n for name, c in result["counts"].items()}
    f.detail = {"per_file": per_file, "jobs": n, "lock_only_transactions_per_file": lock_only,
                "first_job_statements": {k: v["statements"] for k, v in result["counts"].items()}}
    return f


# ------------------------------------------------------------------ HTTP create
def http_create(tmp: Path, sizes: Sizes) -> Figure:
    """http_create_ratio: POST /api/jobs/bench-noop req/s vs a hello-world Falcon POST, same gunicorn flags."""
    f = Figure("http_create_ratio", "POST job creation req/s through gunicorn vs hello-world POST", "req/s",
               (">=", 0.3))  # issue 15: 0.3 for a job with its steps and event (was 0.5)
    d = tmp / "http"
    procs.migrate(d)
    conn = _db(d)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    prefixes = [f"hb{r}_" for r in range(sizes.http_rounds + 1)]  # fresh budgets every round: no dedup
    conn.execute("begin")
    conn.executemany("insert into budget (id, name, connector, seed, options, created_at) values (?,?,?,?,?,?)",
                     ((f"{p}{i}", f"HTTP budget {p}{i}", "demo", i + 1, "{}", now)
                      for p in prefixes for i in range(sizes.http_budgets)))
    conn.execute("commit")
    conn.close()
    started = []
    ours_runs, anchor_runs = [], []
    try:
        web, base = procs.start_web("web-http", d)
        started.append(web)
        hello, hello_base = procs.start_web("web-hello", tmp / "hello", factory=HELLO_FACTORY, health_path="/hello")
        started.append(hello)
        warm = min(2.0, sizes.http_seconds)
        load.throughput(base, "/api/jobs/bench-noop", warm, budgets=sizes.http_budgets, prefix=prefixes[0])
        load.throughput(hello_base, "/hello", warm)
        for r in range(sizes.http_rounds):
            ours_runs.append(load.throughput(base, "/api/jobs/bench-noop", sizes.http_seconds,
                                             budgets=sizes.http_budgets, prefix=prefixes[r + 1]))
            anchor_runs.append(load.throughput(hello_base, "/hello", sizes.http_seconds))
    finally:
        for p in started:
            p.stop()
    conn = _db(d)
    created = conn.execute("select count(*) from job where type='bench_noop'").fetchone()[0]
    conn.close()
    ours = sorted(ours_runs, key=lambda x: x["rps"])[len(ours_runs) // 2]
    anchor = sorted(anchor_runs, key=lambda x: x["rps"])[len(anchor_runs) // 2]
    f.ours, f.anchor = ours["rps"], anchor["rps"]
    f.ratio = f.value = _ratio(f.ours, f.anchor)
    f.detail = {"ours": ours, "anchor": anchor, "rounds_rps": {"ours": [x["rps"] for x in ours_runs],
                "anchor": [x["rps"] for x in anchor_runs]}, "errors": sum(x["errors"] for x in ours_runs),
                "jobs_created": created}
    return f


# ------------------------------------------------------------------ polls on 1,000,000 jobs + purge
def polls_and_purge(tmp: Path, sizes: Sizes) -> list[Figure]:
    """poll_p99_ratio, poll_304_p99_ratio, purge_1m_s, purge_added_p99_ms on one bulk-seeded database."""
    n_old = sizes.seed_old_jobs
    label = f"{n_old // 1_000_000}M" if n_old >= 1_000_000 else f"{n_old // 1000}k"
    poll = Figure("poll_p99_ratio", f"GET job list (limit 20) + job detail p99 with {label} jobs vs hello GET p99",
                  "ms", ("<=", 2.0))
    poll304 = Figure("poll_304_p99_ratio", "the same with If-None-Match (304) vs hello GET p99", "ms", ("<=", 1.2))
    purge_s = Figure("purge_1m_s", f"retention purge of {label} expired jobs with steps and events", "s", None)
    added = Figure("purge_added_p99_ms", "added p99 of concurrent GETs during the purge (during - before)", "ms",
                   ("<=", 100.0))
    scrape = Figure("metrics_scrape_1m_ms", f"one GET /metrics with {label} jobs (median of {sizes.scrapes})", "ms",
                    ("<=", 50.0))
    d = tmp / "polls"
    procs.migrate(d)
    seeded = seed(d / "app.db", n_old, sizes.seed_budgets, sizes.seed_recent_per_budget)
    purge_s.detail["seed_s"] = round(seeded.seconds, 1)
    purge_s.detail["jobs_in_db"] = seeded.total_jobs
    started = []
    try:
        web, base = procs.start_web("web-polls", d)
        started.append(web)
        hello, hello_base = procs.start_web("web-hello-polls", tmp / "hello2", factory=HELLO_FACTORY,
                                            health_path="/hello")
        started.append(hello)
        rng = random.Random(3)
        targets: list[tuple[str, str]] = []
        for b in rng.sample(seeded.budgets, min(100, len(seeded.budgets))):
            targets.append((f"/api/jobs?budgetId={b}&limit=20", ""))
        for j in rng.sample(seeded.recent_job_ids, 100):
            targets.append((f"/api/jobs/{j}", ""))
        with_etags = []
        for path, _ in targets:
            status, headers, body = _get(base, path)
            assert status == 200 and (body.get("jobs") or body.get("job")), (path, body)
            with_etags.append((path, headers["ETag"]))
        hello_targets = [("/hello", "")]
        dur = sizes.poll_seconds
        load.latency(base, targets, 2.0)  # warm-up (page cache, connections)
        load.latency(hello_base, hello_targets, 1.0)
        runs: dict[str, list[dict]] = {"hello": [], "ours": [], "ours304": []}
        for _ in range(sizes.poll_rounds):  # interleaved rounds: a noisy neighbour hits all three alike
            runs["hello"].append(load.latency(hello_base, hello_targets, dur))
            runs["ours"].append(load.latency(base, targets, dur))
            runs["ours304"].append(load.latency(base, with_etags, dur))

        def summary(name: str) -> dict:
            rs = runs[name]
            halves = [_median([r["p99_ms"] for r in rs[i::2]]) for i in (0, 1)]  # two independent sets of rounds
            return {"p99_ms": _median([r["p99_ms"] for r in rs]), "p50_ms": _median([r["p50_ms"] for r in rs]),
                    "p99_rounds_ms": [r["p99_ms"] for r in rs], "p99_halves_ms": halves,
                    "halves_differ_pct": round(abs(halves[0] - halves[1]) / max(min(halves), 1e-9) * 100, 1),
                    "requests": sum(r["requests"] for r in rs),
                    "s200": sum(r["s200"] for r in rs), "s304": sum(r["s304"] for r in rs),
                    "other": sum(r["other"] for r in rs), "tool": rs[0]["tool"]}

        hello_res, ours, ours304 = summary("hello"), summary("ours"), summary("ours304")
        poll.ours, poll.anchor = ours["p99_ms"], hello_res["p99_ms"]
        poll.ratio = poll.value = _ratio(poll.ours, poll.anchor)
        poll.detail = {"ours": ours, "anchor": hello_res, "jobs_in_db": seeded.total_jobs,
                       "targets": "100 lists (limit 20) + 100 details, random, one connection"}
        poll304.ours, poll304.anchor = ours304["p99_ms"], hello_res["p99_ms"]
        poll304.ratio = poll304.value = _ratio(poll304.ours, poll304.anchor)
        poll304.detail = {"ours": ours304}
        for fig, mine in ((poll, ours), (poll304, ours304)):  # the ratio of each half of the rounds: its repeatability
            fig.detail["ratio_halves"] = [_ratio(a, b) for a, b in zip(mine["p99_halves_ms"], hello_res["p99_halves_ms"])]

        # metrics: the first scrape folds the finished jobs into the tallies once; later ones read the tallies
        try:
            first_ms = _scrape_ms(base)
            times = [_scrape_ms(base) for _ in range(sizes.scrapes)]
            scrape.ours = scrape.value = _median(times)
            scrape.detail = {"first_scrape_ms": round(first_ms, 1), "max_ms": round(max(times), 2),
                             "jobs_in_db": seeded.total_jobs, "budgets": len(seeded.budgets)}
        except Exception as exc:  # the other figures of this database still count
            scrape.error = f"{exc.__class__.__name__}: {exc}"

        # purge: a Python client in a second process polls (200s) before and during the purge
        with load.latencies_while(base, targets, tmp / "lat-before") as before:
            time.sleep(sizes.purge_before_seconds)
        with load.latencies_while(base, targets, tmp / "lat-during") as during:
            time.sleep(0.5)
            out = procs.run_probe(d, "bench.probe_purge", timeout=1800)
        deleted, seconds = json.loads(out.strip().splitlines()[-1])
        purge_s.ours = purge_s.value = seconds
        purge_s.detail.update(deleted=deleted, per_s=round(deleted / seconds))
        b99, d99 = _p(before["latencies_ms"], 99), _p(during["latencies_ms"], 99)
        added.ours, added.anchor = d99, b99
        added.value = d99 - b99
        added.ratio = _ratio(d99, b99)
        added.detail = {
            "before": {"n": len(before["latencies_ms"]), "p50_ms": round(_p(before["latencies_ms"], 50), 2),
                       "p99_ms": round(b99, 2), "errors": before["other"]},
            "during": {"n": len(during["latencies_ms"]), "p50_ms": round(_p(during["latencies_ms"], 50), 2),
                       "p99_ms": round(d99, 2), "max_ms": round(max(during["latencies_ms"]), 1),
                       "errors": during["other"]},
            "client": "python, sequential, one connection"}
        conn = _db(d)
        left = conn.execute("select count(*) from job").fetchone()[0]
        conn.close()
        purge_s.detail["jobs_left"] = left
    finally:
        for p in started:
            p.stop()
    return [poll, poll304, purge_s, added, scrape]


# ------------------------------------------------------------------ suggestions
def suggest(tmp: Path, sizes: Sizes) -> list[Figure]:
    """suggest_100k_s and suggest_100k_rss_mib (train + predict, no cache) and suggest_10k_s (the same, model cached)."""
    n_targets, n_history = sizes.suggest
    what = f"suggestions for {n_targets} uncategorized vs {n_history} categorized transactions, model cached"
    f = Figure("suggest_10k_s", what, "s", ("<=", 3.0))
    trained = Figure("suggest_100k_s", f"train on {n_history} categorized + predict {n_targets}", "s", ("<=", 5.0))
    rss = Figure("suggest_100k_rss_mib", f"peak RSS of that run (train on {n_history} + predict {n_targets})", "MiB",
                 ("<=", 500.0))
    out = procs.run_probe(tmp, "bench.suggest_scale", n_targets, n_history)
    lines = out.strip().splitlines()
    values = dict(line.split(" ", 1) for line in lines[1:-1] if " " in line)
    trained.ours = trained.value = float(lines[-1])
    f.ours = f.value = float(values["cached_s"])
    rss.ours = rss.value = float(values["peak_rss_mib"])
    cpu = float(values["cpu_s"]) if "cpu_s" in values else None
    for figure in (f, trained, rss):  # the machine is shared: CPU seconds and load say how much of it we had
        figure.detail = {"line": lines[0], "cpu_s": cpu, "loadavg": round(os.getloadavg()[0], 2)}
    return [f, trained, rss]


# ------------------------------------------------------------------ scale-out and the peers
PEER_KEYS = ("throughput_sqlite_jobs_s", "throughput_scaleout_jobs_s", "peer_celery_jobs_s", "peer_rq_jobs_s",
             "peer_procrastinate_jobs_s")


def _reachable(url: str) -> bool:
    import socket
    from urllib.parse import urlparse

    u = urlparse(url)
    try:
        with socket.create_connection((u.hostname, u.port), timeout=1):
            return True
    except OSError:
        return False


def _wait_done(count: Any, n: int, worker: procs.Proc, timeout: float = 900) -> None:
    procs.wait_until(lambda: count() >= n or worker_dead(worker), timeout, 0.05, f"{worker.name}: {n} jobs done")


def _rate(n: int, first: dt.datetime, last: dt.datetime, worker_cpu: float) -> dict:
    """(n - 1) jobs between the first and the last one done: the same clock for every system."""
    seconds = (last - first).total_seconds()
    return {"n": n, "seconds": round(seconds, 3), "per_s": (n - 1) / seconds,
            "worker_cpu_ms_per_job": round(1000 * worker_cpu / n, 3)}


def _pg_database(admin_dsn: str, name: str, create: bool) -> None:
    import psycopg2

    conn = psycopg2.connect(admin_dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
            if create:
                cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()


def _pg_dsn(admin_dsn: str, name: str) -> str:
    return admin_dsn.rsplit("/", 1)[0] + "/" + name


def _run(module: str, n: int, env: dict, data_dir: Path) -> str:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", module, str(n)], cwd=procs.ROOT, env=env, capture_output=True,
                         text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"{module} failed:\n{out.stderr[-3000:]}")
    return out.stdout


def _ours_scaleout(d: Path, n: int, env: dict, dsn: str) -> dict:
    procs.migrate(d, env=env)
    _run("bench.probe_create", n, env, d)
    worker = procs.start_worker("scaleout", d, env=env)
    return _pg_drain(worker, dsn, n, "SELECT count(*) FROM job WHERE type = 'bench_noop' AND status = 'succeeded'",
                     "SELECT min(completed_at), max(completed_at) FROM job WHERE type = 'bench_noop'",
                     ready="worker ready on")


def _pg_drain(worker: procs.Proc, dsn: str, n: int, done_sql: str, span_sql: str, ready: str = "") -> dict:
    """Wait until `done_sql` counts n finished jobs, then the rate over `span_sql`'s (first, last) done times;
    with `ready` (ours), from the moment that line is in the worker's log (as `_drain` times ours on SQLite)."""
    import psycopg2

    conn = None
    try:
        conn = psycopg2.connect(dsn)
        conn.autocommit = True
        c0 = procs.cpu_seconds(worker.pid)

        def done() -> int:
            with conn.cursor() as cur:
                cur.execute(done_sql)
                return cur.fetchone()[0]

        at_ready = None
        if ready:
            procs.wait_log(worker, ready, timeout=120)
            at_ready = (dt.datetime.now(dt.timezone.utc).replace(tzinfo=None), done(), procs.cpu_seconds(worker.pid))
        _wait_done(done, n, worker)
        cpu = procs.cpu_seconds(worker.pid) - c0
        with conn.cursor() as cur:
            cur.execute(span_sql)
            first, last = cur.fetchone()
        if at_ready is not None and 0 < at_ready[1] < n:
            return {**_rate(n - at_ready[1], max(first, at_ready[0]), last, procs.cpu_seconds(worker.pid) - at_ready[2]),
                    "done_before_ready": at_ready[1], "per_s_from_first_done": round(_rate(n, first, last, cpu)["per_s"], 1)}
        return _rate(n, first, last, cpu)
    finally:
        if conn is not None:
            conn.close()
        worker.stop()


def _celery(d: Path, n: int, env: dict, queue_name: str) -> dict:
    from bench.peers import celery_app

    ids = _run("bench.peers.celery_app", n, env, d).split()
    app = celery_app.make_app(queue_name)
    worker = procs.Proc("celery", celery_app.worker_command(), env, d / "logs")
    try:
        c0 = procs.cpu_seconds(worker.pid)
        last = app.AsyncResult(ids[-1])  # the solo worker takes them in order
        _wait_done(lambda: n if last.ready() else 0, n, worker)
        cpu = procs.cpu_seconds(worker.pid) - c0
        dates = [app.AsyncResult(i).date_done for i in ids]
        assert all(dates), "a Celery task without its result"
        return _rate(n, min(dates), max(dates), cpu)
    finally:
        worker.stop()


def _rq(d: Path, n: int, env: dict, queue_name: str) -> dict:
    from rq.job import Job
    from rq.registry import FailedJobRegistry, FinishedJobRegistry

    from bench.peers import rq_app

    ids = _run("bench.peers.rq_app", n, env, d).split()
    q = rq_app.queue(queue_name)
    worker = procs.Proc("rq", rq_app.worker_command(), env, d / "logs")
    try:
        c0 = procs.cpu_seconds(worker.pid)
        finished, failed = FinishedJobRegistry(queue=q), FailedJobRegistry(queue=q)
        _wait_done(lambda: finished.count + failed.count, n, worker)
        cpu = procs.cpu_seconds(worker.pid) - c0
        assert failed.count == 0, f"{failed.count} RQ jobs failed:\n{worker.tail()}"
        ended = [j.ended_at for j in Job.fetch_many(ids, connection=q.connection)]
        return _rate(n, min(ended), max(ended), cpu)
    finally:
        worker.stop()


def _procrastinate(d: Path, n: int, env: dict, dsn: str) -> dict:
    from bench.peers import procrastinate_app

    _run("bench.peers.procrastinate_app", n, env, d)
    worker = procs.Proc("procrastinate", procrastinate_app.worker_command(), env, d / "logs")
    return _pg_drain(worker, dsn, n, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'",
                     "SELECT min(at), max(at) FROM procrastinate_events WHERE type = 'succeeded'")


def _redis_cleanup(url: str, prefix: str) -> None:
    import redis

    r = redis.Redis.from_url(url)
    for pattern in (f"*{prefix}*",):
        keys = list(r.scan_iter(match=pattern, count=1000))
        for i in range(0, len(keys), 1000):
            r.delete(*keys[i:i + 1000])


def scaleout_and_peers(tmp: Path, sizes: Sizes) -> list[Figure]:
    """throughput_sqlite_jobs_s, throughput_scaleout_jobs_s and peer_*_jobs_s: the same n no-op jobs, interleaved
    rounds, medians; ours on SQLite is held to the best peer, ours on PostgreSQL + Redis to procrastinate."""
    import importlib.util
    import uuid

    from bench import peers

    n = sizes.peer_jobs
    figs = {
        "sqlite": Figure("throughput_sqlite_jobs_s", f"{n} no-op jobs on the SQLite default (job, step, 5 events)",
                         "jobs/s", None),
        "ours": Figure("throughput_scaleout_jobs_s", f"{n} no-op jobs on PostgreSQL + Redis (job, step, 5 events)",
                       "jobs/s", None),
        "celery": Figure("peer_celery_jobs_s", f"{n} no-op Celery tasks, solo pool, Redis broker + results",
                         "jobs/s", None),
        "rq": Figure("peer_rq_jobs_s", f"{n} no-op RQ jobs, SimpleWorker on Redis", "jobs/s", None),
        "procrastinate": Figure("peer_procrastinate_jobs_s", f"{n} no-op procrastinate jobs on PostgreSQL",
                                "jobs/s", None),
    }
    missing = [f"PostgreSQL ({peers.PG_ADMIN.rsplit('@', 1)[-1]})" for _ in [0] if not _reachable(peers.PG_ADMIN)]
    missing += [f"Redis ({peers.REDIS_URL})" for _ in [0] if not _reachable(peers.REDIS_URL)]
    if missing:
        for f in figs.values():
            f.detail["skipped"] = f"{', '.join(missing)} not reachable"
        print(f"bench: scale-out and peer figures skipped: {', '.join(missing)} not reachable", flush=True)
        return list(figs.values())
    no_extra = [m for m in ("celery", "rq", "procrastinate") if importlib.util.find_spec(m) is None]
    if no_extra:
        for name in ("celery", "rq", "procrastinate"):
            figs[name].detail["skipped"] = "the .[bench] extra is not installed (make bench installs it)"
        print("bench: peer figures skipped: the .[bench] extra (celery, rq, procrastinate) is not installed;"
              " `make bench` installs it", flush=True)
    runs: dict[str, list[dict]] = {k: [] for k in figs}
    suffix = uuid.uuid4().hex[:8]
    for r in range(sizes.peer_rounds):
        for name in figs:
            if figs[name].detail.get("skipped"):
                continue
            d = tmp / f"peer-{name}-{r}"
            d.mkdir(parents=True, exist_ok=True)
            queue_name = f"ba-bench-{suffix}-{name}-{r}"
            db_name = f"ba_bench_{suffix}_{name}_{r}"
            dsn = _pg_dsn(peers.PG_ADMIN, db_name)
            env = procs.base_env(d, BENCH_PEER_QUEUE=queue_name, BENCH_PG_DSN=dsn, BENCH_REDIS_URL=peers.REDIS_URL)
            try:
                if name in ("ours", "procrastinate"):
                    _pg_database(peers.PG_ADMIN, db_name, create=True)
                if name == "sqlite":
                    procs.run_probe(d, "bench.probe_create", n)
                    runs[name].append(_drain(d, None, "budget-assist", n, jobs=True))
                elif name == "ours":
                    env.update(DATABASE_URL=dsn, QUEUE_URL=peers.REDIS_URL, QUEUE_NAME=queue_name)
                    runs[name].append(_ours_scaleout(d, n, env, dsn))
                elif name == "celery":
                    runs[name].append(_celery(d, n, env, queue_name))
                elif name == "rq":
                    runs[name].append(_rq(d, n, env, queue_name))
                else:
                    runs[name].append(_procrastinate(d, n, env, dsn))
            except Exception as exc:  # one peer that cannot be measured does not hide the others
                traceback.print_exc()
                figs[name].error = f"{exc.__class__.__name__}: {exc}"[:500]
            finally:
                if name in ("ours", "procrastinate"):
                    _pg_database(peers.PG_ADMIN, db_name, create=False)
                _redis_cleanup(peers.REDIS_URL, queue_name)
    for name, f in figs.items():
        if runs[name] and not f.error:
            best = sorted(runs[name], key=lambda x: x["per_s"])[len(runs[name]) // 2]
            f.ours = f.value = best["per_s"]
            f.detail.update(median=best, rounds_per_s=[round(x["per_s"], 1) for x in runs[name]])
    peer_values = [figs[p].value for p in ("celery", "rq", "procrastinate") if figs[p].value is not None]
    for name, against in (("sqlite", max(peer_values, default=None)), ("ours", figs["procrastinate"].value)):
        if against is not None and figs[name].value is not None:
            figs[name].target = (">=", round(against, 1))
            figs[name].anchor, figs[name].ratio = against, _ratio(figs[name].value, against)
    return list(figs.values())


# ------------------------------------------------------------------ e2e on the real Actual server
E2E_KEYS = ("e2e_100k_cold_s", "e2e_100k_warm_s", "e2e_100k_rss_mib", "poll_p99_during_e2e_ms")


def _peak_rss_mib(pid: int) -> float:
    """VmHWM (peak resident set) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def _e2e_job(base: str, d: Path, worker: procs.Proc, budget_id: str, timeout: float = 600) -> dict:
    """POST a sync_and_suggest, wait for its end; its seconds (created -> completed), worker CPU and step results."""
    cpu0, t0, wall0 = procs.cpu_seconds(worker.pid), time.perf_counter(), time.time()
    job_id = _post(base, "/api/jobs/sync-and-suggest", {"budgetId": budget_id})["job"]["id"]
    conn = _db(d)
    try:
        def finished() -> Optional[tuple]:
            worker_dead(worker)
            row = conn.execute("select status, created_at, completed_at, failure_reason from job where id = ?",
                               (job_id,)).fetchone()
            return row if row and row[0] in ("succeeded", "failed", "canceled") else None

        status, created, completed, reason = procs.wait_until(finished, timeout, 0.02, "the e2e job to finish")
        wall = time.perf_counter() - t0
        if status != "succeeded":
            raise RuntimeError(f"sync_and_suggest {status}: {reason}\n{worker.tail()}")
        results = {step: json.loads(r) if r else None for step, r in conn.execute(
            "select step_type, result from job_step where job_id = ? order by position", (job_id,))}
    finally:
        conn.close()
    return {"job_id": job_id, "seconds": round(_ts(completed) - _ts(created), 3), "client_wall_s": round(wall, 3),
            "window": (wall0, wall0 + wall),
            "worker_cpu_s": round(procs.cpu_seconds(worker.pid) - cpu0, 3), "steps": results}


def _p99_by_url(lat: dict, targets: list[tuple[str, str]]) -> dict[str, float]:
    """p99 of each polled URL (the lists, the detail) within one latency run."""
    return {path: round(_p([ms for p, ms in zip(lat["paths"], lat["latencies_ms"]) if p == path], 99), 2)
            for path, _ in targets}


def e2e(tmp: Path, sizes: Sizes) -> list[Figure]:
    """e2e_100k_*: sync_and_suggest on a real Actual server holding a budget of n transactions, cold then warm."""
    from bench import actual_budget
    from testkit.actual_server import install_actual_server, server_version, start_actual_server

    n = sizes.e2e_transactions
    label = f"{n // 1000}k"
    cold = Figure("e2e_100k_cold_s", f"first sync_and_suggest of a {label}-transaction Actual budget (median of"
                  f" {sizes.e2e_cold_runs} new copies) vs the floor (actualpy alone downloading it and reading every"
                  f" transaction, median of {sizes.e2e_floor_runs})", "s", None)
    warm = Figure("e2e_100k_warm_s", f"sync_and_suggest again with nothing new on the server ({label}, median of"
                  f" {sizes.e2e_warm_runs})", "s", ("<=", 1.0))
    rss = Figure("e2e_100k_rss_mib", "worker peak RSS over one budget's cold and warm runs (a new worker)", "MiB",
                 ("<=", 300.0))
    poll = Figure("poll_p99_during_e2e_ms", "p99 of job list + detail polls (one every 20 ms) during the cold runs,"
                  " target 2 x the same polls idle", "ms", None)
    figs = [cold, warm, rss, poll]
    cache = install_actual_server()
    version = server_version(cache)
    d = tmp / "e2e"
    password = "bench-" + os.urandom(6).hex()
    server = start_actual_server(tmp / "e2e-actual", password, cache_dir=cache)
    started: list[procs.Proc] = []
    try:
        t = time.perf_counter()
        folder = actual_budget.cached_budget(n, server.url, server.token, version)
        build_s = time.perf_counter() - t
        file_id = actual_budget.upload(server.url, server.token, folder, tmp / "e2e-upload")
        cold_ids = [file_id] + [actual_budget.upload(server.url, server.token, folder, tmp / f"e2e-upload-{i}")
                                for i in range(1, sizes.e2e_cold_runs)]
        floor_runs = []
        for i in range(sizes.e2e_floor_runs):
            out = procs.run_probe(d, "bench.probe_actual_floor", server.url, server.token, file_id,
                                  tmp / f"e2e-floor-{i}")
            floor_runs.append(json.loads(out.strip().splitlines()[-1]))
        floor = sorted(floor_runs, key=lambda r: r["seconds"])[len(floor_runs) // 2]
        env = procs.base_env(d, ACTUAL_SERVER_URL=server.url, ACTUAL_PASSWORD=password)
        procs.migrate(d, env=env)
        web, base = procs.start_web("web-e2e", d, env=env)
        started.append(web)
        worker = procs.start_worker("worker-e2e", d, env=env)
        started.append(worker)
        procs.wait_log(worker, "worker ready on")
        noop = _post(base, "/api/jobs/bench-noop", {"budgetId": "demo"})["job"]["id"]
        # idle and during poll the same URLs: the two lists and a job's detail
        targets = [(f"/api/jobs?budgetId={file_id}&limit=20", ""), ("/api/jobs?limit=20", ""),
                   (f"/api/jobs/{noop}", "")]
        with load.latencies_while(base, targets, tmp / "e2e-lat-idle", pace=0.02) as idle:
            time.sleep(sizes.e2e_idle_seconds)
        # the first budget cold, then warm (the RSS figure: one budget in a new worker); then the other copies cold
        with load.latencies_while(base, targets, tmp / "e2e-lat-during", pace=0.02) as during:
            cold_runs = [_e2e_job(base, d, worker, file_id)]
        rss_cold = _peak_rss_mib(worker.pid)
        warm_runs = [_e2e_job(base, d, worker, file_id) for _ in range(sizes.e2e_warm_runs)]
        for r in warm_runs:
            r.pop("window")
        rss_first = _peak_rss_mib(worker.pid)
        with load.latencies_while(base, targets, tmp / "e2e-lat-during-more", pace=0.02) as more:
            for cold_id in cold_ids[1:]:
                time.sleep(1.0)  # as a person starts them: no job's end meets the next one's start (not counted)
                cold_runs.append(_e2e_job(base, d, worker, cold_id))
        rss_all = _peak_rss_mib(worker.pid)
        windows = [r.pop("window") for r in cold_runs]
        kept = [(path, ms) for lat in (during, more) for t, ms, path in zip(lat["started_at"], lat["latencies_ms"],
                                                                             lat["paths"])
                if any(a <= t <= b for a, b in windows)]  # while a cold job ran, not between
        during = {"latencies_ms": [ms for _, ms in kept], "paths": [path for path, _ in kept],
                  "other": during["other"] + more["other"]}
        first = sorted(cold_runs, key=lambda r: r["seconds"])[len(cold_runs) // 2]
        load_avg = round(os.getloadavg()[0], 2)

        cold.ours, cold.anchor = first["seconds"], floor["seconds"]
        cold.ratio, cold.value = _ratio(cold.ours, cold.anchor), cold.ours
        cold.target = ("<=", round(floor["seconds"], 3))
        cold.detail = {"cold": first, "cold_runs_s": [r["seconds"] for r in cold_runs], "floor": floor,
                       "floor_runs_s": [round(r["seconds"], 3) for r in floor_runs],
                       "transactions": n, "uncategorized": actual_budget.targets_of(n), "server": version,
                       "budget_build_s": round(build_s, 1), "budget_cache": str(folder), "loadavg": load_avg}
        mid = sorted(warm_runs, key=lambda r: r["seconds"])[len(warm_runs) // 2]
        warm.ours = warm.value = mid["seconds"]
        warm.detail = {"median": mid, "runs_s": [r["seconds"] for r in warm_runs],
                       "worker_cpu_s": [r["worker_cpu_s"] for r in warm_runs], "loadavg": load_avg}
        rss.ours = rss.value = rss_first
        rss.detail = {"after_cold_mib": round(rss_cold, 1), "after_warm_mib": round(rss_first, 1),
                      f"after_{len(cold_runs)}_budgets_cold_mib": round(rss_all, 1)}
        i99, d99 = _p(idle["latencies_ms"], 99), _p(during["latencies_ms"], 99)
        poll.ours, poll.anchor, poll.value = d99, i99, d99
        poll.ratio = _ratio(d99, i99)
        poll.target = ("<=", round(2 * i99, 2))
        poll.detail = {"idle": {"n": len(idle["latencies_ms"]), "p50_ms": round(_p(idle["latencies_ms"], 50), 2),
                                "p99_ms": round(i99, 2), "errors": idle["other"]},
                       "during": {"n": len(during["latencies_ms"]), "p50_ms": round(_p(during["latencies_ms"], 50), 2),
                                  "p99_ms": round(d99, 2), "max_ms": round(max(during["latencies_ms"]), 1),
                                  "errors": during["other"]},
                       "p99_ms_by_url": {name: _p99_by_url(lat, targets) for name, lat in (("idle", idle),
                                                                                             ("during", during))},
                       "client": "python, sequential, one connection, 20 ms between requests"}
    finally:
        for p in started:
            p.stop()
        server.stop()
    return figs
