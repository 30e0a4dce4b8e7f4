"""procrastinate 3 on PostgreSQL (a job row each, kept: delete_jobs="never", its default).

Database: $BENCH_PG_DSN (bench/figures.py creates and drops one per run). Worker: `procrastinate
--app bench.peers.procrastinate_app.app worker`; `python -m bench.peers.procrastinate_app N` applies the
schema and defers N no-op jobs.
"""
from __future__ import annotations

import os
import sys

import procrastinate

from bench.peers import QUEUE

DSN = os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/ba_bench_peer")
app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=DSN))


@app.task(name="noop", queue=QUEUE)
def noop() -> None:
    """Does nothing."""


def worker_command() -> str:
    return "procrastinate --app bench.peers.procrastinate_app.app --log-level warning worker --concurrency 1 --queues $BENCH_PEER_QUEUE"


if __name__ == "__main__":
    with app.open():
        app.schema_manager.apply_schema()
        n = int(sys.argv[1])
        for start in range(0, n, 500):
            noop.batch_defer(*[{} for _ in range(min(500, n - start))])
