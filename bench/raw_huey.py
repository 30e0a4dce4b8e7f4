"""The anchor: a plain Huey no-op task on the product's storage settings (core.queue.make_huey).

Worker: `huey_consumer bench.raw_huey.huey <the Procfile's worker flags>`; QUEUE_URL or DATA_DIR says where.
`python -m bench.raw_huey N` enqueues N no-op tasks.
"""
from __future__ import annotations

import sys

from core.config import Config
from core.queue import make_huey

huey = make_huey(Config.from_env().queue_url, "bench-raw")


@huey.task()
def noop() -> None:
    """Does nothing."""


if __name__ == "__main__":
    # Run as `python -m`, this module is __main__ and its task would be queued as `__main__.noop`, a name the
    # worker (which imports bench.raw_huey) does not know: enqueue the task under its importable name.
    from bench import raw_huey

    for _ in range(int(sys.argv[1])):
        raw_huey.noop()
