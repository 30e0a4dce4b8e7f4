"""Celery 5, solo pool, Redis broker + Redis results (kept 24 h, Celery's default).

Worker: `celery -A bench.peers.celery_app worker --pool solo -Q $BENCH_PEER_QUEUE`; `python -m
bench.peers.celery_app N` enqueues N no-op tasks and prints their ids.
"""
from __future__ import annotations

import sys

from celery import Celery

from bench.peers import QUEUE, REDIS_URL



def make_app(queue: str) -> Celery:
    """The Celery app on `queue`, its broker and result keys prefixed with the queue's name."""
    celery = Celery("bench_peer", broker=REDIS_URL, backend=REDIS_URL)
    celery.conf.update(task_default_queue=queue, worker_hijack_root_logger=False,
                       broker_connection_retry_on_startup=True,
                       result_backend_transport_options={"global_keyprefix": f"{queue}:"},
                       broker_transport_options={"global_keyprefix": f"{queue}:"})
    return celery


app = make_app(QUEUE)


@app.task(name="noop")
def noop() -> None:
    """Does nothing; its result (None, status SUCCESS) is stored."""


def worker_command() -> str:
    return "celery -A bench.peers.celery_app worker --pool solo --concurrency 1 -Q $BENCH_PEER_QUEUE --loglevel WARNING " \
           "--without-gossip --without-mingle --without-heartbeat"


if __name__ == "__main__":
    ids = [noop.delay().id for _ in range(int(sys.argv[1]))]
    print("\n".join(ids))
