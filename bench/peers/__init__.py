"""The queues a user might pick instead, each draining no-op jobs with their durable status (`make bench`).

Each peer is a module with the app its worker runs, `python -m bench.peers.<peer> N` (enqueue N no-op
jobs) and `worker_command()`. They need the `.[bench]` extra and Redis / PostgreSQL on 127.0.0.1;
bench/figures.py skips them in one line when either is missing.
"""
from __future__ import annotations

import os

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")  # a db of the bench's own
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
QUEUE = os.environ.get("BENCH_PEER_QUEUE", "bench-peer")  # set per run by bench/figures.py
