"""RQ 3, SimpleWorker on Redis (a status hash per job, kept 500 s, RQ's default).

Worker: `rq worker -w rq.worker.SimpleWorker -u $BENCH_REDIS_URL $BENCH_PEER_QUEUE`; `python -m
bench.peers.rq_app N` enqueues N no-op jobs and prints their ids.
"""
from __future__ import annotations

import sys

from redis import Redis
from rq import Queue

from bench.peers import QUEUE, REDIS_URL


def noop() -> None:
    """Does nothing."""


def queue(name: str = QUEUE) -> Queue:
    return Queue(name, connection=Redis.from_url(REDIS_URL))


def worker_command() -> str:
    return "rq worker -w rq.worker.SimpleWorker -u $BENCH_REDIS_URL --logging_level WARNING $BENCH_PEER_QUEUE"


if __name__ == "__main__":
    from bench.peers.rq_app import noop as task  # by its importable name, not __main__.noop

    q = queue()
    n = int(sys.argv[1])
    for start in range(0, n, 500):
        jobs = q.enqueue_many([Queue.prepare_data(task) for _ in range(min(500, n - start))])
        print("\n".join(j.id for j in jobs))
