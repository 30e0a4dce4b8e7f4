"""The benchmark's shape: its JSON keys are the issue's, and one cheap figure runs end to end.

`make test` runs the whole `python -m bench --quick` once (it exits non-zero when a figure is missing);
these tests only keep the entry point and its output format from drifting.
"""
from __future__ import annotations

import json

from bench.__main__ import KEYS, main, table
from bench.figures import Figure

ISSUE_KEYS = {"idle_start_p95_ms", "idle_worker_cpu_pct", "throughput_ratio", "commits_per_job", "http_create_ratio",
              "poll_p99_ratio", "poll_304_p99_ratio", "suggest_10k_s", "purge_1m_s", "purge_added_p99_ms",
              "metrics_scrape_1m_ms",  # issue 14
              # issue 15: ours on SQLite and on PostgreSQL + Redis, and the peers, in the same interleaved rounds
              "throughput_sqlite_jobs_s", "throughput_scaleout_jobs_s", "peer_celery_jobs_s", "peer_rq_jobs_s",
              "peer_procrastinate_jobs_s",
              "suggest_100k_s", "suggest_100k_rss_mib",  # issue 17
              # issue 15, item 2: sync_and_suggest on the real Actual server, cold and warm
              "e2e_100k_cold_s", "e2e_100k_warm_s", "e2e_100k_rss_mib", "poll_p99_during_e2e_ms"}


def test_every_key_of_the_issue_is_a_figure():
    assert set(KEYS) == ISSUE_KEYS and len(KEYS) == len(ISSUE_KEYS)


def test_a_figure_passes_or_fails_on_its_value():
    low = Figure("x", "", "ms", ("<=", 50.0), value=40.0)
    high = Figure("y", "", "", (">=", 0.5), value=0.2, ours=1.0, anchor=5.0, ratio=0.2)
    none = Figure("z", "", "s", None, value=3.0)
    assert (low.passed, high.passed, none.passed) == (True, False, None)
    doc = high.as_json()
    assert {"ours", "anchor", "ratio", "target", "pass"} <= set(doc) and doc["target"] == ">= 0.5"
    assert "FAIL" in table([low, high, none]) and "pass" in table([low])


def test_commits_per_job_runs_and_writes_its_key(tmp_path):
    out = tmp_path / "bench.json"
    assert main(["--quick", "--only", "commits", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert list(doc) == ["commits_per_job"]
    assert doc["commits_per_job"]["ours"] > 0 and doc["commits_per_job"]["pass"] in (True, False)
